import pandas as pd
import pytest

from swarm.analysis.paired import PAIRED_COLUMNS
from swarm.experiments.swarm_vs_single import (
    CONDITIONS,
    METRICS,
    SOLO,
    VARIANTS,
    BenchConfig,
    per_seed,
    specs,
    swarm_vs_single,
)

TINY = BenchConfig(seeds=2, steps=40, model={"n_agents": 3, "width": 10, "height": 10})


def test_the_benchmark_runs_every_condition_on_the_same_seeds():
    runs = specs(TINY)
    by_condition = pd.Series([s.labels["condition"] for s in runs]).value_counts()
    assert by_condition["alone"] == by_condition["alone-full-load"] == 2 * 3  # every agent
    assert all(by_condition[c] == 2 for c in CONDITIONS if c not in SOLO)
    alone = [s for s in runs if s.labels["condition"] == "alone"]
    assert {s.params["alone"] for s in alone} == {0, 1, 2}
    assert all(s.params["task_rate"] == pytest.approx(0.04) for s in alone)  # load ÷ N
    full = [s for s in runs if s.labels["condition"] == "alone-full-load"]
    assert all(s.params["task_rate"] == pytest.approx(0.12) for s in full)  # the whole load
    matched = [s for s in runs if s.labels["condition"] == "compute-matched"]
    assert all(s.steps == 3 * 40 for s in matched)
    by_name = {s.labels["condition"]: s.params for s in runs if s.seed == 0}
    assert by_name["swarm"]["task_rate"] == pytest.approx(0.12)
    off = {"stigmergy": False, "deference": False, "handoffs": False}
    assert by_name["uncoordinated"].items() >= (off | {"voting": "dictator"}).items()
    assert by_name["independent-vote"].items() >= (off | {"voting": "plurality"}).items()
    assert by_name["private-memory"]["policy"] == "private-memory"
    assert by_name["random"]["policy"] == "random"


def test_conditions_that_keep_the_world_see_the_same_tasks():
    from swarm import SwarmModel, rollout

    worlds = {}
    for s in specs(TINY):
        if s.seed == 0 and s.labels["condition"] in (*VARIANTS, "alone-full-load"):
            if s.labels["condition"] == "alone-full-load" and s.params["alone"] != 0:
                continue
            model = rollout(SwarmModel(s.params, rng=s.seed), s.steps)
            worlds[s.labels["condition"]] = model.datacollector.get_table_dataframe("arrivals")
    swarm = worlds.pop("swarm")
    assert len(swarm) > 0
    for name, arrivals in worlds.items():
        pd.testing.assert_frame_equal(arrivals, swarm, obj=name)


def test_the_benchmark_writes_its_table(tmp_path, cli):
    table = swarm_vs_single(tmp_path, TINY)
    assert table["condition"].tolist() == list(CONDITIONS)
    assert (table["n"] == 2).all()
    for name in ("table.csv", "table.md", "per_seed.csv", "bench_output.png", "results.parquet"):
        assert (tmp_path / name).exists(), name
    md = (tmp_path / "table.md").read_text()
    assert all(m in md for m in METRICS)
    seeds = pd.read_csv(tmp_path / "per_seed.csv")
    alone = seeds[seeds.condition == "alone"]
    ratio = alone["collective_intelligence_ratio"]
    assert ((ratio == 1.0) | (alone["completed"] == 0)).all()
    assert "collective_intelligence_ratio_full_load" in seeds
    # The swarm's ratio is its output over the same seed's agents alone.
    runs = pd.read_parquet(tmp_path / "results.parquet")
    for seed in (0, 1):
        solo = runs[(runs.condition == "alone") & (runs.seed == seed)]["completed"].sum()
        done = runs[(runs.condition == "swarm") & (runs.seed == seed)]["completed"].iloc[0]
        got = seeds[(seeds.condition == "swarm") & (seeds.seed == seed)]
        if solo:
            assert got["collective_intelligence_ratio"].iloc[0] == pytest.approx(done / solo)
    # A rerun resumes: nothing left to run, same table.
    again = swarm_vs_single(tmp_path, TINY)
    pd.testing.assert_frame_equal(again, table)
    # Every condition paired with the swarm on the same seeds, the primary metric marked.
    paired = pd.read_csv(tmp_path / "paired.csv")
    assert list(paired.columns) == list(PAIRED_COLUMNS)
    assert set(paired["condition"]) == set(CONDITIONS) - {"swarm"}
    assert (paired["reference"] == "swarm").all() and (paired["n_seeds"] <= 2).all()
    assert (paired.loc[paired.metric == "throughput_per_agent", "n_seeds"] == 2).all()
    assert paired.loc[paired["primary"], "metric"].unique().tolist() == ["throughput_per_agent"]
    a = seeds[seeds.condition == "no-traces"].set_index("seed")["completion_rate"]
    b = seeds[seeds.condition == "swarm"].set_index("seed")["completion_rate"]
    row = paired[(paired.condition == "no-traces") & (paired.metric == "completion_rate")]
    assert row["mean_diff"].iloc[0] == pytest.approx((a - b).mean())
    assert "(primary)" in (tmp_path / "paired.md").read_text()


def test_per_seed_ignores_failed_runs():
    rows = pd.DataFrame(
        [
            {
                "condition": "alone",
                "seed": 0,
                "status": "ok",
                "alone": 0.0,
                "n_agents": 2,
                "steps": 10,
                "completed": 2,
                "failed": 2,
                "conflict_rate": 0.0,
                "handoff_success_rate": float("nan"),
                "decision_quality": float("nan"),
                "novel_solution_rate": float("nan"),
            },
            {
                "condition": "swarm",
                "seed": 0,
                "status": "ok",
                "alone": float("nan"),
                "n_agents": 2,
                "steps": 10,
                "completed": 6,
                "failed": 0,
                "conflict_rate": 0.1,
                "handoff_success_rate": 1.0,
                "decision_quality": 0.8,
                "novel_solution_rate": 0.0,
            },
            {
                "condition": "plurality",
                "seed": 0,
                "status": "error",
                "alone": float("nan"),
                "n_agents": 2,
                "steps": 10,
            },
        ]
    )
    df = per_seed(rows)
    assert df["condition"].tolist() == ["alone", "swarm"]
    swarm = df.iloc[1]
    assert swarm["throughput_per_agent"] == pytest.approx(100 * 6 / (2 * 10))
    assert swarm["collective_intelligence_ratio"] == pytest.approx(3.0)
    assert df.iloc[0]["completion_rate"] == pytest.approx(0.5)


def test_bench_cli_refuses_bad_options(cli, tmp_path):
    code, _, err = cli("bench", "swarm-vs-single", "--out", str(tmp_path), "--policy", "oracle")
    assert code == 2 and "'oracle'" in err
    missing = f"lm:{tmp_path / 'no-model'}"
    code, _, err = cli("bench", "swarm-vs-single", "--out", str(tmp_path), "--policy", missing)
    assert code == 2 and "not a model directory" in err and "Traceback" not in err
    bad = tmp_path / "b.yaml"
    bad.write_text("seeds: 3\nagents: 4\n")
    code, _, err = cli("bench", "swarm-vs-single", "--out", str(tmp_path), "--config", str(bad))
    assert code == 2 and "unknown key 'agents'" in err
