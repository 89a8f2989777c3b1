import pandas as pd
import pytest
import yaml


def test_run_writes_outputs(tmp_path, cli):
    code, out, _ = cli(
        "run", "--agents", "8", "--steps", "30", "--seed", "3", "--out", str(tmp_path)
    )
    assert code in (0, None)
    for name in ("model.parquet", "agents.parquet", "config.yaml", "summary.png"):
        assert (tmp_path / name).exists()
    df = pd.read_parquet(tmp_path / "model.parquet")
    assert len(df) == 31 and "completed" in df
    cfg = yaml.safe_load((tmp_path / "config.yaml").read_text())
    assert cfg["seed"] == 3 and cfg["model"]["n_agents"] == 8


def test_config_file_and_reproducibility(tmp_path, cli):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: 5\nsteps: 20\nmodel: {n_agents: 6, policy: no-traces}\n")
    for out in ("a", "b"):
        cli("run", "--config", str(cfg), "--out", str(tmp_path / out))
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a" / "model.parquet"),
        pd.read_parquet(tmp_path / "b" / "model.parquet"),
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("model: {n_agentz: 3}\n", "unknown key 'model.n_agentz'"),
        ("stepz: 3\n", "unknown key 'stepz'"),
        ("steps: [1\n", "not valid YAML"),
        ("- a\n", "expected a mapping"),
        ("model: {policy: telepathy}\n", "--policy 'telepathy'"),
    ],
)
def test_bad_config_is_one_line_exit_2(tmp_path, cli, content, message):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(content)
    code, _, err = cli("run", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_missing_config_file(tmp_path, cli):
    code, _, err = cli("run", "--config", str(tmp_path / "x.yaml"), "--out", "o")
    assert code == 2 and "no such file" in err


def test_two_runs_on_one_soul_store_or_one_out_are_refused(tmp_path):
    import subprocess
    import sys

    from filelock import FileLock

    code = "import sys; from swarm.cli import main; main(sys.argv[1:])"

    def run(*argv):
        res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
        return res.returncode, res.stderr

    souls = tmp_path / "souls"
    souls.mkdir()
    config = tmp_path / "c.yaml"
    config.write_text(f"steps: 5\nmodel: {{n_agents: 3, souls: {souls}}}\n")
    with FileLock(souls / ".lock"):
        rc, err = run("run", "--config", str(config), "--out", str(tmp_path / "a"))
    assert rc == 2 and "the soul store is in use" in err and "Traceback" not in err
    assert not list(souls.glob("*.json"))  # nothing was loaded or saved
    with FileLock(tmp_path / ".b.lock"):  # another `swarm run --out b` under way
        rc, err = run("run", "--steps", "3", "--out", str(tmp_path / "b"))
    assert rc == 2 and "the run directory is in use" in err


def test_a_run_directory_is_replaced_whole_and_other_files_stay(tmp_path, cli):
    out = tmp_path / "r"
    assert cli("run", "--steps", "3", "--agents", "3", "--out", str(out))[0] in (0, None)
    (out / "report.html").write_text("mine")
    assert cli("run", "--steps", "4", "--agents", "3", "--out", str(out))[0] in (0, None)
    assert (out / "report.html").read_text() == "mine"
    assert len(pd.read_parquet(out / "model.parquet")) == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work")
    code, _, err = cli("run", "--steps", "3", "--out", str(other))
    assert code == 2 and "none of swarm run's outputs" in err
    assert [p.name for p in other.iterdir()] == ["thesis.tex"]


def test_run_out_naming_a_file_is_refused_before_simulating(tmp_path, cli):
    target = tmp_path / "file"
    target.write_text("not a directory")
    code, _, err = cli("run", "--steps", "100000", "--out", str(target))
    assert code == 2 and "exists and is not a directory" in err
