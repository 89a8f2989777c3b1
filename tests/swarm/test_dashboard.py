"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against
``swarm dashboard`` served on loopback. A screenshot per tab and the measured speed are
kept in ``test-artifacts/``."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.dashboard import (
    CHARTS_JS,
    CHROMIUM,
    FLAGS,
    open_page,
    play_and_measure,
    serve,
)
from swarm.apps.dashboard.panels import indicators

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def server(tmp_path):
    with serve("seed: 3\nmodel: {n_agents: 20}\n", tmp_path) as url:
        yield url


def _open_tab(page, name: str) -> None:
    """Open a tab (a click that lands while the page re-renders is tried again)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    tab = page.get_by_role("tab", name=name)
    for _ in range(3):
        tab.click()
        try:
            expect(tab).to_have_attribute("aria-selected", "true", timeout=5_000)
            return
        except (AssertionError, PlaywrightTimeout):
            continue
    raise AssertionError(f"the {name} tab does not open")


def _shot(page, name: str) -> Path:
    ARTEFACTS.mkdir(exist_ok=True)
    shot = ARTEFACTS / f"dashboard-{name}.png"
    # the page scrolls inside the app's container: show it whole in a viewport that tall
    size = page.viewport_size
    tall = page.evaluate(
        "Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(tall, 4000))})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size(size)
    page.wait_for_timeout(500)
    assert shot.stat().st_size > 10_000
    return shot


@pytest.mark.slow
def test_dashboard_tabs_agent_click_export_and_speed_in_chromium(server, tmp_path):
    import zipfile

    import pandas as pd
    from playwright.sync_api import expect, sync_playwright

    from swarm.apps.dashboard.export import EXPORT_FILES
    from swarm.config import load_config

    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = open_page(browser, server)
        for name in ("World", "Emergence", "Souls", "Decisions"):
            expect(page.get_by_role("tab", name=name)).to_be_visible()
        expect(page.get_by_text("task rate:")).to_be_visible()
        expect(page.get_by_text("0.80 tasks / step")).to_be_visible()  # values with units
        # the world chart spans the whole 30 x 30 grid, on the channel's fixed colour scale
        axes = page.evaluate(f"""() => {{
            const c = ({CHARTS_JS})().find(c => c.getOption().title[0].text.startsWith('step'));
            const o = c.getOption();
            return [o.xAxis[0].data.length, o.yAxis[0].data.length, o.visualMap[0].text[0]];
        }}""")
        assert axes == [30, 30, "5 (cap)"]

        speed = play_and_measure(page, 10)  # at the default speed cap: 10 steps / s
        ARTEFACTS.mkdir(exist_ok=True)
        (ARTEFACTS / "dashboard-speed.json").write_text(json.dumps({"n_agents": 20, **speed}))
        print("dashboard, 20 agents:", speed)
        assert speed["steps_per_second"] >= 5 and speed["frames_per_second"] >= 5, speed

        # a click on an agent selects it
        target = page.evaluate(f"""() => {{
            const c = ({CHARTS_JS})().find(c => c.getOption().title[0].text.startsWith('step'));
            const series = c.getOption().series;
            // an agent alone in its cell (agents may share one; a click picks the top one)
            const agents = series.flatMap((s, k) => s.type === 'scatter'
                ? s.data.filter(d => d.id).map(d => [k, d]) : []);
            const key = d => d.value.join(',');
            const [k, item] = agents.find(([_, d]) =>
                agents.filter(([__, e]) => key(e) === key(d)).length === 1);
            const [x, y] = c.convertToPixel({{seriesIndex: k}}, item.value);
            const box = c.getDom().getBoundingClientRect();
            return {{id: item.id, x: box.left + x, y: box.top + y}};
        }}""")
        page.mouse.click(target["x"], target["y"])
        expect(page.get_by_text(f"Selected: agent {target['id']}")).to_be_visible(timeout=20_000)
        _shot(page, "world")

        _open_tab(page, "Emergence")
        expect(page.get_by_text("Regime.")).to_be_visible(timeout=30_000)
        wanted = [i.title for i in indicators("claim")]
        page.wait_for_function(  # every indicator's chart is drawn (they load one by one)
            f"""(wanted) => {{
                const titles = ({CHARTS_JS})().map(c => c.getOption().title[0].text);
                return wanted.every(t => titles.includes(t));
            }}""",
            arg=wanted,
            timeout=30_000,
        )
        expect(page.get_by_text("How much knowing who did a unit of work")).to_be_visible()
        page.get_by_role("button", name="Test the run so far").click()
        expect(page.get_by_text("psi_holding")).to_be_visible(timeout=60_000)
        _shot(page, "emergence")

        _open_tab(page, "Souls")
        expect(page.get_by_text(f"Selected: agent {target['id']}")).to_be_visible(timeout=20_000)
        expect(page.get_by_text("adaptabilityScore").first).to_be_visible()
        _shot(page, "souls")

        _open_tab(page, "Decisions")
        expect(page.get_by_text(f"Agent {target['id']}, step")).to_be_visible(timeout=20_000)
        expect(page.get_by_text("Latest synthesis decisions")).to_be_visible()
        _shot(page, "decisions")

        # one click exports the run
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name="Export run").click()
        archive = tmp_path / "export.zip"
        download.value.save_as(archive)
        browser.close()
    with zipfile.ZipFile(archive) as z:
        names = {Path(n).name: n for n in z.namelist()}
        assert set(names) == set(EXPORT_FILES)
        z.extractall(tmp_path / "export")
    run = tmp_path / "export" / Path(names["config.yaml"]).parent
    config = load_config(run / "config.yaml")
    model = pd.read_parquet(run / "model.parquet")
    assert config.model.n_agents == 20 and config.seed == 3
    assert len(model) == config.steps + 1 > 20
    assert len(pd.read_parquet(run / "souls.parquet")) == 20
    assert all((run / f).stat().st_size > 5_000 for f in EXPORT_FILES if f.endswith(".png"))


def test_dashboard_refuses_a_bad_config(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {policy: nope}\n")
    code, _, err = cli("dashboard", "--config", str(bad))
    assert code == 2 and "model.policy" in err
    bad.write_text("model: {agents: 3}\n")
    code, _, err = cli("dashboard", "--config", str(bad))
    assert code == 2 and "unknown key 'model.agents'" in err


def test_the_server_is_started_without_telemetry_or_a_version_check(tmp_path):
    from swarm.cli.dashboard import server_command

    cmd, env = server_command("127.0.0.1", 8765, None)
    assert "--no-check-version" in cmd and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    code = "from solara.server import settings; print(settings.telemetry.mixpanel_enable)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "False", out.stderr
