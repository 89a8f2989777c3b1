"""The dashboard's parts without a browser: the session (controls, reset, reproducibility),
the ECharts options, the tabs' frames and the export."""

import io
import math
import zipfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swarm.apps.dashboard import charts, panels
from swarm.apps.dashboard.export import EXPORT_FILES, export_zip
from swarm.apps.dashboard.session import CONTROLS, Session, control
from swarm.config import ConfigError, RunConfig


def _session(steps: int = 40, **model) -> Session:
    s = Session(RunConfig(seed=3, model={"n_agents": 12, "size": 16, **model}))
    for _ in range(steps):
        s.step()
    return s


@pytest.fixture(scope="module")
def played():
    return _session(80)


def test_the_world_spans_the_grid_and_holds_every_agent_and_task(played):
    m = played.model
    o = charts.world_option(m, "claim", selected=int(m.swarm[2].unique_id))
    assert o["xAxis"]["data"] == list(range(m.width)) and o["yAxis"]["data"] == list(
        range(m.height)
    )
    agents = [d for s in o["series"] if s["type"] == "scatter" for d in s["data"] if "id" in d]
    assert sorted(d["id"] for d in agents) == sorted(int(a.unique_id) for a in m.swarm)
    for d in agents:
        i = m.index_of[d["id"]]
        assert d["value"] == [int(m.ax[i]), int(m.ay[i])]
        assert d["level"] == m.level_names[i]
    tasks = [d for s in o["series"] if s["name"].endswith(" task") for d in s["data"]]
    assert len(tasks) == len(m.board.tasks)
    heat = o["series"][0]["data"]
    assert len(heat) == int((np.asarray(m.traces.values("claim")) > 0).sum())
    (ring,) = [s for s in o["series"] if s["name"] == "selected"]
    assert ring["data"][0]["id"] == int(m.swarm[2].unique_id)
    assert not any(s["name"] == "selected" for s in charts.world_option(m, "claim")["series"])
    # legend: one entry per domain worked in, one per task type
    assert {f"{k} task" for k in charts.TASK_SYMBOLS} <= set(o["legend"]["data"])


@given(st.floats(0, 20), st.floats(0, 20))
def test_trace_shade_is_a_monotone_map_of_floor_to_cap_onto_0_1(a, b):
    lo, hi = sorted((a, b))
    sa, sb = charts.trace_shade(lo, 1e-3, 5.0), charts.trace_shade(hi, 1e-3, 5.0)
    assert 0.0 <= sa <= sb <= 1.0
    assert charts.trace_shade(5.0, 1e-3, 5.0) == 1.0 and charts.trace_shade(1e-3, 1e-3, 5.0) == 0.0


def _report(rows):
    cols = ["step", "metric", "value", "null_lo", "null_hi", "null_mean", "ci_lo", "ci_hi",
            "detected", "p_value"]  # fmt: skip
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows])


def test_an_indicator_draws_a_null_box_per_window_and_marks_detections():
    nan = math.nan
    report = _report(
        [
            (10, "division_of_labour", 0.5, nan, nan, nan, nan, nan, False, nan),
            (20, "division_of_labour", 0.6, 0.1, 0.4, 0.2, nan, nan, True, 0.01),
            (30, "division_of_labour", 0.3, 0.2, 0.5, 0.3, nan, nan, False, 0.4),
        ]
    )
    o = charts.indicator_option(report, "division_of_labour", "dol", "bits", 30, window=10)
    (null,) = [s for s in o["series"] if s["name"] == charts.NULL_RANGE]
    boxes = null["markArea"]["data"]
    assert boxes == [
        [{"xAxis": 10, "yAxis": 0.1}, {"xAxis": 20, "yAxis": 0.4}],
        [{"xAxis": 20, "yAxis": 0.2}, {"xAxis": 30, "yAxis": 0.5}],
    ]
    (hits,) = [s for s in o["series"] if s["name"] == charts.DETECTED_NAME]
    assert hits["data"] == [[20, 0.6]]
    (line,) = [s for s in o["series"] if s["name"] == "dol"]
    assert [v for _, v in line["data"]] == [0.5, 0.6, 0.3]


def test_a_series_with_a_trend_null_draws_the_null_slopes_and_marks_a_detected_trend():
    steps = np.arange(50)
    rows = [(int(s), "position_entropy", 3.0 - 0.02 * s, *[math.nan] * 5, False, math.nan)
            for s in steps]  # fmt: skip
    rows.append(
        (49, "trend_position_entropy", -2.0, -0.5, 0.5, 0.0, math.nan, math.nan, True, 0.01)
    )
    o = charts.indicator_option(_report(rows), "position_entropy", "H", "bits", 49)
    names = [s["name"] for s in o["series"]]
    assert {"null slope 2.5 %", "null slope 97.5 %", "trend"} <= set(names)
    (trend,) = [s for s in o["series"] if s["name"] == "trend"]
    (x0, y0), (x1, y1) = trend["data"]
    assert (y1 - y0) / (x1 - x0) == pytest.approx(-0.02)  # -2 per 100 steps
    (hits,) = [s for s in o["series"] if s["name"] == charts.DETECTED_NAME]
    assert hits["data"] == [[49, pytest.approx(3.0 - 0.98)]]


def test_every_indicator_of_the_live_report_has_a_chart_and_an_explanation(played):
    report = panels.live_report(played.model, n_surrogates=20)
    for ind in panels.indicators(played.channel):
        assert (report["metric"] == ind.metric).any(), ind.metric
        assert len(ind.explanation) > 40 and ind.unit
        charts.indicator_option(report, ind.metric, ind.title, ind.unit, 80, window=10)
    line = panels.regime(played.model, 20)
    assert "16×16" in line and "12 agents" in line and "steps 1–80" in line


def test_controls_show_their_value_with_its_unit():
    assert control("task_rate").shown(0.8) == "0.80 tasks / step"
    assert control("n_agents").shown(20) == "20 agents"
    assert {c.key for c in CONTROLS} >= {"n_agents", "task_rate", "decay", "diffusion", "seed"}


def test_a_bad_control_value_is_one_error_and_the_run_goes_on():
    s = _session(5)
    model = s.model
    with pytest.raises(ConfigError, match="n_agents"):
        s.reset(n_agents=0)
    with pytest.raises(ConfigError, match="no control 'agents'"):
        s.reset(agents=3)
    assert s.model is model and model.steps == 5


def test_decay_and_diffusion_tune_the_shown_channel_only():
    s = _session(0)
    before = dict(s.model.traces.specs)
    s.channel = "help"
    s.reset(decay=0.33)
    assert s.model.traces.specs["help"].decay == 0.33
    assert s.values()["decay"] == 0.33
    for name in ("claim", "success", "explored"):
        assert s.model.traces.specs[name] == before[name]


def test_the_same_controls_give_the_same_run():
    a, b = _session(30), _session(30)
    pd.testing.assert_frame_equal(
        a.model.datacollector.get_model_vars_dataframe(),
        b.model.datacollector.get_model_vars_dataframe(),
    )
    b.reset(seed=4)
    for _ in range(30):
        b.step()
    assert a.model.counts != b.model.counts


def test_the_souls_table_has_a_row_per_agent_with_the_spec_s_fields(played):
    frame = panels.souls_frame(played.model)
    assert len(frame) == 12
    for col in ("level", "xp", "preferredTaskTypes", "strengthDomains", "avoidPatterns",
                "learningRate", "adaptabilityScore", "achievements"):  # fmt: skip
        assert col in frame
    assert [c for c in frame if c.startswith("skill ")] == [
        f"skill {d}" for d in played.model.domains
    ]


def test_synthesis_decisions_newest_first_with_quality_against_the_best_member(played):
    frame = panels.synthesis_frame(played.model, last=5)
    if frame.empty:
        pytest.skip("no synthesis decision in this run")
    assert list(frame["step"]) == sorted(frame["step"], reverse=True)
    assert np.allclose(frame["vs best member"], frame["quality"] - frame["best member"], atol=0.011)


def test_the_last_decision_has_candidate_probabilities_when_the_policy_gives_them():
    s = _session(3, policy="random")
    uid = int(s.model.swarm[0].unique_id)
    d = panels.last_decision(s.model, uid)
    assert d.step == 3 and d.probs is not None and len(d.probs) == len(d.candidates)
    assert sum(d.probs) == pytest.approx(1.0) and 0 <= d.chosen < len(d.candidates)
    labels, probs, row = panels.top_candidates(d, k=3)
    assert len(labels) == len(probs) <= 3 and probs == sorted(probs, reverse=True)
    h = _session(3)
    assert panels.last_decision(h.model, int(h.model.swarm[0].unique_id)).probs is None


def test_a_language_model_policy_s_probabilities_reach_the_decisions_tab(tiny_base):
    path, _ = tiny_base
    s = Session(RunConfig(seed=1, model={"n_agents": 4, "size": 8, "policy": f"lm:{path}"}))
    s.step()
    d = panels.last_decision(s.model, int(s.model.swarm[0].unique_id))
    assert d.probs is not None and sum(d.probs) == pytest.approx(1.0, abs=1e-4)
    labels, probs, row = panels.top_candidates(d)
    option = charts.probabilities_option(labels, probs, row)
    assert option["yAxis"]["data"] == labels


def test_the_export_is_a_run_directory_whose_config_reproduces_the_run(played, tmp_path):
    from swarm.config import load_config
    from swarm.experiments.runs import run_config

    data = export_zip(played)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert sorted(n.split("/", 1)[1] for n in names) == sorted(EXPORT_FILES)
        assert all(n.startswith("swarm-step-80/") for n in names)
        config_text = z.read("swarm-step-80/config.yaml").decode()
        exported = pd.read_parquet(io.BytesIO(z.read("swarm-step-80/model.parquet")))
    (tmp_path / "config.yaml").write_text(config_text)
    config = load_config(tmp_path / "config.yaml")
    assert config.steps == 80
    again = run_config(config).model_df
    pd.testing.assert_frame_equal(again.reset_index(drop=True), exported, check_dtype=False)


@given(st.integers(0, 5000))
def test_a_long_series_is_thinned_to_at_most_max_points_and_keeps_its_ends(n):
    idx = charts.thin(n)
    assert len(idx) <= charts.MAX_POINTS + 1 and idx == sorted(set(idx))
    if n:
        assert idx[0] == 0 and idx[-1] == n - 1
    if n <= charts.MAX_POINTS:
        assert idx == list(range(n))


def test_nothing_is_exported_before_the_first_step():
    with pytest.raises(ValueError, match="first step"):
        export_zip(_session(0))


def test_an_export_while_the_run_plays_is_one_step_s_run(played):
    """The play loop steps in its own thread; an export (another thread) holds the run."""
    import threading

    s = _session(10)
    done = threading.Event()

    def play():
        while not done.is_set():
            s.step()

    player = threading.Thread(target=play)
    player.start()
    try:
        zips = [export_zip(s) for _ in range(2)]
    finally:
        done.set()
        player.join()
    for data in zips:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            (folder,) = {n.split("/")[0] for n in z.namelist()}
            steps = int(folder.removeprefix("swarm-step-"))
            model = pd.read_parquet(io.BytesIO(z.read(f"{folder}/model.parquet")))
            agents = pd.read_parquet(io.BytesIO(z.read(f"{folder}/agents.parquet")))
            assert f"steps: {steps}" in z.read(f"{folder}/config.yaml").decode()
        assert len(model) == steps + 1 and agents["step"].max() == steps


def test_whole_run_tests_and_the_ratio_use_one_snapshot(played):
    steps, config, frames = played.snapshot()
    assert steps == 80 and config.steps == 80 and len(frames["model"]) == 81
    tests = panels.whole_run_tests(frames, steps, n_surrogates=10)
    assert set(tests["metric"]) == {f"{m}_{p}" for m in panels.WHOLE_RUN
                                    for p in ("holding", "hotspot", "domains")}  # fmt: skip
    at, ratio = panels.collective_ratio(played)
    assert at == 80 and ratio > 0


def test_tables_are_escaped_html_with_the_selected_row_marked():
    from swarm.apps.dashboard.views import table_html

    frame = pd.DataFrame({"agent": [1, 2], "note": ["<b>x</b>", "y & z"], "q": [0.12345, 1.0]})
    text = table_html(frame, mark=1)
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "y &amp; z" in text and "<b>" not in text
    assert text.count('<tr class="marked">') == 1
    assert '<tr class="marked"><td>2</td>' in text and "<td>0.123</td>" in text
