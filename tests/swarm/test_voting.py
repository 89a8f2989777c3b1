from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarm.world.voting import (
    MAX_ACCURACY,
    RULES,
    accuracy,
    borda,
    collective_decision,
    log_odds_weight,
    propose,
    rule_weights,
    weighted_vote,
)

votes = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 3), min_size=n, max_size=n),
        st.lists(st.floats(0.0, 10.0, allow_nan=False), min_size=n, max_size=n),
    )
)


@given(votes, st.integers(0, 2**32 - 1))
def test_weighted_vote_picks_a_choice_with_the_largest_total(vote, seed):
    choices, weights = vote
    totals = Counter()
    for c, w in zip(choices, weights, strict=True):
        totals[c] += w
    winner = weighted_vote(choices, weights, rng=seed)
    assert totals[winner] == pytest.approx(max(totals.values()))
    assert weighted_vote(choices, weights, rng=seed) == winner  # deterministic given the seed


def test_ties_are_broken_by_the_generator_and_only_by_it():
    picks = {weighted_vote(["a", "b"], [1.0, 1.0], rng=s) for s in range(40)}
    assert picks == {"a", "b"}
    assert weighted_vote(["a", "b"], [1.0, 1.0]) == "a"  # no generator: first in order


def test_plurality_is_one_vote_each():
    assert weighted_vote(["x", "y", "y", "x", "y"]) == "y"


def test_bad_votes_are_refused():
    with pytest.raises(ValueError, match="at least one voter"):
        weighted_vote([], [])
    with pytest.raises(ValueError, match="2 choices but 1 weights"):
        weighted_vote(["a", "b"], [1.0])
    with pytest.raises(ValueError, match="same options"):
        borda([["a", "b"], ["a", "c"]])


def test_borda_can_differ_from_plurality():
    # 3 voters rank a first, 2 rank b first, but everyone else puts b second: Borda picks b.
    rankings = [["a", "b", "c"]] * 3 + [["b", "c", "a"]] * 2 + [["c", "b", "a"]] * 2
    assert weighted_vote([r[0] for r in rankings]) == "a"
    assert borda(rankings) == "b"


def test_log_odds_weights():
    assert log_odds_weight(0.5) == pytest.approx(0.0)
    assert log_odds_weight(0.8) == pytest.approx(np.log(4.0))
    assert log_odds_weight(1 / 3, options=3) == pytest.approx(0.0)  # chance with 3 options
    ps = np.linspace(0.34, 0.98, 20)
    assert np.all(np.diff(log_odds_weight(ps, 3)) > 0)


def test_accuracy_runs_from_chance_to_the_cap():
    assert accuracy(0.0, 3) == pytest.approx(1 / 3)
    assert accuracy(1.0, 3) == pytest.approx(MAX_ACCURACY)
    assert accuracy(2.0, 3) == pytest.approx(MAX_ACCURACY)


def test_unknown_rule_is_named():
    with pytest.raises(ValueError, match="'median'"):
        rule_weights("median", [0.5], 3)


@given(st.integers(2, 5), st.floats(0.0, 1.0), st.integers(0, 1000))
def test_proposals_are_rankings(options, p, seed):
    rng = np.random.default_rng(seed)
    best = rng.integers(0, options, 6)
    r = propose(best, p, options, rng)
    assert r.shape == (6, options)
    assert all(sorted(row) == list(range(options)) for row in r)


def test_top_choice_is_right_with_the_stated_accuracy():
    rng = np.random.default_rng(0)
    best = np.zeros(20_000, dtype=np.int64)
    r = propose(best, 0.7, 3, rng)
    assert np.mean(r[:, 0] == 0) == pytest.approx(0.7, abs=0.015)


def _group_accuracy(rule, skills, trials=3000, seed=1):
    rng = np.random.default_rng(seed)
    best = np.zeros(5, dtype=np.int64)
    return np.mean(
        [collective_decision(best, skills, skills, rule, 3, rng).quality for _ in range(trials)]
    )


def test_a_vote_of_independent_voters_beats_its_members():  # Condorcet's jury theorem
    skills = [0.5] * 7
    member = accuracy(0.5, 3)
    assert _group_accuracy("plurality", skills) > member + 0.1


def test_log_odds_weights_beat_plurality_with_one_expert_among_novices():
    skills = [1.0, 0.1, 0.1, 0.1, 0.1]
    assert _group_accuracy("log_odds", skills) > _group_accuracy("plurality", skills) + 0.1


@pytest.mark.parametrize("rule", RULES)
def test_decision_records_are_consistent(rule):
    rng = np.random.default_rng(5)
    best = np.array([0, 1, 2, 0, 1])
    for _ in range(50):
        d = collective_decision(best, [0.4, 0.6, 0.8], [0.3, 0.5, 0.9], rule, 3, rng)
        assert d.quality == pytest.approx(np.mean(d.winner == best))
        assert d.recombined == (not any((p == d.winner).all() for p in d.proposals))
        assert d.novel == (d.synergy_best > 0)
        assert d.synergy_best <= d.synergy_mean + 1e-12
        if rule == "dictator":
            assert not d.novel and not d.recombined


def test_component_votes_can_synthesise_a_novel_approach():
    rng = np.random.default_rng(0)
    best = np.zeros(5, dtype=np.int64)
    decisions = [
        collective_decision(best, [0.5] * 3, [0.5] * 3, "plurality", 3, rng) for _ in range(300)
    ]
    recombined = np.mean([d.recombined for d in decisions])
    novel = np.mean([d.novel for d in decisions])
    assert 0.05 < novel < recombined < 0.95


def test_a_recombination_worse_than_the_best_member_is_not_novel():
    from swarm.world.voting import GroupDecision

    d = GroupDecision(
        rule="plurality",
        proposals=np.array([[0, 0, 0], [1, 1, 0], [1, 0, 1]]),
        weights=np.ones(3),
        winner=np.array([1, 0, 0]),
        quality=2 / 3,
        member_qualities=np.array([1.0, 1 / 3, 1 / 3]),
    )
    assert d.recombined and not d.novel and d.synergy_best < 0
