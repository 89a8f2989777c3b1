"""Run a model for a number of steps and write its results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from swarm.config import RunConfig, dump_yaml
from swarm.io import atomic_write_text, write_parquet
from swarm.model import SwarmModel
from swarm.plots import save_figure, summary_figure
from swarm.progress import Bars


@dataclass
class RunResult:
    model: SwarmModel
    model_df: pd.DataFrame
    agents_df: pd.DataFrame


def simulate(config: RunConfig, *, progress: bool = False, **overrides) -> RunResult:
    """Build the model from ``config`` (plus keyword ``overrides``), run it, return frames.

    ``model_df`` has one row per step (``step`` 0 is the initial state); ``agents_df``
    one row per agent per step (``step``, ``agent_id``, reporters).
    """
    kwargs = config.model.kwargs() | overrides
    model = SwarmModel(**kwargs, rng=config.seed)
    with Bars(progress) as bars:
        for _ in bars.track(range(config.steps), "steps"):
            model.step()
    model.save_souls()
    return RunResult(model, model_frame(model), agents_frame(model))


def model_frame(model: SwarmModel) -> pd.DataFrame:
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    df.insert(0, "step", range(len(df)))
    return df


def agents_frame(model: SwarmModel) -> pd.DataFrame:
    df = model.datacollector.get_agent_vars_dataframe().reset_index()
    return df.rename(columns={"Step": "step", "AgentID": "agent_id"})


def table_frame(model: SwarmModel, name: str) -> pd.DataFrame:
    """A DataCollector table (``decisions`` or ``work``) as a frame."""
    return model.datacollector.get_table_dataframe(name)


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
