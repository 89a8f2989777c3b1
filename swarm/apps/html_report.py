"""``swarm report RUN_DIR``: a self-contained HTML page (PNG figures inlined) from the
output of ``swarm run`` or ``swarm sweep``.

For a run: the summary table, emergence metrics over time
(:func:`swarm.analysis.emergence_report.emergence_report`), the run's summary plots, the
soul-level
distribution at the last step, and trace heat-map snapshots. Trace fields are not stored
with a run; the snapshots come from re-running its config (same seed, so the same world)
and the page says whether the re-run matched the recorded run. For a sweep: the table of
metrics per parameter setting (mean over seeds), each metric against the first swept
parameter, emergence metrics over time per setting, and trace snapshots of the first run.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from swarm.io import atomic_write_text

SNAPSHOTS = 4


def _png(fig) -> str:
    from swarm.analysis.plots import _plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _img(fig, caption: str) -> str:
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{_png(fig)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def kind_of(path: Path) -> str:
    """``run`` or ``sweep``; a ValueError naming the directory otherwise."""
    if (path / "model.parquet").exists() and (path / "config.yaml").exists():
        return "run"
    if (path / "results.parquet").exists() and (path / "sweep.json").exists():
        return "sweep"
    raise ValueError(
        f"{path}: not a `swarm run` (model.parquet, config.yaml) or `swarm sweep` "
        "(results.parquet, sweep.json) output directory"
    )


def snapshots(params: dict[str, Any], seed: int, steps: int, channel: str = "explored"):
    """Re-run ``params`` with ``seed``; yield ``(step, figure)`` at evenly spaced steps and
    finally ``(steps, completed)`` to compare with the recorded run."""
    from swarm.analysis.plots import grid_figure
    from swarm.experiments.rollout import rollout
    from swarm.model import SwarmModel

    model = SwarmModel(**{**params, "agent_report_every": 0}, rng=seed)
    marks = {round(steps * (k + 1) / SNAPSHOTS) for k in range(SNAPSHOTS)}
    figs = []

    def snapshot(m, record) -> None:
        if m.steps in marks:
            figs.append((m.steps, grid_figure(m, channel)))

    rollout(model, steps, [snapshot])
    return figs, model.counts.completed


def _snapshot_section(params, seed, steps, recorded_completed) -> list[str]:
    figs, completed = snapshots(params, seed, steps)
    same = recorded_completed is None or int(completed) == int(recorded_completed)
    note = f"Re-run from the config (seed {seed}): {completed} tasks completed" + (
        ", as recorded." if same else f", but the recorded run has {recorded_completed}."
    )
    out = ["<h2>Trace heat maps (explored channel)</h2>", f"<p>{html.escape(note)}</p>"]
    out.append('<div class="row">')
    out += [_img(f, f"step {s}") for s, f in figs]
    out.append("</div>")
    return out


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)


def _run_page(path: Path) -> tuple[str, list[str]]:
    from swarm.analysis.emergence_report import emergence_report
    from swarm.analysis.plots import emergence_figure, level_figure, summary_figure
    from swarm.config import load_config
    from swarm.metrics import SUMMARY_METRICS

    cfg = load_config(path / "config.yaml")
    frames = {
        k: pd.read_parquet(path / f"{k}.parquet") if (path / f"{k}.parquet").exists() else None
        for k in ("model", "agents", "decisions", "work")
    }
    model_df = frames["model"]
    last = model_df.iloc[-1]
    table = pd.DataFrame(
        {"metric": list(SUMMARY_METRICS), "value": [last[m] for m in SUMMARY_METRICS]}
    )
    body = ["<h2>Summary</h2>", _table(table)]
    report = emergence_report(frames, window=max(10, len(model_df) // 10), n_surrogates=100)
    body += ["<h2>Emergence over time</h2>", _img(emergence_figure(report), "emergence metrics")]
    tests = report[(report["null"] != "none") & (report["step"] == report["step"].max())]
    if len(tests):
        cols = ["metric", "value", "null_lo", "null_hi", "p_value", "detected", "null"]
        body += [
            "<h3>Against their nulls (100 surrogates; one-sided p)</h3>",
            _table(tests[cols].round(4)),
        ]
    body.append(_img(summary_figure(model_df, title=""), "throughput, conflicts, XP"))
    agents = frames["agents"]
    if agents is not None and len(agents) and "level" in agents:
        final = agents[agents["step"] == agents["step"].max()]
        body += [
            "<h2>Soul levels</h2>",
            _img(level_figure(final["level"]), f"at step {int(final['step'].iloc[0])}"),
        ]
    params = cfg.model.kwargs()
    params.pop("souls", None)  # a snapshot re-run must not touch the soul store
    body += _snapshot_section(params, cfg.seed, cfg.steps, last["completed"])
    title = f"swarm run: policy {cfg.model.policy}, {cfg.model.n_agents} agents, seed {cfg.seed}"
    return title, body


def _sweep_page(path: Path) -> tuple[str, list[str]]:
    from swarm.analysis.emergence_report import emergence_report
    from swarm.analysis.plots import _plt, sweep_figure

    spec = json.loads((path / "sweep.json").read_text())
    results = pd.read_parquet(path / "results.parquet")
    ok = results[results.get("status", "ok") == "ok"] if "status" in results else results
    swept = [k for k, v in spec["model"].items() if isinstance(v, list)]
    metrics = [m for m in spec.get("metrics", []) if m in ok]
    table = ok.groupby(swept, as_index=False)[metrics].mean() if swept else ok[metrics]
    body = [
        f"<p>{len(results)} runs ({len(ok)} ok), {spec['seeds']} seeds, {spec['steps']} steps; "
        f"swept: {', '.join(swept) or 'nothing'}.</p>",
        "<h2>Metrics per setting (mean over seeds)</h2>",
        _table(table),
    ]
    if swept:
        body.append("<h2>Metrics against " + html.escape(swept[0]) + "</h2>")
        y = swept[1] if len(swept) > 1 else None
        body.append('<div class="row">')
        body += [_img(sweep_figure(ok, swept[0], m, y), m) for m in metrics]
        body.append("</div>")
        runs_dir = path / "runs"
        plt = _plt()
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for value, group in ok.groupby(swept[0]):
            series = []
            for run_id in group["run_id"]:
                f = runs_dir / f"{run_id}.parquet"
                if f.exists():
                    series.append(pd.read_parquet(f).set_index("step")["position_entropy"])
            if series:
                ax.plot(pd.concat(series, axis=1).mean(axis=1), label=f"{swept[0]}={value}")
        ax.set(xlabel="step", ylabel="spatial entropy (mean over runs)")
        ax.legend(fontsize=7)
        body += ["<h2>Emergence over time</h2>", _img(fig, "spatial entropy per setting")]
        first = ok.iloc[0]
        frame = runs_dir / f"{first['run_id']}.parquet"
        if frame.exists():
            rep = emergence_report({"model": pd.read_parquet(frame)}, window=25)
            traces = rep[rep["metric"].str.startswith("trace_entropy_")]
            if len(traces):
                fig, ax = plt.subplots(figsize=(6, 3.5))
                for name, d in traces.groupby("metric"):
                    ax.plot(d["step"], d["value"], label=name.removeprefix("trace_entropy_"))
                ax.set(xlabel="step", ylabel="trace field entropy")
                ax.legend(fontsize=7)
                body.append(_img(fig, f"trace entropy, run {first['run_id']}"))
    first = ok.iloc[0]
    params = {k: first[k] for k in spec["model"] if k in first}
    params = {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}
    body += _snapshot_section(
        params, int(first["seed"]), int(spec["steps"]), first.get("completed")
    )
    return f"swarm sweep: {path.name}", body


CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd}
figure{display:inline-block;margin:6px}img{max-width:540px}
figcaption{font-size:12px;color:#555;text-align:center}.row{display:flex;flex-wrap:wrap}
"""


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of ``run_dir`` (default ``RUN_DIR/report.html``)."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ValueError(f"{path}: no such directory")
    title, body = (_run_page if kind_of(path) == "run" else _sweep_page)(path)
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}'
        f"</title><style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    target = Path(out) if out else path / "report.html"
    atomic_write_text(target, page)
    return target
