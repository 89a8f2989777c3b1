import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from swarm.config import ConfigError
from swarm.experiments.sweep import expand, load_sweep, run_sweep

SMALL = {
    "model": {"n_agents": [3, 6], "width": 8, "height": 8},
    "seeds": 2,
    "steps": 15,
    "metrics": ["completed", "conflict_rate"],
}


@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.one_of(st.integers(1, 4), st.lists(st.integers(0, 99), min_size=1, max_size=4, unique=True)),
)
def test_the_grid_is_the_cartesian_product_times_the_seeds(sizes, seeds):
    names = ["view_radius", "steps_per_day", "hotspots"]
    model = {name: list(range(1, k + 1)) for name, k in zip(names, sizes, strict=False)}
    model["domains"] = ["a", "b", "c"]  # a list of names is one value, not an axis
    cfg = load_sweep({"model": model, "seeds": seeds, "steps": 5})
    specs = expand(cfg)
    n_seeds = seeds if isinstance(seeds, int) else len(seeds)
    expected = n_seeds
    for k in sizes:
        expected *= k
    assert len(specs) == expected
    assert len({s.run_id for s in specs}) == len(specs)
    assert all(s.params["domains"] == ["a", "b", "c"] for s in specs)


def test_bad_sweep_configs_name_the_key():
    with pytest.raises(ConfigError, match="unknown key 'model.n_agent'"):
        expand(load_sweep({"model": {"n_agent": [1, 2]}}))
    with pytest.raises(ConfigError, match="unknown metric 'foo'"):
        load_sweep({"metrics": ["foo"]})
    with pytest.raises(ConfigError, match="unknown key 'sed'"):
        load_sweep({"sed": 3})
    with pytest.raises(ConfigError, match="seeds"):
        load_sweep({"seeds": 0})


def test_a_sweep_writes_one_row_and_one_frame_per_run(tmp_path):
    df = run_sweep(SMALL, tmp_path)
    assert len(df) == 4
    assert list(df.columns[:2]) == ["run_id", "n_agents"]
    assert (df["status"] == "ok").all()
    assert df["completed"].notna().all()
    stored = pd.read_parquet(tmp_path / "results.parquet")
    pd.testing.assert_frame_equal(stored, df)
    for run_id in df["run_id"]:
        frame = pd.read_parquet(tmp_path / "runs" / f"{run_id}.parquet")
        assert len(frame) == 16  # the initial state and 15 steps


def test_parallel_workers_give_the_same_results(tmp_path):
    a = run_sweep(SMALL, tmp_path / "a")
    b = run_sweep(SMALL, tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(a, b)


def test_a_failing_run_is_recorded_and_the_others_go_on(tmp_path):
    cfg = {"model": {"n_agents": 4, "policy": ["heuristic", "lm:/no/such/model"]}, "seeds": 1}
    cfg["steps"] = 5
    df = run_sweep(cfg, tmp_path)
    assert df["status"].tolist() == ["ok", "error"]
    assert "no/such/model" in df["error"].iloc[1]
    row = json.loads((tmp_path / "runs" / f"{df['run_id'].iloc[1]}.json").read_text())
    assert "Traceback" in row["traceback"]


def test_bad_parameters_are_refused_before_any_run(tmp_path):
    cfg = {"model": {"n_agents": 4, "alone": [0, 9]}, "seeds": 1, "steps": 5}
    with pytest.raises(ConfigError, match="alone must be in"):
        run_sweep(cfg, tmp_path)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def _sweep_cmd(config, out):
    code = "import sys; from swarm.cli import main; main(sys.argv[1:])"
    return [sys.executable, "-c", code, "sweep", str(config), "--out", str(out)]


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_same_results(tmp_path):
    import yaml

    config = tmp_path / "sweep.yaml"
    config.write_text(
        yaml.safe_dump(
            {"model": {"n_agents": [10, 20], "width": 15, "height": 15}, "seeds": 4, "steps": 150}
        )
    )
    out = tmp_path / "killed"
    proc = subprocess.Popen(_sweep_cmd(config, out), stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    runs = out / "runs"
    while time.time() < deadline and len(list(runs.glob("*.json"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {p.name: p.stat().st_mtime_ns for p in runs.glob("*.json")}
    assert 2 <= len(done) < 8, "the sweep should have been killed part way"

    resumed = run_sweep(config, out)
    for name, mtime in done.items():  # finished runs were skipped, not redone
        assert (runs / name).stat().st_mtime_ns == mtime
    run_sweep(config, tmp_path / "whole")
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "results.parquet"),
        pd.read_parquet(tmp_path / "whole" / "results.parquet"),
    )
    assert len(resumed) == 8


@pytest.mark.slow
def test_the_ray_executor_matches_the_local_one(tmp_path):
    pytest.importorskip("ray")
    import ray

    local = run_sweep(SMALL, tmp_path / "local")
    try:
        on_ray = run_sweep(SMALL, tmp_path / "ray", executor="ray", workers=2)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(local, on_ray)


def test_sweep_cli_reports_bad_input_in_one_line(cli, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("model: {n_agents: [2, x]}\n")
    code, _, err = cli("sweep", str(config), "--out", str(tmp_path / "o"))
    assert code == 2
    assert err.strip().count("\n") == 0 and "model.n_agents" in err
    code, _, err = cli("sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "o"))
    assert code == 2 and "no such file" in err
    code, _, err = cli("sweep", str(config), "--out", str(tmp_path / "o"), "--executor", "dask")
    assert code == 2 and "--executor" in err


def test_plot_cli_draws_a_heat_map_and_a_line(cli, tmp_path):
    cfg = {
        "model": {
            "n_agents": 4,
            "width": 8,
            "height": 8,
            "trace_decay": [0.1, 0.5],
            "trace_diffusion": [0.0, 0.3],
        },
        "seeds": 2,
        "steps": 10,
        "metrics": ["mean_throughput", "conflict_rate"],
    }
    run_sweep(cfg, tmp_path)
    heat = tmp_path / "heat.png"
    code, out, _ = cli(
        "plot",
        str(tmp_path),
        "--x",
        "trace_decay",
        "--y",
        "trace_diffusion",
        "--metric",
        "mean_throughput",
        "--out",
        str(heat),
    )
    assert code in (0, None) and heat.stat().st_size > 0
    line = tmp_path / "line.png"
    code, _, _ = cli(
        "plot",
        str(tmp_path / "results.parquet"),
        "--x",
        "trace_decay",
        "--metric",
        "conflict_rate",
        "--out",
        str(line),
    )
    assert line.stat().st_size > 0
    code, _, err = cli(
        "plot", str(tmp_path), "--x", "decay", "--metric", "conflict_rate", "--out", str(line)
    )
    assert code == 2 and "no column 'decay'" in err


def test_a_rerun_with_other_metrics_reports_them_without_running_again(tmp_path):
    cfg = {**SMALL, "seeds": 1, "metrics": ["completed"]}
    first = run_sweep(cfg, tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*.parquet")}
    again = run_sweep({**cfg, "metrics": ["completed", "mean_xp", "conflict_rate"]}, tmp_path)
    assert {"mean_xp", "conflict_rate"} <= set(again.columns)
    assert again["mean_xp"].notna().all()
    assert list(again["completed"]) == list(first["completed"])
    assert stamps == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "runs").glob("*.parquet")}


def test_a_sweep_with_failed_runs_exits_1(cli, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("model: {n_agents: 3, width: 8, height: 8, policy: lm:/no/such}\nsteps: 3\n")
    code, out, _ = cli("sweep", str(config), "--out", str(tmp_path / "o"))
    assert code == 1 and "3 runs, 3 failed" in out


def test_a_sweep_saves_its_souls(tmp_path):
    souls = tmp_path / "souls"
    run_sweep(
        {"model": {"n_agents": 3, "width": 8, "height": 8, "souls": str(souls)}, "seeds": 2,
         "steps": 60, "metrics": ["mean_xp"]},
        tmp_path / "out",
    )  # fmt: skip
    assert sorted(p.name for p in souls.glob("*.json")) == [f"agent-{i}.json" for i in range(3)]


def test_a_held_sweep_directory_is_refused_in_one_line(cli, tmp_path):
    from filelock import FileLock

    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "o"
    out.mkdir()
    with FileLock(out / ".lock"):  # another process's lock, as far as the CLI can tell
        code, _, err = subprocess_cli("sweep", str(config), "--out", str(out))
    assert code == 2 and "in use by another process" in err and "Traceback" not in err


def subprocess_cli(*argv):
    code = "import sys; from swarm.cli import main; main(sys.argv[1:])"
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    return res.returncode, res.stdout, res.stderr


def test_a_sweep_too_large_to_hold_is_refused_before_expanding(tmp_path):
    anchors = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
    grid = ", ".join(f"k{i}: *a" for i in range(12))  # 10**12 combinations
    with pytest.raises(ConfigError, match="more than 100,000"):
        run_sweep({"model": yaml.safe_load(anchors + f"b: {{{grid}}}")["b"], "seeds": 1}, tmp_path)
    with pytest.raises(ConfigError, match="seeds is more than"):
        run_sweep({"model": {}, "seeds": 10**12}, tmp_path)


def test_an_empty_or_deeply_nested_config_is_one_line(cli, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    for config, message in ((empty, "empty (no settings)"), (deep, "nested too deeply")):
        for argv in (["sweep", str(config), "--out", str(tmp_path / "o")],
                     ["run", "--config", str(config), "--out", str(tmp_path / "r")]):  # fmt: skip
            code, _, err = cli(*argv)
            assert code == 2 and message in err, (argv, err)


def test_an_unreachable_ray_cluster_is_one_line(tmp_path):
    config = tmp_path / "s.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:1"}  # nothing listens there
    code = "import sys; from swarm.cli import main; main(sys.argv[1:])"
    argv = ["sweep", str(config), "--out", str(tmp_path / "o"), "--executor", "ray"]
    res = subprocess.run(
        [sys.executable, "-c", code, *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 2, res.stderr
    assert "cannot connect to the Ray cluster at 127.0.0.1:1" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.slow
def test_a_sweep_runs_on_a_ray_cluster_the_test_starts_on_loopback(tmp_path):
    import socket
    import tempfile
    from pathlib import Path

    pytest.importorskip("ray")
    ray = str(Path(sys.executable).with_name("ray"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    head = [ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
            "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats",
            "--temp-dir", tempfile.mkdtemp(prefix="ray", dir="/tmp")]  # fmt: skip
    subprocess.run(head, env=env, check=True, timeout=180, capture_output=True)
    try:
        config = tmp_path / "s.yaml"
        config.write_text(yaml.safe_dump(SMALL))
        code = "import sys; from swarm.cli import main; main(sys.argv[1:])"
        argv = ["sweep", str(config), "--out", str(tmp_path / "ray"), "--executor", "ray"]
        res = subprocess.run(
            [sys.executable, "-c", code, *argv],
            env={**os.environ, "RAY_ADDRESS": f"127.0.0.1:{port}"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr[-2000:]
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, timeout=120, capture_output=True)
    on_ray = pd.read_parquet(tmp_path / "ray" / "results.parquet")
    local = run_sweep(SMALL, tmp_path / "local")
    assert (on_ray["status"] == "ok").all()
    cols = ["run_id", "completed", "conflict_rate"]
    pd.testing.assert_frame_equal(on_ray[cols], local[cols])


COMPARE = {
    "model": {"n_agents": 4, "size": [8, 10], "agent_report_every": 0},
    "seeds": 3,
    "steps": 30,
    "metrics": ["completed", "completion_rate"],
    "compare": {
        "reference": "swarm",
        "conditions": {"swarm": {}, "no-traces": {"stigmergy": False}},
        "primary": "completed",
    },
}


def test_a_compare_block_pairs_each_condition_with_the_reference(tmp_path, cli):
    from swarm.analysis.paired import PAIRED_COLUMNS

    results = run_sweep(COMPARE, tmp_path)
    assert len(results) == 2 * 2 * 3 and set(results["condition"]) == {"swarm", "no-traces"}
    paired = pd.read_csv(tmp_path / "paired.csv")
    assert list(paired.columns) == ["size", *PAIRED_COLUMNS]
    assert len(paired) == 2 * 2  # grid points × metrics, one condition besides the reference
    assert (paired["condition"] == "no-traces").all()
    assert (paired.loc[paired["metric"] == "completed", "n_seeds"] == 3).all()
    # The difference is taken seed by seed within the grid point.
    runs = results.set_index(["size", "condition", "seed"])["completed"]
    for size in (8, 10):
        diff = (runs[size, "no-traces"] - runs[size, "swarm"]).mean()
        got = paired[(paired["size"] == size) & (paired["metric"] == "completed")]
        assert got["mean_diff"].iloc[0] == pytest.approx(diff)
    assert "(size=8)" in (tmp_path / "paired.md").read_text()
    heat = tmp_path / "heat.png"
    args = ["--x", "size", "--y", "n_agents", "--metric", "completed", "--out", str(heat)]
    code, _, err = cli("plot", str(tmp_path), "--paired", "no-traces", *args)
    assert code == 2 and "no column 'n_agents'" in err  # n_agents is not a grid axis
    model = {**COMPARE["model"], "n_agents": [3, 4]}
    run_sweep({**COMPARE, "model": model}, tmp_path / "two")
    code, _, _ = cli("plot", str(tmp_path / "two"), "--paired", "no-traces", "--reverse", *args)
    assert code in (0, None) and heat.stat().st_size > 0


@pytest.mark.parametrize(
    "compare, says",
    [
        ({"reference": "x", "conditions": {"a": {}, "b": {"learn": False}}}, "reference 'x'"),
        ({"reference": "a", "conditions": {"a": {}}}, "compare.conditions"),
        (
            {"reference": "a", "conditions": {"a": {}, "b": {"size": 9}}},
            "compare.conditions.b sets model.size",
        ),
        ({"reference": "a", "conditions": {"a": {}, "b": {"learn": "maybe"}}}, "b.learn"),
        (
            {"reference": "a", "conditions": {"a": {}, "b": {}}, "primary": "xp"},
            "compare.primary",
        ),
    ],
)
def test_a_bad_compare_block_is_refused_before_any_run(tmp_path, compare, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(")):
        run_sweep({**COMPARE, "compare": compare}, tmp_path)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "name, runs",
    [
        ("agent_scaling", None),
        ("voting_rules", None),
        ("trace_decay_diffusion", 5 * 4 * 2 * 10),
        ("regimes", 3 * 3 * 3 * 3 * 40),
    ],
)
def test_the_ready_made_sweeps_are_valid(name, runs):
    from pathlib import Path

    from swarm.experiments.sweep import size

    path = Path(__file__).parents[2] / "experiments" / f"{name}.yaml"
    cfg = load_sweep(path)
    specs = expand(cfg, str(path))
    assert len(specs) == size(cfg) and (runs is None or len(specs) == runs)


def test_runs_stored_by_another_engine_are_run_again(tmp_path, monkeypatch):
    import swarm.experiments.sweep as sweep_module

    cfg = {**SMALL, "seeds": 1, "model": {**SMALL["model"], "n_agents": 3}}
    first = run_sweep(cfg, tmp_path)
    monkeypatch.setattr(sweep_module, "ENGINE_VERSION", sweep_module.ENGINE_VERSION + 1)
    again = run_sweep(cfg, tmp_path)
    assert set(again["run_id"]).isdisjoint(first["run_id"])  # rerun, not reused
    assert len(list((tmp_path / "runs").glob("*.json"))) == 2 * len(first)


def test_an_emergence_block_puts_each_runs_tests_in_its_row_and_pairs_them(tmp_path):
    cfg = {
        "model": {"n_agents": 8, "width": 12, "height": 12, "task_rate": [0.5, 1.0]},
        "seeds": 3,
        "steps": 60,
        "metrics": ["completed"],
        "emergence": {"window": 30, "n_surrogates": 19, "measures": ["psi"]},
        "compare": {
            "reference": "swarm",
            "conditions": {"swarm": {}, "random": {"policy": "random"}},
        },
    }
    df = run_sweep(cfg, tmp_path / "em")
    assert len(df) == 12 and (df["status"] == "ok").all()
    for pair in ("holding", "hotspot", "domains"):
        assert df[f"em_psi_{pair}_p"].between(1 / 20, 1).all()
        assert df[f"em_psi_{pair}_detected"].isin([0.0, 1.0]).all()
    paired = pd.read_csv(tmp_path / "em" / "paired.csv")
    assert {"em_psi_hotspot", "em_trend_position_entropy"} <= set(paired["metric"])
    table = pd.read_csv(tmp_path / "em" / "emergence.csv")
    assert set(table["condition"]) == {"swarm", "random"}
    assert table["detected"].between(0, 1).all() and (table["runs"] <= 3).all()
    # the settings are part of a run's id: other settings are other runs
    again = run_sweep(cfg | {"emergence": {"window": 30, "n_surrogates": 9}}, tmp_path / "em")
    assert set(again["run_id"]).isdisjoint(df["run_id"])
    with pytest.raises(ConfigError, match="emergence needs the agents' rows"):
        load_sweep(cfg | {"model": {"agent_report_every": 0}})
