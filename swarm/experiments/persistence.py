"""Souls carried across runs against fresh souls on the same worlds (``swarm bench
soul-persistence``).

A *chain* is ``episodes`` runs of one seed: episode ``e`` runs the world of
:func:`episode_seed` ``(seed, e)`` (its tasks, positions and the population's starting
skills). Under ``carried`` the agents' souls are stored after each episode and loaded
for the next (their skills, track records as voters, preferences, XP and levels carry
over); under ``fresh`` every episode starts with new souls. Both conditions run the
same worlds, so episode 0 is the same run under both (a check: its differences are 0),
and from episode 1 on any difference is what the souls carried.

Per episode: the final values of ``metrics`` (model reporters) and ``calibration_error``
(:func:`swarm.analysis.souls.calibration_error` of the episode's decisions); the paired
table (:func:`swarm.analysis.paired.paired_table`) pairs ``carried`` with ``fresh``
seed by seed, per episode, Holm-adjusted across the whole table.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarm.io import atomic_write_text
from swarm.metrics import MODEL_REPORTERS
from swarm.params import ModelParams

CONDITIONS = ("carried", "fresh")
DEFAULT_METRICS = ["completed", "mean_quality", "decision_quality", "mean_xp"]


class PersistenceConfig(BaseModel):
    """``experiments/soul_persistence.yaml``: ``seeds`` chains of ``episodes`` runs of
    ``steps`` steps each, the swarm's parameters under ``model``, the ``metrics``."""

    model_config = ConfigDict(extra="forbid")

    seeds: int = Field(10, ge=2)
    first_seed: int = 0
    episodes: int = Field(5, ge=2)
    steps: int = Field(300, ge=1)
    model: ModelParams = Field(default_factory=ModelParams)
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS))

    @field_validator("metrics")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m not in MODEL_REPORTERS]
        if bad:
            raise ValueError(f"unknown metric {bad[0]!r}; choose from {', '.join(MODEL_REPORTERS)}")
        return v

    @field_validator("model")
    @classmethod
    def _no_store(cls, v: ModelParams) -> ModelParams:
        if v.souls is not None:
            raise ValueError("model.souls: the experiment keeps its own soul stores")
        return v


def episode_seed(seed: int, episode: int) -> int:
    """The world seed of ``episode`` in the chain of ``seed`` (the same under both
    conditions; distinct across chains and episodes)."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1, np.uint64)[0] >> 1)


def _episode(cfg: PersistenceConfig, seed: int, episode: int, souls: str | None) -> dict:
    from swarm.analysis.souls import calibration, calibration_error
    from swarm.model import SwarmModel

    model = SwarmModel(**cfg.model.kwargs() | {"souls": souls}, rng=episode_seed(seed, episode))
    for _ in range(cfg.steps):
        model.step()
    model.save_souls()
    row: dict[str, Any] = {m: float(MODEL_REPORTERS[m](model)) for m in cfg.metrics}
    decisions = model.datacollector.get_table_dataframe("decisions")
    row["calibration_error"] = calibration_error(calibration(decisions))
    return row


def run_chain(cfg: PersistenceConfig, seed: int) -> list[dict]:
    """Both conditions' episodes for one seed (souls carried in a temporary store)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="souls-") as store:
        for e in range(cfg.episodes):
            for condition in CONDITIONS:
                souls = store if condition == "carried" else None
                row = _episode(cfg, seed, e, souls)
                rows.append({"condition": condition, "seed": seed, "episode": e} | row)
    return rows


def soul_persistence(
    out: str | Path, cfg: PersistenceConfig, *, workers: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every chain (``workers`` processes), write ``OUT/per_episode.csv`` and
    ``OUT/paired.{csv,md}`` (carried − fresh per episode), and return both tables."""
    from swarm.analysis.paired import holm, paired_markdown, paired_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = range(cfg.first_seed, cfg.first_seed + cfg.seeds)
    if workers > 1:
        import multiprocessing as mp

        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            chains = list(pool.map(run_chain, [cfg] * cfg.seeds, seeds))
    else:
        chains = [run_chain(cfg, s) for s in seeds]
    per_episode = pd.DataFrame([r for chain in chains for r in chain])
    metrics = [*cfg.metrics, "calibration_error"]
    tables = []
    for e, grp in per_episode.groupby("episode"):
        t = paired_table(grp, metrics, reference="fresh", primary=metrics[0], adjust=False)
        t.insert(0, "episode", e)
        tables.append(t)
    paired = holm(pd.concat(tables, ignore_index=True))
    atomic_write_text(out / "per_episode.csv", per_episode.to_csv(index=False))
    atomic_write_text(out / "paired.csv", paired.to_csv(index=False))
    atomic_write_text(out / "paired.md", paired_markdown(paired, ["episode"]))
    return per_episode, paired


def summary(paired: pd.DataFrame) -> dict[str, Any]:
    """The last episode's paired differences, ``{metric: [mean, ci_low, ci_high, p_holm]}``
    (the benchmark's JSON line)."""
    last = paired[paired["episode"] == paired["episode"].max()]
    return {
        "episode": int(last["episode"].iloc[0]),
        "carried_minus_fresh": {
            r.metric: [round(float(v), 4) for v in (r.mean_diff, r.ci_low, r.ci_high, r.p_holm)]
            for r in last.itertuples()
        },
    }


__all__ = ["CONDITIONS", "PersistenceConfig", "episode_seed", "run_chain", "soul_persistence"]
