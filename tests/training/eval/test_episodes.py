from swarm.model import SwarmModel
from swarm.policies.split import SplitPolicy
from training.eval.episodes import ALL, Meter, Timed, run_episode


def test_meter_without_split_agrees_with_the_model():
    model = SwarmModel(n_agents=12, policy=Timed("heuristic"), agent_report_every=0, rng=7)
    meter = Meter(model)
    for _ in range(80):
        model.step()
        meter.after_step()
    t = meter.arms[ALL]
    assert (t.done, t.failed) == (model.completed, model.failed)
    assert t.decisions == 12 * 80 and t.agents == 12
    assert t.conflicts == model.conflicts
    assert len(t.step_seconds) == 80


def test_split_arms_partition_the_decisions():
    arms = run_episode(
        SplitPolicy(Timed("heuristic"), Timed("random"), split=0.5, seed=3),
        3,
        n_agents=12,
        steps=50,
    )
    assert set(arms) == {"control", "test"}
    assert sum(t.agents for t in arms.values()) == 12
    assert sum(t.decisions for t in arms.values()) == 12 * 50
    assert arms["control"].compliance == 1.0
