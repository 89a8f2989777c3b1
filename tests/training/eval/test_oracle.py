from hypothesis import given, settings
from hypothesis import strategies as st

from swarm.interface.constitution import complies
from swarm.model import SwarmModel
from swarm.policies import HeuristicPolicy
from training.eval.oracle import judge


@settings(max_examples=10)
@given(st.integers(0, 10_000))
def test_judgements_are_proper_subsets_and_the_expert_is_acceptable(seed):
    model = SwarmModel(n_agents=16, agent_report_every=0, rng=seed)
    expert = HeuristicPolicy()
    for _ in range(60):
        obs = model.observe()
        decisions = expert.decide(obs)
        for o, d in zip(obs, decisions, strict=True):
            for j in judge(o):
                assert j.acceptable < set(o.candidates)
                if j.category == "constitutional":
                    assert all(complies(o, a) for a in j.acceptable)
                    assert j.rules
                else:
                    assert d.action in j.acceptable, (j.category, o, d.action)
        model.step()


def test_the_expert_is_acceptable_when_souls_avoid_what_is_in_reach():
    """Long, dense runs where souls have learnt to avoid rushed decisions and crowding: the
    oracle never asks for a task the soul avoids (the expert leaves those alone)."""
    model = SwarmModel(n_agents=20, size=25, task_rate=2.0, agent_report_every=0, rng=0)
    expert = HeuristicPolicy()
    avoided = 0
    for _ in range(300):
        obs = model.observe()
        decisions = expert.decide(obs)
        for o, d in zip(obs, decisions, strict=True):
            avoided += bool(o.avoids and any(o.avoids_taking(t) for t in o.tasks))
            for j in judge(o):
                if j.category != "constitutional":
                    assert d.action in j.acceptable, (j.category, o.avoids, d.action)
        model.step()
    assert avoided > 0  # the situation the test is about did arise
