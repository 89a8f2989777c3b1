"""``swarm demo``: the project's main job, from training data to agents."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import console, offline_models


def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Where results go."),
    seed: int = typer.Option(0, "--seed", help="Seed for everything."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild data and models."),
) -> None:
    """Curate → base model → fine-tune → the swarm with each policy; say where each
    result is."""
    from training.demo import run_demo

    offline_models()
    for line in run_demo(out, seed=seed, rebuild=rebuild):
        console.print(line)
