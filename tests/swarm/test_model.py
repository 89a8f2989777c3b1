import mesa
import numpy as np
import pandas as pd
import pytest

from soul import SoulStore
from swarm import SwarmModel
from swarm.policies import HeuristicPolicy, NaiveHeuristicPolicy


def run(steps=60, **kw):
    m = SwarmModel(**kw)
    for _ in range(steps):
        m.step()
    return m


def test_same_rng_gives_identical_frames():
    a, b = run(rng=7), run(rng=7)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )
    pd.testing.assert_frame_equal(
        a.datacollector.get_agent_vars_dataframe(), b.datacollector.get_agent_vars_dataframe()
    )
    c = run(rng=8)
    assert not c.datacollector.get_model_vars_dataframe().equals(
        a.datacollector.get_model_vars_dataframe()
    )


@pytest.mark.parametrize("torus", [True, False])
def test_fast_and_naive_engines_make_the_same_decisions(torus):
    fast = SwarmModel(
        n_agents=25, width=15, height=15, torus=torus, rng=3, policy=HeuristicPolicy()
    )
    slow = SwarmModel(
        n_agents=25,
        width=15,
        height=15,
        torus=torus,
        rng=3,
        policy=NaiveHeuristicPolicy(),
        observe="cells",
    )
    for _ in range(80):
        fo, so = fast.observe(), slow.observe()
        assert [o.candidates for o in fo] == [o.candidates for o in so]
        np.testing.assert_array_equal(
            np.stack([o.traces for o in fo]), np.stack([o.traces for o in so])
        )
        fd = [d.action for d in fast.policy.decide(fast.observe())]  # nothing built: arrays
        sd = [d.action for d in slow.policy.decide(so)]
        assert fd == sd
        fast.step()
        slow.step()
    pd.testing.assert_frame_equal(
        fast.datacollector.get_model_vars_dataframe(), slow.datacollector.get_model_vars_dataframe()
    )


def test_reporters_and_mesa_structures():
    m = run(steps=120, n_agents=15, rng=1)
    df = m.datacollector.get_model_vars_dataframe()
    for col in (
        "completed",
        "failed",
        "throughput",
        "conflicts",
        "conflict_rate",
        "handoffs",
        "handoff_success_rate",
        "mean_xp",
        "open_tasks",
    ):
        assert col in df
    agents = m.datacollector.get_agent_vars_dataframe()
    assert {"xp", "level", "main_domain", "tasks_done"} <= set(agents.columns)
    assert isinstance(m.grid, mesa.discrete_space.OrthogonalMooreGrid)
    assert all(isinstance(a, mesa.discrete_space.CellAgent) for a in m.swarm)
    assert df["completed"].iloc[-1] > 0
    assert (df["completed"].diff().dropna() >= 0).all()
    assert 0 <= df["conflict_rate"].iloc[-1] <= 1
    # the arrays agree with Mesa's cells
    for a in m.swarm:
        assert a.cell.coordinate == (m.ax[a.index], m.ay[a.index])


def test_expert_beats_random_and_keeps_conflicts_low():
    expert = run(steps=200, rng=2)
    rand = run(steps=200, rng=2, policy="random")
    assert expert.counts.completed > 5 * max(rand.counts.completed, 1)
    assert expert.counts.conflict_rate < 0.05


def test_souls_persist_across_runs(tmp_path):
    m = run(steps=110, n_agents=6, rng=4, souls=tmp_path)
    assert m.save_souls() == 6
    xp = {a.soul.id: a.soul.xp for a in m.swarm}
    store = SoulStore(tmp_path)
    assert store.ids() == sorted(xp)
    m2 = SwarmModel(n_agents=6, rng=5, souls=tmp_path)
    assert {a.soul.id: a.soul.xp for a in m2.swarm} == xp
    assert any(a.soul.days_lived == 2 for a in m.swarm)


def test_learning_ablation_freezes_skills():
    m = SwarmModel(n_agents=10, rng=1, learn=False)
    before = m.skills.copy()
    for _ in range(100):
        m.step()
    np.testing.assert_array_equal(m.skills, before)


def test_batch_run_works():
    results = mesa.batch_run(
        SwarmModel,
        parameters={"n_agents": [4, 6], "seed": [1]},
        iterations=1,
        max_steps=10,
        display_progress=False,
    )
    assert {r["n_agents"] for r in results} == {4, 6}
    assert "completed" in results[0]


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"n_agents": 0}, "n_agents"),
        ({"policy": "nope"}, "unknown policy 'nope'"),
        ({"channels": {"claim": {}}}, "channels must include"),
        ({"observe": "x"}, "observe"),
    ],
)
def test_bad_parameters_are_named(kw, msg):
    with pytest.raises(ValueError, match=msg):
        SwarmModel(**kw)


@pytest.mark.parametrize("rule", ["plurality", "weighted", "log_odds", "borda", "dictator"])
def test_every_voting_rule_runs_and_records_its_decisions(rule):
    m = run(steps=150, n_agents=15, width=12, height=12, voting=rule, rng=2)
    table = m.datacollector.get_table_dataframe("decisions")
    assert len(table) == m.counts.decisions > 0
    assert (table["rule"] == rule).all()
    assert table["quality"].between(0, 1).all()
    assert m.counts.decision_quality == pytest.approx(table["quality"].mean())
    assert m.counts.novel_solution_rate == pytest.approx(table["novel"].mean())
    assert (table["novel"] == (table["quality"] > table["best_member_quality"])).all()
    if rule == "dictator":
        assert not table["novel"].any() and not table["recombined"].any()
    work = m.datacollector.get_table_dataframe("work")
    assert len(work) == sum(a.tasks_done for a in m.swarm)


def test_unknown_voting_rule_is_named():
    with pytest.raises(ValueError, match="'median'"):
        SwarmModel(voting="median")


def test_alone_keeps_the_same_agent():
    full = SwarmModel(n_agents=8, rng=11)
    solo = SwarmModel(n_agents=8, alone=5, task_rate=0.04, rng=11)
    assert len(solo.swarm) == 1
    assert solo.swarm[0].soul.id == full.swarm[5].soul.id
    assert solo.swarm[0].soul.domains == full.swarm[5].soul.domains
    assert (solo.ax[0], solo.ay[0]) == (full.ax[5], full.ay[5])
    for _ in range(30):
        solo.step()
    with pytest.raises(ValueError, match="alone"):
        SwarmModel(n_agents=3, alone=3)


def test_trace_overrides_apply_to_every_channel():
    m = SwarmModel(trace_decay=0.3, trace_diffusion=0.05)
    assert {s.decay for s in m.traces.specs.values()} == {0.3}
    assert {s.diffusion for s in m.traces.specs.values()} == {0.05}


def test_agent_rows_are_recorded_every_k_steps():
    m = run(steps=10, n_agents=4, agent_report_every=5, rng=0)
    steps = m.datacollector.get_agent_vars_dataframe().index.get_level_values("Step")
    assert sorted(set(steps)) == [0, 5, 10]
    assert len(m.datacollector.get_model_vars_dataframe()) == 11


@pytest.mark.parametrize("torus", [False, True])
def test_approach_steps_one_cell_towards_its_task(torus):
    from swarm.world.actions import ActionKind

    model = SwarmModel(n_agents=20, torus=torus, rng=4)
    chosen = []

    def record(m, obs, decisions):
        for o, d in zip(obs, decisions, strict=True):
            if d.action.kind is ActionKind.APPROACH:
                view = next(t for t in o.tasks if t.id == d.action.task)
                chosen.append((o.index, view.dx, view.dy, int(m.ax[o.index]), int(m.ay[o.index])))

    model.on_decisions.append(record)
    seen = 0
    for _ in range(40):
        chosen.clear()
        model.step()
        seen += len(chosen)
        for i, dx, dy, x, y in chosen:
            step = (int(np.sign(dx)), int(np.sign(dy)))
            moved = (int(model.ax[i]) - x, int(model.ay[i]) - y)
            if torus:
                moved = tuple(
                    (v + s // 2) % s - s // 2
                    for v, s in zip(moved, (model.width, model.height), strict=True)
                )
            assert moved == step
    assert seen >= 5


def test_observations_keep_the_skills_of_their_step():
    # They used to share the model's skill rows, so a stored observation (curation
    # trajectories, rendered after the run) showed the skills of the run's end.
    from swarm import rollout

    kept = []

    def keep(model, record):
        kept.extend((o, o.skills.copy()) for o in record.observations)

    rollout(SwarmModel(n_agents=20, rng=0), 200, [keep])
    assert all(np.array_equal(o.skills, s) for o, s in kept)
    first = [s for o, s in kept if o.agent_id == kept[0][0].agent_id]
    assert not np.array_equal(first[0], first[-1])  # skills did change over the run


def test_table_rows_at_once_check_their_columns():
    m = SwarmModel(n_agents=5, width=10, height=10, rng=0)
    dc = m.datacollector
    cols = {c: [1, 2] for c in dc.tables["work"]}
    before = len(dc.tables["work"]["step"])
    dc.add_table_rows("work", cols)
    assert len(dc.tables["work"]["step"]) == before + 2
    with pytest.raises(KeyError, match="columns"):
        dc.add_table_rows("work", {"step": [1]})
    with pytest.raises(ValueError, match="differ in length"):
        dc.add_table_rows("work", {**cols, "step": [1]})
    with pytest.raises(KeyError, match="no table"):
        dc.add_table_rows("nope", cols)
    assert len(dc.tables["work"]["step"]) == before + 2  # the refused calls added nothing
