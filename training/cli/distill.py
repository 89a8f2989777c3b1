"""``swarm distill``: the spec's loop, from a served teacher to the A/B test against it."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import UserError, console, offline_models, user_errors


def distill(
    config: Path = typer.Argument(..., help="The recipe (YAML), e.g. experiments/distill.yaml."),
    out: Path = typer.Option(Path("runs/distill"), "--out", help="Where results go."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild every stage's outputs."),
) -> None:
    """Teacher (trained and served, or hosted) → its transcripts → curated data → the
    student → the table (teacher, student, expert, random) → A/B with Go/No-Go."""
    try:
        import fastapi  # noqa: F401
        import openai  # noqa: F401
    except ImportError:
        raise UserError(
            "swarm distill needs the chat extra: pip install 'swarm-soul[chat]'"
        ) from None
    from training.distill import as_distill, run_distill

    offline_models()
    cfg = as_distill(config)  # a bad key is one line before anything runs
    with user_errors():
        for line in run_distill(cfg, out, rebuild=rebuild):
            console.print(line, markup=False)
