"""``swarm sweep``: a parameter sweep from a YAML config, local or on Ray, resumable."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import UserError, console


def sweep(
    config: Path = typer.Argument(..., help="Sweep config (YAML): model, seeds, steps, metrics."),
    out: Path = typer.Option(..., "--out", help="Directory for runs/ and results.parquet."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Parallel runs (local: processes; ray: CPUs)."
    ),
) -> None:
    """Run a sweep (or resume one: finished runs are skipped)."""
    from swarm.experiments.sweep import run_sweep

    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be 'local' or 'ray', got {executor!r}")
    results = run_sweep(config, out, executor=executor, workers=workers, progress=True)
    failed = results[results["status"] != "ok"]
    console.print(f"{len(results)} runs, {len(failed)} failed: {out / 'results.parquet'}")
    for _, row in failed.iterrows():
        console.print(f"  run {row['run_id']} (seed {row['seed']}): {row['error']}")
    if len(failed):  # a script must not take a sweep with failed runs for a finished one
        console.print("rerun the same command to retry the failed runs")
        raise typer.Exit(1)
