"""``swarm plot``: a figure from a sweep's ``results.parquet``."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import UserError, console


def plot(
    results: Path = typer.Argument(..., help="A sweep's results.parquet (or its directory)."),
    x: str = typer.Option(..., "--x", help="Parameter on the x axis."),
    metric: str = typer.Option(..., "--metric", help="Metric to show."),
    y: str | None = typer.Option(None, "--y", help="Second parameter: draws a heat map."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
) -> None:
    """Plot a metric of a sweep against one parameter, or as a heat map over two."""
    import pandas as pd

    from swarm.analysis.plots import save_figure, sweep_figure

    path = results / "results.parquet" if results.is_dir() else results
    if not path.exists():
        raise UserError(f"{path}: no such file")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise UserError(f"{path}: not a results table ({type(exc).__name__})") from None
    try:
        fig = sweep_figure(df, x, metric, y)
    except KeyError as exc:
        raise UserError(f"{path}: {exc.args[0]}") from None
    console.print(f"figure: {save_figure(fig, out)}")
