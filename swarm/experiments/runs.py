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
from swarm.io import atomic_write_text, replace_outputs, write_parquet
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


#: The files of a run directory (``swarm run --out``).
RUN_OUTPUTS = {
    "model": "model.parquet",
    "agents": "agents.parquet",
    "decisions": "decisions.parquet",
    "work": "work.parquet",
    "config": "config.yaml",
    "summary": "summary.png",
}


def write_run(result: RunResult, config: RunConfig, out: Path) -> dict[str, Path]:
    """Write :data:`RUN_OUTPUTS` to ``out``, all at once (:func:`swarm.io.replace_outputs`:
    a kill leaves the old run or the new one, other files in ``out`` stay)."""
    out = Path(out)

    def write(tmp: Path) -> None:
        write_parquet(result.model_df, tmp / RUN_OUTPUTS["model"])
        write_parquet(result.agents_df, tmp / RUN_OUTPUTS["agents"])
        write_parquet(table_frame(result.model, "decisions"), tmp / RUN_OUTPUTS["decisions"])
        write_parquet(table_frame(result.model, "work"), tmp / RUN_OUTPUTS["work"])
        atomic_write_text(tmp / RUN_OUTPUTS["config"], dump_yaml(config))
        title = f"policy {config.model.policy}, {config.model.n_agents} agents, seed {config.seed}"
        save_figure(summary_figure(result.model_df, title=title), tmp / RUN_OUTPUTS["summary"])

    replace_outputs(out, write, RUN_OUTPUTS.values(), "swarm run")
    return {k: out / v for k, v in RUN_OUTPUTS.items()}
