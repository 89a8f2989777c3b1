"""``swarm bench``: research benchmarks (swarm vs single agent)."""

from __future__ import annotations

from pathlib import Path

import typer

from swarm.cli.common import UserError, console, user_errors

bench_app = typer.Typer(help="Research benchmarks.", no_args_is_help=True)


@bench_app.command("swarm-vs-single")
def swarm_vs_single(
    out: Path = typer.Option(..., "--out", help="Directory for runs, table.{csv,md}, plots."),
    policy: str | None = typer.Option(None, "--policy", help="heuristic, random, lm:PATH…"),
    seeds: int | None = typer.Option(None, "--seeds", min=1, help="Seeds (default 10)."),
    agents: int | None = typer.Option(None, "--agents", min=2, help="Swarm size N."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Steps per run."),
    primary: str | None = typer.Option(
        None, "--primary", help="The primary metric of the paired table (default throughput)."
    ),
    config: Path | None = typer.Option(None, "--config", help="Benchmark settings (YAML)."),
    executor: str = typer.Option("local", "--executor", help="local or ray."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Parallel runs."),
) -> None:
    """Agents alone (two loads), uncoordinated, private-memory, random and independent-vote
    baselines, the swarm, its ablations and a compute-matched agent, on the same worlds;
    mean and 95 % CI per condition, and paired differences against the swarm."""
    from swarm.config import load_config, validate
    from swarm.experiments.swarm_vs_single import BenchConfig
    from swarm.experiments.swarm_vs_single import swarm_vs_single as run_bench
    from swarm.policies import check_policy

    if executor not in ("local", "ray"):
        raise UserError(f"--executor must be 'local' or 'ray', got {executor!r}")
    cfg = load_config(config, BenchConfig) if config else BenchConfig()
    options = {
        "policy": policy,
        "seeds": seeds,
        "n_agents": agents,
        "steps": steps,
        "primary": primary,
    }
    data = cfg.model_dump(exclude_unset=True) | {k: v for k, v in options.items() if v is not None}
    cfg = validate(BenchConfig, data, "options")
    with user_errors(f"--policy {cfg.model.policy!r}: "):
        check_policy(cfg.model.policy)
    run_bench(out, cfg, executor=executor, workers=workers, progress=True)
    console.print((out / "table.md").read_text(), markup=False)
    console.print((out / "paired.md").read_text(), markup=False)
    console.print(
        f"table: {out / 'table.csv'}, {out / 'table.md'}; paired against {cfg.reference}: "
        f"{out / 'paired.csv'}, {out / 'paired.md'}; per seed: {out / 'per_seed.csv'}"
    )
    console.print(f"plots: {out}/bench_output.png, bench_coordination.png, bench_decisions.png")


@bench_app.command("soul-persistence")
def soul_persistence(
    out: Path = typer.Option(..., "--out", help="Directory for per_episode.csv, paired.{csv,md}."),
    config: Path | None = typer.Option(None, "--config", help="Settings (YAML)."),
    seeds: int | None = typer.Option(None, "--seeds", min=2, help="Chains (default 10)."),
    episodes: int | None = typer.Option(None, "--episodes", min=2, help="Runs per chain."),
    steps: int | None = typer.Option(None, "--steps", min=1, help="Steps per run."),
    workers: int = typer.Option(1, "--workers", min=1, help="Chains run in parallel."),
    quick: bool = typer.Option(False, "--quick", help="3 chains of 2 episodes of 100 steps."),
    as_json: bool = typer.Option(False, "--json", help="Only the JSON line."),
) -> None:
    """Souls carried across a chain of runs against fresh souls on the same worlds:
    per episode, carried − fresh paired over seeds; the last line is a JSON object."""
    import json

    from swarm.config import load_config, validate
    from swarm.experiments.persistence import PersistenceConfig, summary
    from swarm.experiments.persistence import soul_persistence as run_experiment

    cfg = load_config(config, PersistenceConfig) if config else PersistenceConfig()
    options = {"seeds": seeds, "episodes": episodes, "steps": steps}
    if quick:
        options = {"seeds": 3, "episodes": 2, "steps": 100} | {
            k: v for k, v in options.items() if v is not None
        }
    data = cfg.model_dump(exclude_unset=True) | {k: v for k, v in options.items() if v is not None}
    cfg = validate(PersistenceConfig, data, "options")
    _, paired = run_experiment(out, cfg, workers=workers)
    if not as_json:
        console.print((out / "paired.md").read_text(), markup=False)
        console.print(f"per episode: {out / 'per_episode.csv'}; paired: {out / 'paired.csv'}")
    print(json.dumps(summary(paired)))
