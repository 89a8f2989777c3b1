"""Policies side by side: the same swarm, the same seeds, one policy at a time; a
comparison table (mean and 95 % CI over seeds) and plots. The main job
(:mod:`training.demo`) ends with it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from swarm.analysis.plots import comparison_figure, save_figure
from swarm.analysis.summary import summarise, summary_markdown
from swarm.config import ModelParams, RunConfig
from swarm.experiments.runs import run_config
from swarm.io import atomic_write_text, write_parquet
from swarm.metrics import final_metrics

DEFAULT_POLICIES = ("heuristic", "no-traces", "random")
METRICS = (
    "completed",
    "completion_rate",
    "conflict_rate",
    "handoff_success_rate",
    "mean_quality",
    "mean_xp",
)


def compare_policies(
    out: Path,
    *,
    policies: Sequence[str] | Mapping[str, str] = DEFAULT_POLICIES,
    seeds=(0, 1, 2),
    steps: int = 300,
    n_agents: int = 20,
    souls_for: str | None = "heuristic",
) -> pd.DataFrame:
    """Run each policy on the same seeds; write ``comparison.{csv,md,png}`` and the
    per-step frames to ``out``; return the summary table. ``policies`` is a list of
    policy names, or a mapping from a label to a policy name (e.g. ``lm:PATH``).

    The ``souls_for`` policy's first run keeps its souls in ``out/souls``, started afresh
    on every call: souls persist between runs, so a store left by an earlier call would
    change this one's numbers."""
    out = Path(out)
    shutil.rmtree(out / "souls", ignore_errors=True)
    if not isinstance(policies, Mapping):
        policies = {p: p for p in policies}
    finals, frames = [], []
    for policy, spec in policies.items():
        for seed in seeds:
            souls = str(out / "souls") if (policy == souls_for and seed == seeds[0]) else None
            cfg = RunConfig(
                seed=seed,
                steps=steps,
                model=ModelParams(n_agents=n_agents, policy=spec, souls=souls),
            )
            res = run_config(cfg)
            finals.append({"policy": policy, "seed": seed, **final_metrics(res.model_df, METRICS)})
            frames.append(res.model_df.assign(policy=policy, seed=seed))
    runs = pd.concat(frames, ignore_index=True)
    write_parquet(runs, out / "comparison_steps.parquet")
    finals_df = pd.DataFrame(finals)
    write_parquet(finals_df, out / "comparison_runs.parquet")
    table = summarise(finals_df, "policy", METRICS)
    atomic_write_text(out / "comparison.csv", table.to_csv(index=False))
    atomic_write_text(out / "comparison.md", summary_markdown(table, "policy", METRICS))
    save_figure(comparison_figure(runs, "completed"), out / "comparison_completed.png")
    save_figure(comparison_figure(runs, "conflict_rate"), out / "comparison_conflicts.png")
    save_figure(comparison_figure(runs, "mean_xp"), out / "comparison_xp.png")
    return table
