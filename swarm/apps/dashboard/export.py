"""Export the page's run in one click: a zip of the run directory ``swarm run --out``
writes (``config.yaml`` to reproduce it, the frames as Parquet, ``summary.png``; so
``swarm report`` reads it), plus ``souls.parquet`` and a PNG of each panel
(:data:`PANELS`)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

from swarm.analysis import plots
from swarm.analysis.emergence_report import COLUMNS
from swarm.experiments.runs import RUN_OUTPUTS, RunResult, write_run
from swarm.io import write_parquet
from swarm.metrics import agents_frame, model_frame, table_frame

from .panels import indicators, live_report, souls_frame
from .session import Session

#: The panels exported as PNG, one file each.
PANELS = ("world.png", "timeseries.png", "emergence.png", "souls.png", "decisions.png")
#: Every file in an export.
EXPORT_FILES = (*RUN_OUTPUTS.values(), "souls.parquet", *PANELS)


def export_files(session: Session, out: Path) -> list[Path]:
    """Write :data:`EXPORT_FILES` for ``session``'s run into ``out`` (a run directory)."""
    model = session.model
    model_df = model_frame(model)
    write_run(RunResult(model, model_df, agents_frame(model)), session.run_config(), out)
    write_parquet(souls_frame(model), out / "souls.parquet")
    figures = {
        "world.png": plots.grid_figure(model, session.channel),
        "timeseries.png": plots.summary_figure(model_df, title=f"step {model.steps}"),
        "souls.png": plots.level_figure(model.level_names),
        "decisions.png": plots.decision_quality_figure(table_frame(model, "decisions")),
    }
    report = live_report(model) if model.steps >= 2 else pd.DataFrame(columns=COLUMNS)
    wanted = [i.metric for i in indicators(session.channel)]
    figures["emergence.png"] = plots.emergence_figure(report, wanted)
    for name, fig in figures.items():
        plots.save_figure(fig, out / name)
    return [out / name for name in EXPORT_FILES]


def export_zip(session: Session) -> bytes:
    """The export as a zip (its files under ``swarm-step-<N>/``), for a download. The run
    is held still while it is written (the session's lock); before the first step there
    is nothing to export (a ValueError)."""
    buf = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, session.lock:
        if session.model.steps == 0:
            raise ValueError("nothing to export before the first step")
        folder = f"swarm-step-{session.model.steps}"
        files = export_files(session, Path(tmp) / folder)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f"{folder}/{f.name}")
    return buf.getvalue()
