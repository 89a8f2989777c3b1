"""``swarm improve``: rounds of outcome labels, DPO and paired evaluation."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import UserError, console, offline_models, user_errors


def improve(
    config: Path = typer.Argument(
        ..., help="The rounds' config (YAML), e.g. experiments/improve.yaml."
    ),
    out: Path = typer.Option(..., "--out", help="Where the rounds and summary.json go."),
    rounds: int = typer.Option(None, "--rounds", min=1, help="Rounds (default: the config's)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Redo rounds already done."),
) -> None:
    """Label the student's closed-loop decisions by counterfactual rollout, train on them
    by DPO, evaluate against the expert on paired held-out worlds; keep what helps."""
    try:
        import trl  # noqa: F401
    except ImportError:
        raise UserError(
            "swarm improve needs the improve extra: pip install 'swarm-soul[improve]'"
        ) from None
    from training.improve.config import as_improve
    from training.improve.rounds import run_improve

    offline_models()
    cfg = as_improve(config)  # a bad key is one line before anything runs
    with user_errors():
        for line in run_improve(cfg, out, rounds=rounds, rebuild=rebuild):
            console.print(line, markup=False)
