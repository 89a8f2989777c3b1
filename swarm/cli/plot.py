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
    paired: str | None = typer.Option(
        None,
        "--paired",
        help="A condition of the sweep's compare block: heat maps of its paired "
        "difference from the reference (paired.csv), with CIs.",
    ),
    facet: str | None = typer.Option(
        None, "--facet", help="With --paired: a third parameter, one panel per value."
    ),
    absolute: bool = typer.Option(
        False, "--absolute", help="With --paired: the difference itself, not % of reference."
    ),
    reverse: bool = typer.Option(
        False, "--reverse", help="With --paired: reference − condition (what it adds)."
    ),
) -> None:
    """Plot a metric of a sweep against one parameter, or as a heat map over two; with
    --paired, a condition's paired difference from the reference over two parameters."""
    import pandas as pd

    from swarm.analysis.plots import paired_heatmap, save_figure, sweep_figure

    if paired is not None:
        if y is None:
            raise UserError("--paired needs --x and --y (the heat map's axes)")
        path = _input(results, "paired.csv", " (a sweep with a compare block writes it)")
        try:
            table = pd.read_csv(path)
            fig = paired_heatmap(
                table, x, y, metric, paired, facet, relative=not absolute, reverse=reverse
            )
        except (KeyError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            why = exc.args[0] if isinstance(exc, KeyError) else "not a paired table"
            raise UserError(f"{path}: {why}") from None
        console.print(f"figure: {save_figure(fig, out)}")
        return
    if facet is not None:
        raise UserError("--facet goes with --paired")
    path = _input(results, "results.parquet")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise UserError(f"{path}: not a results table ({type(exc).__name__})") from None
    try:
        fig = sweep_figure(df, x, metric, y)
    except KeyError as exc:
        raise UserError(f"{path}: {exc.args[0]}") from None
    console.print(f"figure: {save_figure(fig, out)}")


def _input(results: Path, name: str, hint: str = "") -> Path:
    """``results`` itself, or ``results/name`` when it is a directory; it must exist."""
    path = results / name if results.is_dir() else results
    if not path.exists():
        raise UserError(f"{path}: no such file{hint}")
    return path
