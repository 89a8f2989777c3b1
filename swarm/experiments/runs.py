"""One run of a config: build the model, roll it out, read its frames, write them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from soul import SoulStore
from swarm.analysis.plots import save_figure, summary_figure
from swarm.config import RunConfig, dump_yaml
from swarm.experiments.rollout import rollout
from swarm.io import atomic_write_text, write_parquet
from swarm.metrics import agents_frame, model_frame, table_frame
from swarm.model import SwarmModel
from swarm.progress import Bars


@dataclass
class RunResult:
    model: SwarmModel
    model_df: pd.DataFrame
    agents_df: pd.DataFrame


def run_config(
    config: RunConfig, *, progress: bool = False, wait_for_souls: bool = False, **overrides
) -> RunResult:
    """Build the model from ``config`` (plus keyword ``overrides``), run it, return frames.

    ``model_df`` has one row per step (``step`` 0 is the initial state); ``agents_df``
    one row per agent per step (``step``, ``agent_id``, reporters). A soul store is held
    from loading to saving (:meth:`soul.SoulStore.lock`): another run on it is refused
    (:class:`soul.files.Busy`), or waited for with ``wait_for_souls``.
    """
    kwargs = config.model.kwargs() | overrides
    with souls_held(kwargs.get("souls"), wait=wait_for_souls):
        model = SwarmModel(**kwargs, rng=config.seed)
        with Bars(progress) as bars:
            rollout(model, config.steps, progress=bars.add("steps", config.steps))
        model.save_souls()
    return RunResult(model, model_frame(model), agents_frame(model))


def souls_held(souls, *, wait: bool = False):
    """The soul store's lock for one run (nothing to hold without a store)."""
    if souls is None:
        return contextlib.nullcontext()
    return SoulStore(souls).lock(wait=wait)


def write_run(result: RunResult, config: RunConfig, out: Path) -> dict[str, Path]:
    """Write ``model.parquet``, ``agents.parquet``, ``decisions.parquet``,
    ``work.parquet``, ``config.yaml`` and ``summary.png``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "model": write_parquet(result.model_df, out / "model.parquet"),
        "agents": write_parquet(result.agents_df, out / "agents.parquet"),
        "decisions": write_parquet(
            table_frame(result.model, "decisions"), out / "decisions.parquet"
        ),
        "work": write_parquet(table_frame(result.model, "work"), out / "work.parquet"),
        "config": out / "config.yaml",
        "summary": out / "summary.png",
    }
    atomic_write_text(paths["config"], dump_yaml(config))
    save_figure(
        summary_figure(
            result.model_df,
            title=f"policy {config.model.policy}, "
            f"{config.model.n_agents} agents, seed {config.seed}",
        ),
        paths["summary"],
    )
    return paths
