"""``swarm report``: a self-contained HTML page from a run or sweep directory."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import console, user_errors


def report(
    run_dir: Path = typer.Argument(..., help="Output of `swarm run` or `swarm sweep`."),
    out: Path | None = typer.Option(None, "--out", help="HTML file (default RUN_DIR/report.html)."),
) -> None:
    """Emergence over time, trace heat-map snapshots, soul levels and the summary table."""
    from swarm.apps.html_report import write_report

    with user_errors():
        path = write_report(run_dir, out)
    console.print(f"report: {path}")
