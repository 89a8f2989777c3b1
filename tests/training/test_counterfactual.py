"""Counterfactual outcome labels: branches replay the world, differ only by the action."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import SwarmModel, rollout
from swarm.interface.text import render_action, render_user
from swarm.metrics import model_frame
from swarm.policies import HeuristicPolicy
from swarm.world import actions as A
from training.counterfactual import (
    Forced,
    TeamReward,
    branch,
    label_departures,
    label_run,
    play,
    preference_pairs,
    write_jsonl,
)


def _model(seed=2):
    m = SwarmModel(n_agents=20, width=14, height=14, rng=seed)
    rollout(m, 25)
    return m


def test_a_branch_replays_the_world_and_leaves_the_model_alone():
    m = _model()
    twin = branch(m, HeuristicPolicy())
    rollout(twin, 15)
    rollout(m, 15)
    assert model_frame(twin).equals(model_frame(m))
    assert twin.swarm[0].model is twin and m.swarm[0].model is m


def test_the_policy_s_own_action_scores_what_the_run_got():
    """Common random numbers: playing the expert's own choice with the expert continuing
    is the run itself, so its reward is the run's over the same steps."""
    m = _model()
    reward = TeamReward()
    obs = m.observe()
    decisions = m.policy.decide(obs)
    i = next(j for j in range(len(obs)) if not obs.simple[j])
    got = play(m, i, decisions[i].action, 10, HeuristicPolicy(), reward)
    want = 0.0
    for _ in range(10):
        m.step()
        want += reward.of_step(m.last_record)
    assert got == pytest.approx(want)


def test_forcing_a_plain_agent_moves_it_as_told():
    m = _model()
    obs = m.observe()
    codes = m.policy.decide(obs).codes
    i = next(j for j in range(len(obs)) if obs.simple[j])
    other = A.MOVES[(int(codes[i]) + 4) % 8]  # not its own move (or explore, code 8)
    twin = branch(m, HeuristicPolicy())
    twin.policy = Forced(HeuristicPolicy(), i, other)
    x, y = int(twin.ax[i]), int(twin.ay[i])
    twin.step()
    dx, dy = A.DIRECTIONS[other.direction]
    assert (int(twin.ax[i]), int(twin.ay[i])) == ((x + dx) % twin.width, (y + dy) % twin.height)


def test_labels_pairs_and_their_files(tmp_path):
    labels = list(label_run(3, "heuristic", steps=31, horizon=8, every=10, per_step=2))
    assert len(labels) >= 3
    for lab in labels:
        assert len(lab.candidates) == len(lab.rewards) > 1
        assert lab.policy_action in lab.candidates
        assert sum(lab.advantages) == pytest.approx(0.0, abs=1e-9)
        assert lab.provenance["horizon"] == 8 and lab.provenance["continuation"] == "heuristic"
    assert any(np.ptp(lab.rewards) > 0 for lab in labels), "no decision mattered"
    pairs = preference_pairs(labels, margin=0.1)
    for p in pairs:
        assert p["margin"] >= 0.1 and p["chosen"] != p["rejected"]
    path = write_jsonl(tmp_path / "labels.jsonl", [lab.to_json() for lab in labels])
    back = [json.loads(line) for line in path.read_text().splitlines()]
    assert [b["rewards"] for b in back] == [lab.rewards for lab in labels]


def test_labelling_does_not_change_the_run():
    """The labelled run is the plain run of the same seed (branches are copies)."""
    list(label_run(4, "heuristic", steps=21, horizon=5, every=10, per_step=1))
    plain = SwarmModel(n_agents=20, rng=4)
    rollout(plain, 21)
    again = SwarmModel(n_agents=20, rng=4)
    gen = label_run(4, "heuristic", steps=21, horizon=5, every=10, per_step=1)
    assert len(list(gen)) >= 1
    rollout(again, 21)
    assert model_frame(again).equals(model_frame(plain))


def test_other_worlds_share_one_future_across_actions():
    """World w > 0 reseeds every stream after the branch step: another future, the same
    for every candidate (so a paired difference across worlds is fair)."""
    from training.counterfactual import label_decision, reseed

    m = _model()
    a, b = branch(m, HeuristicPolicy()), branch(m, HeuristicPolicy())
    reseed(a, 1)
    reseed(b, 1)
    rollout(a, 10)
    rollout(b, 10)
    assert model_frame(a).equals(model_frame(b))
    c = branch(m, HeuristicPolicy())
    rollout(c, 10)  # the run's own future
    first = [r for r in c.datacollector.tables["arrivals"]["task_id"]]
    other = [r for r in a.datacollector.tables["arrivals"]["task_id"]]
    ax = a.datacollector.tables["arrivals"]["x"]
    cx = c.datacollector.tables["arrivals"]["x"]
    assert len(first) != len(other) or ax != cx  # another world's arrivals
    obs = m.observe()
    decisions = m.policy.decide(obs)
    i = next(j for j in range(len(obs)) if not obs.simple[j])
    lab = label_decision(
        m,
        obs[i],
        decisions[i].action,
        seed=2,
        horizon=6,
        continuation=HeuristicPolicy(),
        reward=TeamReward(),
        worlds=3,
    )
    assert len(lab.per_world) == 3 and all(len(w) == len(lab.candidates) for w in lab.per_world)
    gap, se = lab.gap()
    assert gap >= 0 and se >= 0


def test_a_branch_needs_the_array_engine():
    m = SwarmModel(n_agents=6, width=8, height=8, rng=0, act="agents")
    with pytest.raises(ValueError, match="array engine"):
        branch(m, HeuristicPolicy())


def test_one_policy_object_as_run_and_continuation_leaves_the_run_alone():
    from swarm.policies import RandomPolicy

    plain = SwarmModel(n_agents=20, policy=RandomPolicy(), rng=5)
    rollout(plain, 21)
    assert model_frame(plain).equals(_labelled_run_frame(RandomPolicy()))


def _labelled_run_frame(policy):
    """The frame of a run labelled with ``policy`` as its continuation too."""
    import training.counterfactual as cf

    frames = []
    real = cf.SwarmModel

    class Keep(real):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            frames.append(self)

    cf.SwarmModel = Keep
    try:
        list(label_run(5, policy, steps=21, horizon=4, every=10, per_step=1, continuation=policy))
    finally:
        cf.SwarmModel = real
    return model_frame(frames[0])


@pytest.mark.parametrize(
    "bad", [{"horizon": 0}, {"every": 0}, {"worlds": 0}, {"per_step": -1}, {"steps": 2.5}]
)
def test_bad_counts_are_one_clear_error_before_anything_runs(bad):
    kw = dict(steps=10, horizon=3, every=5, per_step=1) | bad
    name = next(iter(bad))
    with pytest.raises(ValueError, match=f"^{name} must be an integer"):
        label_run(0, "heuristic", **kw)
    with pytest.raises(ValueError, match="margin must be > 0"):
        preference_pairs([], margin=0)


@settings(max_examples=60, deadline=None)
@given(
    rewards=st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=6),
    mine=st.integers(0, 5),
    margin=st.floats(0.05, 2),
)
def test_on_policy_pairs_hold_the_policy_s_own_action(rewards, mine, margin):
    from training.counterfactual import Label

    mine %= len(rewards)
    cands = [f"move {d}" for d in ("north", "south", "east", "west", "northeast", "northwest")]
    lab = Label(0, 5, 1, "p", cands[: len(rewards)], [rewards], cands[mine])
    pairs = preference_pairs([lab], margin=margin, against="policy")
    best = int(np.argmax(rewards))
    for p in pairs:
        assert lab.policy_action in (p["chosen"], p["rejected"])
        assert p["chosen"] == cands[best] and p["margin"] >= margin
    if best != mine:  # a correction, when the policy's action is clearly worse
        assert len(pairs) == (rewards[best] - rewards[mine] >= margin)
    else:  # confirmations: its action against every clearly worse one
        assert len(pairs) == sum(rewards[best] - r >= margin for r in rewards)
    every = preference_pairs([lab], margin=margin)
    assert all(p in every for p in pairs)
    with pytest.raises(ValueError, match="against"):
        preference_pairs([lab], against="mine")


def test_departures_are_labelled_on_both_answers_with_as_many_anchors():
    """The expert asked beside a student that ignores traces: every departure is labelled
    on the two answers, each followed by an agreeing decision on the student's action and
    another, and labelling leaves the run as it was."""
    labels = list(
        label_departures(
            5, "no-traces", expert="heuristic", steps=21, horizon=4, every=4, n_agents=20
        )
    )
    kinds = [lab.provenance["kind"] for lab in labels]
    assert kinds.count("departure") >= 2
    assert kinds.count("anchor") == kinds.count("departure")  # enough agreeing decisions here
    for lab in labels:
        assert len(lab.candidates) == len(lab.per_world[0]) == 2
        assert lab.policy_action == lab.candidates[0] and lab.expert_action in lab.candidates
        assert lab.provenance["expert"] == "heuristic"
        if lab.provenance["kind"] == "departure":
            # the no-traces expert explores where the expert follows a trace
            assert lab.policy_action == "explore" and lab.expert_action.startswith("move ")
        else:
            assert lab.expert_action == lab.policy_action != lab.candidates[1]
    # the labelled run is the plain run: each label's prompt and the student's answer are
    # what the student saw and did at that step of a run nobody labelled
    plain = SwarmModel(n_agents=20, policy="no-traces", rng=5)
    seen = {}

    def record(m, obs, decisions):
        for o, d in zip(obs, decisions, strict=True):
            seen[o.step, o.agent_id] = (render_user(o), render_action(d.action))

    plain.on_decisions.append(record)
    rollout(plain, 21)
    for lab in labels:
        prompt, action = seen[lab.step, lab.agent_id]
        assert lab.policy_action == action and prompt == lab.prompt
    for bad in (-1, float("inf"), float("nan"), True):
        with pytest.raises(ValueError, match="^anchors must be"):
            label_departures(5, "no-traces", steps=3, horizon=2, anchors=bad)
    with pytest.raises(ValueError, match="^worlds must be"):
        label_departures(5, "no-traces", steps=3, horizon=2, worlds=0)


def test_the_expert_is_asked_in_the_state_the_student_decided_in():
    """An expert that reads the model itself (the naive heuristic, cell by cell) is asked
    before the step's actions change the world: beside the heuristic it never departs."""
    labels = label_departures(3, "heuristic", expert="heuristic-naive", steps=21, horizon=2)
    assert list(labels) == []


@settings(max_examples=60, deadline=None)
@given(
    rewards=st.lists(st.floats(-3, 3, allow_nan=False), min_size=2, max_size=4),
    expert=st.integers(0, 3),
    margin=st.floats(0.05, 2),
)
def test_expert_pairs_keep_the_expert_unless_the_outcome_clearly_beats_it(rewards, expert, margin):
    from training.counterfactual import Label

    expert %= len(rewards)
    cands = ["explore", "move north", "move south", "claim task 1"][: len(rewards)]
    lab = Label(0, 5, 1, "p", cands, [rewards], cands[0], expert_action=cands[expert])
    pairs = preference_pairs([lab], margin=margin, against="expert")
    assert len(pairs) == len(cands) - 1  # the expert's answer against each other one
    for p in pairs:
        other = p["chosen"] if p["overturned"] else p["rejected"]
        gap = rewards[cands.index(other)] - rewards[expert]
        assert p["overturned"] == (gap >= margin)
        assert (p["rejected"] if p["overturned"] else p["chosen"]) == cands[expert]
    assert (
        preference_pairs([Label(0, 5, 1, "p", cands, [rewards], cands[0])], against="expert") == []
    )
