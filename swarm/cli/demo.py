"""``swarm demo``: the project's main job (grows as the pipeline does)."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli._common import console


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Where results go."),
    seed: int = typer.Option(0, "--seed", help="Seed for everything."),
) -> None:
    """Run the main job and say where each result is."""
    from swarm.demo import run_demo

    for line in run_demo(out, seed=seed):
        console.print(line)
