"""The array engine against the per-agent reference (act="agents"), and Mesa's view of
the arrays (swarm.space)."""

import mesa
import numpy as np
import pandas as pd
import pytest

from swarm import SwarmModel, rollout
from swarm.metrics import agents_frame, model_frame, table_frame


def _run(act, steps, **kw):
    m = SwarmModel(act=act, **kw)
    decisions = []
    m.on_decisions.append(lambda model, obs, ds: decisions.append([d.action for d in ds]))
    for _ in range(steps):
        m.step()
    return m, decisions


@pytest.mark.parametrize("torus", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_array_engine_matches_the_per_agent_reference(torus, seed):
    kw = dict(n_agents=40, width=16, height=16, torus=torus, rng=seed, policy="heuristic")
    fast, fd = _run("arrays", 70, **kw)
    ref, rd = _run("agents", 70, **kw)
    assert fd == rd
    pd.testing.assert_frame_equal(model_frame(fast), model_frame(ref))
    pd.testing.assert_frame_equal(agents_frame(fast), agents_frame(ref))
    for table in ("arrivals", "work", "decisions"):
        pd.testing.assert_frame_equal(table_frame(fast, table), table_frame(ref, table))
    assert fast.counts.completed > 0 and fast.counts.takes > 0  # the runs did something
    np.testing.assert_array_equal(fast.ax, ref.ax)
    # Mesa's view of the array engine is the reference's: same agents in every cell
    for cell in fast.grid.all_cells:
        ids = sorted(a.unique_id for a in cell.agents)
        assert ids == sorted(a.unique_id for a in ref.grid[cell.coordinate].agents)
    empty = fast.grid._mesa_property_layers["empty"].data
    np.testing.assert_array_equal(empty, ref.grid._mesa_property_layers["empty"].data)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_takes_resolved_at_once_match_the_reference(seed):
    """Without the convention of who goes first, many takes conflict: the batch
    resolution (first takers in the order win, mechanics.resolve_takes) is the reference's
    one-by-one handling."""
    kw = dict(n_agents=50, width=12, height=12, rng=seed, deference=False)
    fast, fd = _run("arrays", 80, **kw)
    ref, rd = _run("agents", 80, **kw)
    assert fast.counts.conflicts > 10 and fd == rd
    pd.testing.assert_frame_equal(model_frame(fast), model_frame(ref))
    pd.testing.assert_frame_equal(agents_frame(fast), agents_frame(ref))
    for table in ("work", "decisions"):
        pd.testing.assert_frame_equal(table_frame(fast, table), table_frame(ref, table))
    assert [a.soul.meta_learning.avoid_patterns for a in fast.swarm] == [
        a.soul.meta_learning.avoid_patterns for a in ref.swarm
    ]


def test_resolve_takes_gives_each_task_its_places_in_order():
    from swarm.mechanics import resolve_takes
    from swarm.world import actions as A
    from swarm.world.tasks import TaskType

    m = SwarmModel(n_agents=8, width=10, height=10, rng=0)
    kinds: set = set()
    while kinds != {False, True}:
        kinds = {t.task_type is TaskType.SYNTHESIS for t in m.board.arrive(0)} | kinds
    tasks = list(m.board.tasks.values())
    single = next(t for t in tasks if not t.task_type.group)
    group = next(t for t in tasks if t.task_type is TaskType.SYNTHESIS)
    takes = [(3, A.claim(single.id)), (1, A.claim(single.id)), (5, A.claim(999_999))]
    assert resolve_takes(m, takes).tolist() == [True, False, False]
    k = len(group.open_slots)
    joins = [(i, A.join(group.id)) for i in range(k + 2)]
    mixed = [*joins[:1], (7, A.claim(single.id)), *joins[1:]]
    assert resolve_takes(m, mixed).tolist() == [True, True] + [True] * (k - 1) + [False] * 2
    single.holder = 99  # held: nobody else takes it
    assert resolve_takes(m, takes[:1]).tolist() == [False]


def test_a_handoff_receiver_with_nothing_in_view_keeps_still():
    """Agents handed a task before their turn do not also move (the codes path)."""
    kw = dict(n_agents=60, width=14, height=14, rng=5, policy="heuristic")
    fast, fd = _run("arrays", 120, **kw)
    ref, rd = _run("agents", 120, **kw)
    assert fast.counts.handoffs_taken > 0
    assert fd == rd
    np.testing.assert_array_equal(fast.ax, ref.ax)
    np.testing.assert_array_equal(fast.ay, ref.ay)


def test_mesa_cell_agent_semantics_hold_over_the_arrays():
    m = SwarmModel(n_agents=12, width=8, height=8, rng=3)
    for _ in range(5):
        m.step()
    a = m.swarm[0]
    assert a.cell.coordinate == (a.x, a.y)
    assert a in a.cell.agents
    target = m.grid[((a.x + 3) % 8, (a.y + 2) % 8)]
    a.cell = target  # Mesa's way of moving an agent moves the arrays too
    assert (m.ax[0], m.ay[0]) == target.coordinate and a in target.agents
    a.move_relative((1, 0))
    assert (m.ax[0], m.ay[0]) == ((target.coordinate[0] + 1) % 8, target.coordinate[1])
    m.step()
    occupied = {c.coordinate for c in m.grid.all_cells if not c.is_empty}
    assert occupied == set(zip(m.ax.tolist(), m.ay.tolist(), strict=True))
    assert all(isinstance(x, mesa.discrete_space.CellAgent) for x in m.swarm)
    assert sum(len(c.agents) for c in m.grid.all_cells) == 12


@pytest.mark.parametrize("torus", [True, False])
def test_space_grid_connects_cells_as_mesa_does(torus):
    from random import Random

    from mesa.discrete_space import OrthogonalMooreGrid

    from swarm.space import SpaceGrid

    ours = SpaceGrid((7, 5), torus=torus, random=Random(0))
    mesa_grid = OrthogonalMooreGrid((7, 5), torus=torus, random=Random(0))
    for coord, cell in mesa_grid._cells.items():
        theirs = {k: c.coordinate for k, c in cell.connections.items()}
        mine = {k: c.coordinate for k, c in ours._cells[coord].connections.items()}
        assert list(mine.items()) == list(theirs.items())


def test_lazy_observations_and_decisions_read_like_lists():
    m = SwarmModel(n_agents=30, width=20, height=20, rng=4)
    for _ in range(3):
        m.step()
    obs = m.observe()
    assert obs.simple.any() and obs._items.count(None) == 30  # nothing built until read
    whole = list(obs)  # builds the plain ones
    assert len(whole) == len(obs) == 30 and obs[-1] is whole[-1] and obs[2:5] == whole[2:5]
    assert all(o.index == i for i, o in enumerate(obs))
    decisions = m.policy.decide(m.observe())
    assert [d.action for d in decisions][:3] == [decisions[i].action for i in range(3)]


def _same_observation(a, b) -> bool:
    import dataclasses

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        same = np.array_equal(x, y, equal_nan=True) if isinstance(x, np.ndarray) else x == y
        if not same:
            return False
    return True


@pytest.mark.parametrize("torus", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_an_observation_read_after_the_step_is_the_one_the_agent_had(torus, seed):
    """Observations are built lazily from the observe phase's snapshot (swarm.observe.Sight):
    one first read after the act and world phases changed the world is the same as one
    read before them, and the array decisions of holders (rules 1-3 from ``held``) are the
    ones the expert takes on the full observations."""
    kw = dict(n_agents=40, width=14, height=14, torus=torus, rng=seed, policy="heuristic")
    eager, lazy = SwarmModel(**kw), SwarmModel(**kw)
    early: list[list] = []
    eager.on_decisions.append(lambda model, obs, ds: early.append(list(obs)))
    late: list = []
    ed, ld = [], []
    eager.on_decisions.append(lambda model, obs, ds: ed.append([d.action for d in ds]))
    lazy.on_decisions.append(lambda model, obs, ds: ld.append([d.action for d in ds]))
    holders = 0
    for _ in range(60):
        eager.step()
        lazy.step()
        late.append(lazy.last_record.observations)
        holders += len(lazy.last_record.observations.held)
    assert holders > 50 and ed == ld
    for before, after in zip(early, late, strict=True):
        assert all(_same_observation(a, b) for a, b in zip(before, list(after), strict=True))


def test_a_handoff_to_an_unknown_agent_is_illegal_not_a_crash():
    from swarm.interface.observation import Decision
    from swarm.policies import HeuristicPolicy
    from swarm.world import actions as A

    class Stray(HeuristicPolicy):
        name = "stray"

        def decide(self, observations):
            out = super().decide(observations)
            for i in range(len(out)):
                task = observations.held.get(i) if hasattr(observations, "held") else None
                if task is not None:
                    out[i] = Decision(A.handoff(task.id, 10**9))
            return out

    m = SwarmModel(n_agents=30, width=10, height=10, rng=1, policy=Stray())
    rollout(m, 40)
    assert m.counts.illegal_actions > 0
