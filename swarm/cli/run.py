"""``swarm run``: one simulation, written to a directory."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from soul.files import exclusive_beside
from swarm.cli.common import console, user_errors
from swarm.config import RunConfig, load_config, validate


def run(
    out: Path = typer.Option(..., "--out", help="Directory for the results."),
    config: Path | None = typer.Option(None, "--config", help="A run config (YAML)."),
    agents: int | None = typer.Option(None, "--agents", min=1, help="Number of agents."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Steps to simulate."),
    policy: str | None = typer.Option(None, "--policy", help="heuristic, no-traces, random…"),
    seed: int | None = typer.Option(None, "--seed", help="Seed for everything."),
) -> None:
    """Run one simulation; write model.parquet, agents.parquet, config.yaml, summary.png."""
    from swarm.experiments.runs import RUN_OUTPUTS, run_config, write_run
    from swarm.io import check_outputs_dir
    from swarm.metrics import SUMMARY_METRICS
    from swarm.policies import check_policy

    cfg = load_config(config) if config else RunConfig()
    data = cfg.model_dump()
    if agents is not None:
        data["model"]["n_agents"] = agents
    if policy is not None:
        data["model"]["policy"] = policy
    if steps is not None:
        data["steps"] = steps
    if seed is not None:
        data["seed"] = seed
    cfg = validate(RunConfig, data, "options")
    with user_errors(f"--policy {cfg.model.policy!r}: "):
        check_policy(cfg.model.policy)
    with user_errors("--out "):
        check_outputs_dir(out, RUN_OUTPUTS.values(), "swarm run")  # before simulating
    # Two runs into one --out: the second is refused at once (its outputs go in whole).
    with exclusive_beside(out, "the run directory"):
        with user_errors("bad model parameters: "):
            result = run_config(cfg, progress=True)
        with user_errors("--out "):
            paths = write_run(result, cfg, out)
    last = result.model_df.iloc[-1]
    table = Table("metric", "value", title=f"swarm run ({cfg.steps} steps, seed {cfg.seed})")
    for key in SUMMARY_METRICS:
        v = last[key]
        table.add_row(key, f"{v:.3f}" if isinstance(v, float) else str(v))
    console.print(table)
    for name, path in paths.items():
        console.print(f"{name}: {path}")
