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
