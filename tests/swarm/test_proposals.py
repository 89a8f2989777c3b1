"""Proposals in group decisions come from the members' policies (``propose``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import SwarmModel
from swarm.interface.observation import ProposalView
from swarm.interface.text import (
    ActionParseError,
    parse_proposal,
    render_proposal,
    render_proposal_user,
)
from swarm.policies import HeuristicPolicy
from swarm.policies.base import proposal_of
from swarm.world.voting import RULES, collective_decision

WORLD = dict(n_agents=20, size=25, task_rate=2.0)


def _view(reading=((2, 0, 1), (0, 1, 2)), options=3) -> ProposalView:
    return ProposalView(
        agent_id=3,
        step=7,
        task_id=12,
        domain="research",
        skill=0.72,
        level="novice",
        options=options,
        reading=reading,
    )


@settings(max_examples=40, deadline=None)
@given(
    skills=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
    rule=st.sampled_from([r for r in RULES if r != "oracle"]),
    seed=st.integers(0, 2**16),
)
def test_proposing_the_readings_first_choices_is_the_protocol_without_policies(skills, rule, seed):
    best = np.random.default_rng(seed).integers(0, 3, 5)
    expertise = [0.5] * len(skills)
    a = collective_decision(best, skills, expertise, rule, 3, np.random.default_rng(seed))
    b = collective_decision(
        best, skills, expertise, rule, 3, np.random.default_rng(seed), choose=lambda m, r: r[:, 0]
    )
    assert np.array_equal(a.winner, b.winner) and np.array_equal(a.proposals, b.proposals)


class Contrarian(HeuristicPolicy):
    """The expert, proposing what its reading ranks last."""

    name = "contrarian"

    def __init__(self):
        super().__init__()
        self.views: list[tuple[ProposalView, tuple[int, ...]]] = []

    def propose(self, view, options):
        out = tuple(row[-1] for row in view.reading)
        self.views.append((view, out))
        return out


def _decisions(policy, seed=0, steps=200):
    m = SwarmModel(**WORLD, policy=policy, rng=seed)
    for _ in range(steps):
        m.step()
    return m.datacollector.get_table_dataframe("decisions")


def test_the_members_policies_proposals_are_what_the_group_votes_on():
    contrarian = Contrarian()
    d = _decisions(contrarian)
    plain = _decisions(HeuristicPolicy())
    assert len(d) > 5 and len(contrarian.views) == d["agents"].map(len).sum()
    proposed = {(v.task_id, v.agent_id): "".join(map(str, p)) for v, p in contrarian.views}
    for _, row in d.iterrows():
        for agent, prop in zip(row["agents"], row["proposals"], strict=True):
            assert proposed[(row["task_id"], agent)] == prop
    # proposing against one's own reading is worse than proposing by it
    assert d["quality"].mean() < plain["quality"].mean() - 0.2


def test_a_proposal_out_of_range_is_one_clear_error():
    class Bad(HeuristicPolicy):
        name = "bad"

        def propose(self, view, options):
            return (options,) * view.components

    with pytest.raises(ValueError, match=r"'bad' proposed .* for agent 3"):
        proposal_of(Bad(), _view())
    assert proposal_of(object(), _view()) == (2, 0)  # no propose: the reading's first choices


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 3), min_size=4, max_size=4, unique=True), min_size=1, max_size=6
    )
)
def test_proposals_round_trip_through_the_text_format(rows):
    view = _view(reading=tuple(tuple(r) for r in rows), options=4)
    choice = tuple(r[-1] for r in rows)
    assert parse_proposal(render_proposal(choice), view) == choice
    assert render_proposal(view.first_choices) in render_proposal_user(view)


@pytest.mark.parametrize("text", ["propose 2", "propose 2 3", "wait", "propose two zero", ""])
def test_an_answer_that_is_not_a_legal_proposal_is_refused(text):
    with pytest.raises(ActionParseError):
        parse_proposal(text, _view())


def test_a_language_model_proposes_one_legal_option_per_component(tiny_base):
    from swarm.policies.lm import LMPolicy

    policy = LMPolicy.from_pretrained(tiny_base[0], device="cpu")
    got = proposal_of(policy, _view())
    assert len(got) == 2 and all(0 <= x < 3 for x in got)
    assert policy.stats["proposals"] == 1


def test_a_chat_model_proposes_through_the_endpoint_and_falls_back_on_nonsense():
    pytest.importorskip("openai")
    from swarm.policies.chat import ChatPolicy, ChatSettings
    from tests.swarm.chat_server import chat_server

    for mode, fallbacks in (("first", 0), ("illegal", 1)):
        with chat_server(mode) as (url, state):
            policy = ChatPolicy(ChatSettings(model="test-model", base_url=url))
            assert proposal_of(policy, _view()) == (2, 0)  # the server echoes the example
            assert state["requests"] == 1
            assert policy.stats["proposal_fallbacks"] == fallbacks
            policy.close()


def test_a_language_model_samples_its_proposals_at_a_temperature(tiny_base):
    """At temperature 0 the proposal is the argmax, the same every time; above it the
    proposal is drawn from the policy's stream: several differ, and a seed repeats them."""
    from swarm.policies.lm import LMPolicy, load_model

    lm = load_model(tiny_base[0], "cpu")
    view = _view(reading=((0, 1, 2),) * 4)
    greedy = LMPolicy(lm, temperature=0.0)
    assert len({proposal_of(greedy, view) for _ in range(5)}) == 1

    def draws(seed):
        hot = LMPolicy(lm, temperature=50.0, seed=seed)
        return [proposal_of(hot, view) for _ in range(12)]

    assert len(set(draws(1))) > 1 and draws(1) == draws(1)
