import re

from swarm.experiments.sweep import run_sweep


def _images(page: str) -> int:
    return len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{200,}"', page))


def test_report_of_a_run_is_self_contained(cli, tmp_path):
    run = tmp_path / "run"
    code, _, _ = cli("run", "--out", str(run), "--agents", "8", "--steps", "40", "--seed", "2")
    assert code == 0
    code, out, _ = cli("report", str(run))
    assert code == 0 and "report.html" in out
    page = (run / "report.html").read_text()
    assert 'src="http' not in page and "<script" not in page  # nothing fetched
    assert _images(page) >= 4 + 3  # snapshots, emergence, summary, levels
    assert "as recorded." in page  # the seeded re-run reproduced the recorded run
    for heading in ("Summary", "Emergence over time", "Soul levels", "Trace heat maps"):
        assert heading in page


def test_report_of_a_sweep(cli, tmp_path):
    sweep = {
        "model": {"n_agents": [4, 8], "agent_report_every": 0},
        "seeds": 2,
        "steps": 30,
    }
    run_sweep(sweep, tmp_path / "sweep")
    code, _, _ = cli("report", str(tmp_path / "sweep"), "--out", str(tmp_path / "s.html"))
    assert code == 0
    page = (tmp_path / "s.html").read_text()
    assert "Metrics per setting" in page and "as recorded." in page
    assert _images(page) >= 4


def test_report_of_something_else_is_a_usage_error(cli, tmp_path):
    code, _, err = cli("report", str(tmp_path))
    assert code == 2 and "not a `swarm run`" in err
    code, _, err = cli("report", str(tmp_path / "missing"))
    assert code == 2 and "no such directory" in err
