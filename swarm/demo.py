"""The main job behind ``make demo``.

Now: the swarm with the expert policy next to its no-traces ablation and random, on the
same seeds; a comparison table (mean and 95 % CI over seeds) and plots; then the
swarm-vs-single-agent benchmark over 10 seeds (:mod:`swarm.bench`). Later issues add
curation, training, the fine-tuned policy, evaluation and A/B testing in front of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from swarm.analysis import summarise, to_markdown
from swarm.config import ModelParams, RunConfig
from swarm.io import atomic_write_text, write_parquet
from swarm.plots import comparison_figure, save_figure
from swarm.runner import simulate

POLICIES = ("heuristic", "no-traces", "random")
METRICS = (
    "completed",
    "completion_rate",
    "conflict_rate",
    "handoff_success_rate",
    "mean_quality",
    "mean_xp",
)


def final_metrics(model_df: pd.DataFrame) -> dict[str, float]:
    last = model_df.iloc[-1]
    done, failed = float(last["completed"]), float(last["failed"])
    return {
        "completed": done,
        "completion_rate": done / (done + failed) if done + failed else float("nan"),
        "conflict_rate": float(last["conflict_rate"]),
        "handoff_success_rate": float(last["handoff_success_rate"]),
        "mean_quality": float(last["mean_quality"]),
        "mean_xp": float(last["mean_xp"]),
    }


def compare_policies(
    out: Path,
    *,
    policies=POLICIES,
    seeds=(0, 1, 2),
    steps: int = 300,
    n_agents: int = 20,
    souls_for: str | None = "heuristic",
) -> pd.DataFrame:
    """Run each policy on the same seeds; write ``comparison.{csv,md,png}`` and the
    per-step frames to ``out``; return the summary table."""
    out = Path(out)
    finals, frames = [], []
    for policy in policies:
        for seed in seeds:
            souls = str(out / "souls") if (policy == souls_for and seed == seeds[0]) else None
            cfg = RunConfig(
                seed=seed,
                steps=steps,
                model=ModelParams(n_agents=n_agents, policy=policy, souls=souls),
            )
            res = simulate(cfg)
            finals.append({"policy": policy, "seed": seed, **final_metrics(res.model_df)})
            frames.append(res.model_df.assign(policy=policy, seed=seed))
    runs = pd.concat(frames, ignore_index=True)
    write_parquet(runs, out / "comparison_steps.parquet")
    finals_df = pd.DataFrame(finals)
    write_parquet(finals_df, out / "comparison_runs.parquet")
    table = summarise(finals_df, "policy", METRICS)
    atomic_write_text(out / "comparison.csv", table.to_csv(index=False))
    atomic_write_text(out / "comparison.md", to_markdown(table, "policy", METRICS))
    save_figure(comparison_figure(runs, "completed"), out / "comparison_completed.png")
    save_figure(comparison_figure(runs, "conflict_rate"), out / "comparison_conflicts.png")
    save_figure(comparison_figure(runs, "mean_xp"), out / "comparison_xp.png")
    return table


def run_demo(out: Path, *, seed: int = 0, workers: int = 2) -> Iterator[str]:
    """Run the demo into ``out``; yields lines saying what was written where."""
    from swarm.bench import BenchConfig, swarm_vs_single

    out = Path(out)
    seeds = (seed, seed + 1, seed + 2)
    yield f"comparing {', '.join(POLICIES)} over seeds {list(seeds)} (20 agents, 300 steps)"
    compare_policies(out, seeds=seeds)
    yield (out / "comparison.md").read_text()
    yield f"table: {out / 'comparison.csv'} and {out / 'comparison.md'}"
    yield f"plots: {out}/comparison_completed.png, comparison_conflicts.png, comparison_xp.png"
    yield f"per-step data: {out / 'comparison_steps.parquet'}"
    yield f"souls of the expert swarm: swarm soul list --store {out / 'souls'}"

    bench = out / "swarm_vs_single"
    cfg = BenchConfig(seeds=10, first_seed=seed)
    yield (
        f"swarm vs single agent: {cfg.seeds} seeds, {cfg.n_agents} agents, {cfg.steps} steps "
        "(alone, independent, swarm, ablations, compute-matched)"
    )
    swarm_vs_single(bench, cfg, workers=workers)
    yield (bench / "table.md").read_text()
    yield f"table: {bench / 'table.csv'} and {bench / 'table.md'}; plots: {bench}/bench_*.png"
