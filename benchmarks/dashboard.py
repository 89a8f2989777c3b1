"""Dashboard benchmark: how fast ``swarm dashboard`` plays, as a browser sees it.

Serves the dashboard on loopback, opens it in headless Chromium (Debian's, driven by
Playwright), sets the speed to "max" and plays for a while, recording in the browser
each change of the step counter and each frame the world chart draws
(:data:`WATCH_JS`, :data:`FRAMES_JS`). Per number of agents (10, 20, 40, 100 on the
default 30x30 world; ``--quick``: 20), on one machine in one run:

* ``steps_per_second``: steps the page shows per second while playing;
* ``frames_per_second``: frames of the world chart drawn per second (each a new step);
* ``model_steps_per_second``: the same model stepped alone in this process (no page);
* ``vs_model_alone``: the first over the third (what drawing costs);
* ``emergence_tab``: the steps per second with 20 agents while the Emergence tab is open
  (its report, nulls included, is recomputed every 10 steps).

The browser test (``tests/swarm/test_dashboard.py``) uses the same helpers at the default
speed cap of 10 steps a second.

    python -m benchmarks.dashboard [--quick] [--json] [--seconds S] [--policy lm:PATH]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks._common import emit, parser, positive

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Headless, and kept off the network (no background fetches, updates or sync).
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

#: The page's ECharts instances, found through the module loader the charts came from.
CHARTS_JS = """() => {
  const req = window.requirejs;
  const defined = req ? req.s.contexts._.defined : {};
  const ec = Object.values(defined).find(m => m && m.getInstanceByDom);
  if (!ec) return [];
  return [...document.querySelectorAll('.solara-echarts')]
    .map(el => ec.getInstanceByDom(el)).filter(c => c);
}"""

#: Records, in the browser, every change of the step counter: [milliseconds, step].
WATCH_JS = """() => {
  window.stepLog = [];
  const read = () => {
    const el = [...document.querySelectorAll('b')].find(b => b.textContent.startsWith('Step: '));
    return el ? parseInt(el.textContent.slice(6)) : null;
  };
  let last = read();
  const obs = new MutationObserver(() => {
    const s = read();
    if (s !== null && s !== last) { last = s; window.stepLog.push([performance.now(), s]); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
}"""

#: Records each frame the world chart draws: [milliseconds, the step in its title].
FRAMES_JS = """() => {
  window.frameLog = [];
  const world = (CHARTS)().find(c => c.getOption().title[0].text.startsWith('step '));
  if (!world) return;  // another tab: no world chart to count
  world.on('finished', () => {
    const step = parseInt(world.getOption().title[0].text.slice(5));
    const log = window.frameLog;
    if (!log.length || log[log.length - 1][1] !== step) log.push([performance.now(), step]);
  });
}""".replace("CHARTS", CHARTS_JS)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(config_text: str, workdir: Path):
    """``swarm dashboard`` on a free loopback port for a run config (YAML text); yields
    its URL and stops it on exit (its log is ``workdir/server.log``)."""
    config = workdir / "run.yaml"
    config.write_text(config_text)
    port = free_port()
    log_path = workdir / "server.log"
    with open(log_path, "w") as log:
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
                raise RuntimeError(f"the dashboard did not start: {log_path.read_text()}")
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def open_page(browser, url: str, height: int = 1150):
    """A page on the dashboard, once its charts are drawn."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1500, "height": height}, accept_downloads=True)
    page.goto(url, wait_until="networkidle")
    expect(page.get_by_text("Step: 0")).to_be_visible(timeout=60_000)
    page.wait_for_function(f"({CHARTS_JS})().length >= 4", timeout=30_000)
    return page


def _rate(log) -> float:
    (t0, s0), (t1, s1) = log[0], log[-1]
    return (s1 - s0) / ((t1 - t0) / 1000)


def play_and_measure(page, seconds: float) -> dict:
    """Play for ``seconds`` (after 2 s to warm up), pause, and return what the browser
    saw: ``steps_per_second``, ``frames_per_second``, ``frames_drawn``, ``last_step``
    (the frames are the World tab's; None on another tab)."""
    page.get_by_role("button", name="▶ Play").click()
    page.wait_for_timeout(2000)
    page.evaluate(WATCH_JS)
    page.evaluate(FRAMES_JS)
    page.wait_for_timeout(int(seconds * 1000))
    steps, frames = page.evaluate("[window.stepLog, window.frameLog]")
    page.get_by_role("button", name="❚❚ Pause").click()
    page.wait_for_timeout(1000)
    if len(steps) < 3 or (frames and len(frames) < 3):
        raise RuntimeError(f"the page barely moved: {len(steps)} steps, {len(frames)} frames")
    return {
        "steps_per_second": round(_rate(steps), 2),
        "frames_per_second": round(_rate(frames), 2) if frames else None,
        "frames_drawn": len(frames),
        "last_step": int(steps[-1][1]),
    }


def choose_speed(page, speed: str) -> None:
    page.get_by_role("button", name="speed (steps / s)").click()
    page.get_by_role("option", name=speed, exact=True).click()
    page.wait_for_timeout(500)


def model_alone(n_agents: int, steps: int, seed: int, policy: str = "heuristic") -> float:
    """Steps per second of the same model stepped in this process, without a page."""
    from swarm.model import SwarmModel

    model = SwarmModel(n_agents=n_agents, policy=policy, rng=seed)
    t = time.perf_counter()
    for _ in range(steps):
        model.step()
    return steps / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--seconds", type=positive, default=10, help="seconds of play per size")
    p.add_argument("--policy", default="heuristic", help="the agents' policy (e.g. lm:PATH)")
    args = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    sizes = (20,) if args.quick else (10, 20, 40, 100)
    seconds = min(args.seconds, 6) if args.quick else args.seconds
    rows = []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for n in sizes:
            config = f"seed: {args.seed}\nmodel: {{n_agents: {n}, policy: '{args.policy}'}}\n"
            with serve(config, Path(tmp)) as url:
                page = open_page(browser, url)
                choose_speed(page, "max")
                seen = play_and_measure(page, seconds)
                page.close()
            alone = model_alone(n, max(seen["last_step"], 50), args.seed, args.policy)
            rows.append(
                {
                    "n_agents": n,
                    **seen,
                    "model_steps_per_second": round(alone, 1),
                    "vs_model_alone": round(seen["steps_per_second"] / alone, 4),
                }
            )
            print(rows[-1], file=sys.stderr)
        # the Emergence tab recomputes its report (with nulls) every 10 steps while playing
        config = f"seed: {args.seed}\nmodel: {{n_agents: 20, policy: '{args.policy}'}}\n"
        with serve(config, Path(tmp)) as url:
            page = open_page(browser, url)
            choose_speed(page, "max")
            page.get_by_role("tab", name="Emergence").click()
            page.wait_for_timeout(1000)
            emergence = {"n_agents": 20, "tab": "Emergence", **play_and_measure(page, seconds)}
            page.close()
        print(emergence, file=sys.stderr)
        browser.close()
    result = {"benchmark": "dashboard", "policy": args.policy, "seconds": seconds, "runs": rows,
              "emergence_tab": emergence}  # fmt: skip
    emit(result | {"world": "30x30"}, args.json)


if __name__ == "__main__":
    main()
