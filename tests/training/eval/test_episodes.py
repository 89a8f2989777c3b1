import math

import pytest

from swarm import SwarmModel, rollout
from swarm.metrics import model_frame
from swarm.policies.split import SplitPolicy
from training.eval.config import Price
from training.eval.episodes import ALL, ArmMeter, Timed, run_episode
from training.eval.report import closed_loop_metrics


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=0)


@pytest.mark.parametrize("policy, seed", [("heuristic", 7000), ("random", 3)])
def test_the_evaluation_and_the_datacollector_report_the_same_figures(policy, seed):
    model = SwarmModel(n_agents=20, policy=Timed(policy), agent_report_every=0, rng=seed)
    meter = ArmMeter()
    rollout(model, 150, [meter])
    t = meter.arms[ALL]
    last = model_frame(model).iloc[-1]
    assert (t.completed, t.failed) == (last["completed"], last["failed"])
    assert t.conflicts == last["conflicts"] and t.handoffs == last["handoffs"]
    loop = closed_loop_metrics(t, Price())
    for ours, theirs in (
        ("task_success", "completion_rate"),
        ("conflict_rate", "conflict_rate"),
        ("handoff_success", "handoff_success_rate"),
    ):
        assert _same(loop[ours]["value"], last[theirs]), ours
    assert t.decisions == 20 * 150 and t.agents == 20
    assert len(t.step_seconds) == 150


def test_split_arms_partition_the_decisions_and_the_events():
    model = SwarmModel(
        n_agents=12,
        policy=SplitPolicy(Timed("heuristic"), Timed("random"), split=0.5, seed=3),
        agent_report_every=0,
        rng=3,
    )
    meter = ArmMeter()
    rollout(model, 50, [meter])
    arms = meter.arms
    assert set(arms) == {"control", "test"}
    assert sum(t.agents for t in arms.values()) == 12
    assert sum(t.decisions for t in arms.values()) == 12 * 50
    assert arms["control"].compliance == 1.0
    c = model.counts
    assert sum(t.takes for t in arms.values()) == c.takes
    assert sum(t.conflicts for t in arms.values()) == c.conflicts
    assert sum(t.handoffs for t in arms.values()) == c.handoffs


def test_run_episode_is_the_meter_over_a_rollout():
    arms = run_episode("heuristic", 5, n_agents=8, steps=40)
    assert set(arms) == {ALL} and arms[ALL].decisions == 8 * 40


def test_wrappers_pass_group_decisions_to_the_policy_they_wrap():
    from swarm.interface.observation import ProposalView
    from swarm.policies import HeuristicPolicy
    from swarm.policies.base import proposal_of
    from swarm.policies.split import SplitPolicy
    from training.eval.episodes import Timed

    class Last(HeuristicPolicy):
        name = "last"

        def propose(self, view, options):
            return tuple(r[-1] for r in view.reading)

    view = ProposalView(3, 0, 1, "research", 0.5, "novice", 3, ((2, 0, 1), (1, 2, 0)))
    assert proposal_of(Timed(Last()), view) == (1, 0)
    split = SplitPolicy(HeuristicPolicy(), Last(), split=0.5, seed=0)
    arm = split.arm(view.agent_id)
    assert proposal_of(split, view) == ((1, 0) if arm == "test" else (2, 1))
