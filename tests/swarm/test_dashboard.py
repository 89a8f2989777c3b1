"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against
``swarm dashboard`` served on loopback. The screenshot is kept in ``test-artifacts/``."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and kept off the network (no background fetches, updates or sync).
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
STEP = re.compile(r"^\s*step\s*$", re.I)
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("seed: 3\nmodel: {n_agents: 12}\n")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "swarm.cli", "dashboard", "--config", str(config),
         "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"the dashboard did not start: {(tmp_path / 'server.log').read_text()}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.mark.slow
def test_dashboard_loads_renders_and_steps_in_chromium(server):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "make test installs Debian's chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(server, wait_until="networkidle")
        expect(page.get_by_text("Step: 0")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Swarm lab").first).to_be_visible()
        # the grid (with its channel selector) and the plots are images
        expect(page.get_by_role("button", name="explored")).to_be_visible()
        images = page.locator("img")
        expect(images.nth(3)).to_be_visible(timeout=30_000)
        assert images.count() >= 4
        page.get_by_role("button", name=STEP).click()
        expect(page.get_by_text("Step: 1")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="explored").click()
        page.get_by_role("button", name=STEP).click()
        expect(page.get_by_text("Step: 2")).to_be_visible(timeout=30_000)
        page.get_by_role("tab", name="page 1").click()
        expect(page.get_by_text("Emergence")).to_be_visible(timeout=30_000)
        ARTEFACTS.mkdir(exist_ok=True)
        page.get_by_role("tab", name="page 0").click()
        page.wait_for_timeout(1000)
        shot = ARTEFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000


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
