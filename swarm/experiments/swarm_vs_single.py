"""The swarm-vs-single-agent benchmark: does the swarm beat its agents working alone, and
which of its mechanisms pay?

Every condition runs on the same seeds, and a seed fixes the world: the agents (their
cells and skills) and, through :mod:`swarm.streams`, the task stream, which is the same
in every condition with the swarm's task rate (the ``arrivals`` table is identical). The
conditions (names are part of the spec), for the benchmark's policy P:

=====================  ===============================================================
``alone``              each of the N agents alone (``alone=k``), task load ÷ N (its share);
                       a seed's row sums (output) or averages (rates) its N runs
``alone-full-load``    each of the N agents alone with the swarm's whole task stream
``uncoordinated``      N agents with no traces, no deference (nobody leaves a task to a
                       nearer agent), no direct handoffs, and one member deciding a
                       synthesis (``voting="dictator"``)
``private-memory``     no traces; each agent remembers where it saw open tasks and goes
                       back there (the ``private-memory`` policy, whatever P is)
``random``             the swarm with the ``random`` policy (whatever P is)
``independent-vote``   uncoordinated agents whose synthesis is a plain majority of their
                       independent proposals (``voting="plurality"``)
``swarm``              the full swarm: traces, expertise-weighted votes, learning souls
``no-traces``          the swarm without stigmergy
``plurality``          the swarm voting by plurality
``no-learning``        the swarm whose souls do not learn
``compute-matched``    one agent given N× the steps (task load ÷ N: the swarm's tasks)
=====================  ===============================================================

Per condition, mean and 95 % CI over seeds of: throughput per agent (tasks per agent per 100
steps), completion rate, conflict rate, handoff success, decision quality, novel-solution
rate, and the collective-intelligence ratio against each density baseline: completed ÷ the
summed completions of the same seed's N agents alone with their share of the load
(``collective_intelligence_ratio``), and alone with the whole load
(``collective_intelligence_ratio_full_load``). ``paired.csv`` pairs every condition with
the reference (``swarm``) seed by seed (:mod:`swarm.analysis.paired`). Runs go through
:func:`swarm.experiments.sweep.execute`, so the benchmark resumes and runs in parallel or
on Ray like a sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from soul.files import exclusive
from swarm.analysis.paired import paired_markdown, paired_table
from swarm.analysis.summary import summarise, summary_markdown
from swarm.config import ConfigError
from swarm.experiments.sweep import MAX_RUNS, Executor, RunSpec, execute
from swarm.io import atomic_write_text, write_parquet
from swarm.metrics import completion_rate
from swarm.params import ModelParams

CONDITIONS: tuple[str, ...] = (
    "alone",
    "alone-full-load",
    "uncoordinated",
    "private-memory",
    "random",
    "independent-vote",
    "swarm",
    "no-traces",
    "plurality",
    "no-learning",
    "compute-matched",
)
#: Conditions with one run per agent per seed (a seed's row gathers the N runs).
SOLO: tuple[str, ...] = ("alone", "alone-full-load")
#: Columns of the benchmark table, in order.
METRICS: tuple[str, ...] = (
    "throughput_per_agent",
    "completion_rate",
    "conflict_rate",
    "handoff_success_rate",
    "decision_quality",
    "novel_solution_rate",
    "collective_intelligence_ratio",
    "collective_intelligence_ratio_full_load",
)
#: The metrics of the paired table (the ratios to agents alone are left out: they divide by
#: the same seed's alone totals, so their differences are not paired observations of a run).
PAIRED_METRICS: tuple[str, ...] = METRICS[:-2]
_RUN_METRICS = (
    "completed",
    "failed",
    "conflict_rate",
    "handoff_success_rate",
    "decision_quality",
    "novel_solution_rate",
)
_UNCOORDINATED = {"stigmergy": False, "deference": False, "handoffs": False}
#: The N-agent conditions, as changes to the swarm's parameters.
VARIANTS: dict[str, dict[str, Any]] = {
    "uncoordinated": _UNCOORDINATED | {"voting": "dictator"},
    "private-memory": {"policy": "private-memory", "stigmergy": False},
    "random": {"policy": "random"},
    "independent-vote": _UNCOORDINATED | {"voting": "plurality"},
    "swarm": {},
    "no-traces": {"stigmergy": False},
    "plurality": {"voting": "plurality"},
    "no-learning": {"learn": False},
}


class BenchConfig(BaseModel):
    """Settings of the benchmark (``swarm bench swarm-vs-single --config FILE``): seeds,
    steps, and the swarm's parameters (:class:`swarm.params.ModelParams`, under ``model``;
    its keys may also stand at the top level, as in ``n_agents: 20``)."""

    model_config = ConfigDict(extra="forbid")

    seeds: int = Field(10, ge=1, le=MAX_RUNS)
    first_seed: int = 0
    steps: int = Field(300, ge=1)
    model: ModelParams = Field(default_factory=ModelParams)
    reference: Literal[CONDITIONS] = Field(  # type: ignore[valid-type]
        "swarm", description="the condition every other is paired with"
    )
    primary: Literal[PAIRED_METRICS] = Field(  # type: ignore[valid-type]
        "throughput_per_agent", description="the primary metric"
    )

    @model_validator(mode="before")
    @classmethod
    def _model_keys_at_top(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        top = {k: v for k, v in data.items() if k in ModelParams.model_fields}
        if not top:
            return data
        rest = {k: v for k, v in data.items() if k not in top}
        model = rest.get("model", {})
        if isinstance(model, ModelParams):
            model = model.model_dump(exclude_unset=True)
        if isinstance(model, dict):
            model = {**model, **top}
        return {**rest, "model": model}

    @model_validator(mode="after")
    def _a_swarm(self) -> BenchConfig:
        self.model.named_policy()
        if self.model.n_agents < 2:
            raise ValueError("model.n_agents must be >= 2 (a swarm against its agents alone)")
        return self


def specs(cfg: BenchConfig) -> list[RunSpec]:
    """Every run of the benchmark, labelled by ``condition``."""
    m = cfg.model
    n, rate = m.n_agents, m.rate
    base = {
        **m.model_dump(exclude_unset=True, exclude_none=True),
        "policy": m.policy,
        "n_agents": n,
        "width": m.width,
        "height": m.height,
        "task_rate": rate,
        "voting": m.voting,
        "agent_report_every": 0,
    }
    out: list[RunSpec] = []
    for seed in range(cfg.first_seed, cfg.first_seed + cfg.seeds):
        for k in range(n):
            params = base | {"alone": k, "task_rate": rate / n}
            out.append(_spec(params, seed, cfg.steps, "alone"))
        for k in range(n):
            out.append(_spec(base | {"alone": k}, seed, cfg.steps, "alone-full-load"))
        for name, change in VARIANTS.items():
            out.append(_spec(base | change, seed, cfg.steps, name))
        matched = base | {"alone": seed % n, "task_rate": rate / n}
        out.append(_spec(matched, seed, cfg.steps * n, "compute-matched"))
    return out


def _spec(params: dict[str, Any], seed: int, steps: int, condition: str) -> RunSpec:
    return RunSpec(params, seed, steps, _RUN_METRICS, labels={"condition": condition})


def per_seed(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (condition, seed) with the benchmark's metrics."""
    runs = runs[runs["status"] == "ok"].copy()
    agents = np.where(runs["alone"].notna(), 1, runs["n_agents"]) if "alone" in runs else 1
    runs["agents"] = agents
    runs["throughput_per_agent"] = 100 * runs["completed"] / (runs["agents"] * runs["steps"])
    runs["completion_rate"] = [
        completion_rate(d, f) for d, f in zip(runs["completed"], runs["failed"], strict=True)
    ]
    solo = {
        name: runs[runs["condition"] == c].groupby("seed")["completed"].sum()
        for name, c in (("", "alone"), ("_full_load", "alone-full-load"))
    }

    rows = []
    for (condition, seed), grp in runs.groupby(["condition", "seed"], sort=False):
        if condition in SOLO:
            done, failed = grp["completed"].sum(), grp["failed"].sum()
            row = {
                "throughput_per_agent": grp["throughput_per_agent"].mean(),
                "completion_rate": completion_rate(done, failed),
                **{m: _nanmean(grp[m]) for m in _RUN_METRICS[2:]},
                "completed": done,
            }
        else:
            row = {m: grp[m].iloc[0] for m in ("throughput_per_agent", "completion_rate")}
            row |= {m: grp[m].iloc[0] for m in _RUN_METRICS[2:]}
            row["completed"] = grp["completed"].iloc[0]
        for suffix, totals in solo.items():
            total = totals.get(seed, np.nan)
            ratio = row["completed"] / total if total else np.nan
            row[f"collective_intelligence_ratio{suffix}"] = ratio
        rows.append({"condition": condition, "seed": seed, **row})
    df = pd.DataFrame(rows)
    df["condition"] = pd.Categorical(df["condition"], categories=CONDITIONS, ordered=True)
    df = df.sort_values(["condition", "seed"], ignore_index=True)
    df["condition"] = df["condition"].astype(str)
    return df


def _nanmean(values: pd.Series) -> float:
    v = values.to_numpy(dtype=float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def swarm_vs_single(
    out: str | Path,
    cfg: BenchConfig | None = None,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run (or resume) the benchmark into ``out``: ``runs/``, ``results.parquet``,
    ``per_seed.csv``, ``table.csv``, ``table.md`` and ``bench_*.png``. Returns the table
    (one row per condition: each metric's mean, ``_lo`` and ``_hi``, and ``n`` seeds)."""

    cfg = cfg or BenchConfig()
    out = Path(out)
    with exclusive(out, "the benchmark directory"):
        return _run(out, cfg, executor, workers, progress)


def _run(out: Path, cfg: BenchConfig, executor: Executor, workers, progress: bool):
    from swarm.analysis.plots import bars_figure, save_figure

    atomic_write_text(out / "bench.json", cfg.model_dump_json(indent=2))
    runs = execute(specs(cfg), out, executor=executor, workers=workers, progress=progress)
    failed = runs[runs["status"] != "ok"]
    if len(failed):
        raise ConfigError(
            f"{len(failed)} of {len(runs)} runs failed (rerun to retry them); first: "
            f"{failed['error'].iloc[0]}"
        )
    write_parquet(runs, out / "results.parquet")
    seeds = per_seed(runs)
    atomic_write_text(out / "per_seed.csv", seeds.to_csv(index=False))
    table = summarise(seeds, "condition", METRICS)
    atomic_write_text(out / "table.csv", table.to_csv(index=False))
    atomic_write_text(out / "table.md", summary_markdown(table, "condition", METRICS))
    paired = paired_table(
        seeds, PAIRED_METRICS, reference=cfg.reference, primary=cfg.primary, rng=cfg.first_seed
    )
    atomic_write_text(out / "paired.csv", paired.to_csv(index=False))
    atomic_write_text(out / "paired.md", paired_markdown(paired))
    for group, metrics in _FIGURES.items():
        save_figure(bars_figure(table, "condition", metrics), out / f"bench_{group}.png")
    return table


_FIGURES: dict[str, Sequence[str]] = {
    "output": (
        "throughput_per_agent",
        "completion_rate",
        "collective_intelligence_ratio",
        "collective_intelligence_ratio_full_load",
    ),
    "coordination": ("conflict_rate", "handoff_success_rate"),
    "decisions": ("decision_quality", "novel_solution_rate"),
}
