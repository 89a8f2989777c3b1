from hypothesis import given
from hypothesis import strategies as st

from swarm import SwarmModel
from swarm.policies.split import SplitPolicy, arm_of


@given(seed=st.integers(0, 10**6))
def test_the_split_is_stable_and_near_its_share(seed):
    arms = [arm_of(i, 0.2, seed) for i in range(2000)]
    assert arms == [arm_of(i, 0.2, seed) for i in range(2000)]
    assert 0.16 < arms.count("test") / 2000 < 0.24


def test_each_arm_decides_for_its_own_agents():
    policy = SplitPolicy("heuristic", "random", split=0.3, seed=5)
    model = SwarmModel(n_agents=40, policy=policy, rng=2)
    seen = {}

    def record(m, obs, decisions):
        for o, d in zip(obs, decisions, strict=True):
            seen.setdefault(o.agent_id, set()).add(d.info["arm"])
            assert d.action in o.candidates

    model.on_decisions.append(record)
    for _ in range(10):
        model.step()
    assert all(arms == {policy.arm(a)} for a, arms in seen.items())
    assert {"control", "test"} == set().union(*seen.values())
    # random in the test arm, the expert in control: the same decisions as the expert alone
    alone = SwarmModel(n_agents=40, policy="heuristic", rng=2)
    obs = alone.observe()
    mixed = policy.decide(obs)
    expert = alone.policy.decide(obs)
    for o, m, e in zip(obs, mixed, expert, strict=True):
        if policy.arm(o.agent_id) == "control":
            assert m.action == e.action
