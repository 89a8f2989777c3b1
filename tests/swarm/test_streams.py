"""Common random numbers: the same seed gives the same world under every condition that
does not change the world (swarm.streams)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import SwarmModel, rollout
from swarm.metrics import TABLES
from swarm.policies import PrivateMemoryPolicy, RandomPolicy, bind
from swarm.streams import STREAMS, Streams
from swarm.world.tasks import TaskBoard, TaskMix


def arrivals(steps=120, seed=3, bound=None, **kw) -> pd.DataFrame:
    model = SwarmModel(n_agents=12, width=20, height=20, rng=seed, agent_report_every=0, **kw)
    if bound is not None:
        bind(bound, model)
    rollout(model, steps)
    return model.datacollector.get_table_dataframe("arrivals")


CONDITIONS = {
    "random": {"policy": "random"},
    "no-traces policy": {"policy": "no-traces"},
    "private-memory": {"policy": "private-memory", "stigmergy": False},
    "no-traces": {"stigmergy": False},
    "no-learning": {"learn": False},
    "uncoordinated": {"stigmergy": False, "deference": False, "handoffs": False},
    **{
        f"voting={rule}": {"voting": rule}
        for rule in ("plurality", "log_odds", "borda", "dictator")
    },
}


@pytest.fixture(scope="module")
def heuristic():
    return arrivals()


def test_the_arrivals_table_has_its_columns(heuristic):
    assert list(heuristic.columns) == TABLES["arrivals"]
    assert len(heuristic) > 30  # 12 agents × 0.04 × 120 steps ≈ 58 expected
    assert heuristic["task_id"].tolist() == list(range(len(heuristic)))  # none lost
    assert (heuristic["deadline"] > heuristic["step"]).all()


@pytest.mark.parametrize("name", CONDITIONS)
def test_every_condition_sees_the_same_task_stream(heuristic, name):
    pd.testing.assert_frame_equal(arrivals(**CONDITIONS[name]), heuristic)


def test_an_extra_bound_policy_changes_nothing(heuristic):
    plain = SwarmModel(n_agents=12, width=20, height=20, rng=3, agent_report_every=0)
    extra = SwarmModel(n_agents=12, width=20, height=20, rng=3, agent_report_every=0)
    bind(RandomPolicy(), extra)
    rollout(plain, 120)
    rollout(extra, 120)
    assert plain.counts == extra.counts
    pd.testing.assert_frame_equal(
        plain.datacollector.get_table_dataframe("arrivals"),
        extra.datacollector.get_table_dataframe("arrivals"),
    )
    assert plain.datacollector.get_table_dataframe("arrivals").equals(heuristic)


def test_a_different_seed_gives_a_different_stream(heuristic):
    assert not arrivals(seed=4).equals(heuristic)


def test_seed_and_rng_give_the_same_streams():
    a = SwarmModel(n_agents=5, rng=11)
    b = SwarmModel(n_agents=5, seed=11)
    assert a.stream_seed == b.stream_seed == 11
    assert np.array_equal(a.board.hotspots, b.board.hotspots)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), key=st.integers(0, 1000))
def test_keyed_draws_do_not_depend_on_what_was_drawn_before(seed, key):
    a, b = Streams(seed), Streams(seed)
    b.keyed("work", key + 1).random(5)  # another task's draws
    b.world.random(3)
    assert a.keyed("work", key).random() == b.keyed("work", key).random()
    assert a.keyed("work", key).random() != a.keyed("votes", key).random()


def test_policy_streams_are_children_in_bind_order():
    a, b = Streams(1), Streams(1)
    first = a.policy().random()
    assert b.policy().random() == first
    assert b.policy().random() != first
    assert len(STREAMS) == len(set(STREAMS))


def test_work_quality_is_the_tasks_own():
    m = SwarmModel(n_agents=3, rng=0)
    q = m.draw_quality(0.7, task_id=5, stage=1)
    assert m.draw_quality(0.7, 5, 1) == q != m.draw_quality(0.7, 5, 0)


def test_a_task_on_an_occupied_cell_waits_under_it():
    board = TaskBoard(
        1, 1, ("a", "b", "c"), TaskMix(rate=3.0, hotspots=1), np.random.default_rng(0)
    )
    born = []
    while len(born) < 3:
        born += board.arrive(0)
    first, *rest = born
    assert board.task_at[0, 0] == first.id and board.waiting() == len(born) - 1
    board.remove(rest[-1])  # a waiting task expires unseen
    assert board.task_at[0, 0] == first.id and board.waiting() == len(born) - 2
    board.remove(first)
    assert board.task_at[0, 0] == rest[0].id and board.shown[0, 0] == 1
    for t in list(board.tasks.values()):
        board.remove(t)
    assert board.task_at[0, 0] == -1 and board.shown[0, 0] == 0


def test_the_shown_bytes_follow_the_task_index():
    model = SwarmModel(n_agents=30, width=12, height=12, rng=5)
    for _ in range(120):
        model.step()
        board = model.board
        assert np.array_equal(board.shown == 1, board.task_at >= 0)


def test_private_memory_goes_back_to_where_it_saw_work():
    policy = PrivateMemoryPolicy()
    model = SwarmModel(n_agents=10, policy=policy, stigmergy=False, rng=2)
    rollout(model, 150)
    assert any(policy.memory.values())
    assert all(len(p) <= policy.capacity for p in policy.memory.values())
    assert model.counts.completed > 0
