"""The emergence report: the estimators of :mod:`swarm.analysis.emergence` over a run's
frames, in one tidy frame (``step``, ``metric``, ``value``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from swarm.analysis.emergence import (
    collective_intelligence_ratio,
    decision_synergy,
    delta,
    division_of_labour,
    gamma,
    novel_solution_rate,
    psi,
)
from swarm.metrics import agents_frame, decision_quality, model_frame, table_frame


def run_frames(run: Any) -> dict[str, pd.DataFrame]:
    """``{"model", "agents", "decisions", "work"}`` frames from a :class:`SwarmModel`
    (after a run) or from a mapping that already holds them (e.g. read from parquet)."""
    if isinstance(run, Mapping):
        return {k: run.get(k) for k in ("model", "agents", "decisions", "work")}
    return {
        "model": model_frame(run),
        "agents": agents_frame(run),
        "decisions": table_frame(run, "decisions"),
        "work": table_frame(run, "work"),
    }


def busy_matrix(agents: pd.DataFrame) -> np.ndarray | None:
    """``T × n`` 0/1 matrix of who holds a task at each recorded step (the micro level)."""
    if agents is None or len(agents) == 0 or "busy" not in agents:
        return None
    wide = agents.pivot_table(index="step", columns="agent_id", values="busy", aggfunc="first")
    return wide.fillna(0).to_numpy(dtype=np.int64)


def emergence_report(
    run: Any,
    *,
    window: int = 50,
    solo_output: float | None = None,
    tau: int = 1,
) -> pd.DataFrame:
    """Emergence metrics over time as a tidy frame with columns ``step``, ``metric``,
    ``value``.

    Per window of ``window`` steps (rows at the window's last step):
    ``division_of_labour``, ``novel_solution_rate``, ``decision_quality``,
    ``synergy_best``, ``synergy_mean``; per step: ``position_entropy`` and
    ``trace_entropy_<channel>``. Over the whole run (at the last step): ``psi``,
    ``delta`` and ``gamma`` (discrete estimator; micro = who holds a task, macro = how many
    do), and ``collective_intelligence_ratio`` when ``solo_output`` (the agents' summed
    output alone) is given.

    Args:
        run: a :class:`swarm.SwarmModel` after its run, or a mapping of its frames
            (``model``, ``agents``, ``decisions``, ``work``; see :func:`run_frames`).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    frames = run_frames(run)
    model_df = frames["model"]
    rows: list[tuple[int, str, float]] = []
    per_step = [
        c for c in model_df.columns if c == "position_entropy" or c.startswith("trace_entropy_")
    ]
    for col in per_step:
        rows.extend(
            (int(s), col, float(v)) for s, v in zip(model_df["step"], model_df[col], strict=True)
        )

    last = int(model_df["step"].iloc[-1])
    work, decisions = frames["work"], frames["decisions"]
    for end in range(window, last + window, window):
        end = min(end, last)
        start = end - window
        if work is not None and len(work):
            w = work[(work["step"] > start) & (work["step"] <= end)]
            rows.append((end, "division_of_labour", division_of_labour(w["agent_id"], w["domain"])))
        if decisions is not None and len(decisions):
            d = decisions[(decisions["step"] > start) & (decisions["step"] <= end)]
            rows.append((end, "novel_solution_rate", novel_solution_rate(d)))
            rows.append(
                (end, "decision_quality", decision_quality(float(d["quality"].sum()), len(d)))
            )
            rows.extend((end, k, v) for k, v in decision_synergy(d).items())

    busy = busy_matrix(frames["agents"])
    if busy is not None and len(busy) > tau + 2:
        macro = busy.sum(axis=1)
        for name, fn in (("psi", psi), ("delta", delta), ("gamma", gamma)):
            rows.append((last, name, fn(busy, macro, tau=tau, method="discrete")))
    if solo_output is not None:
        swarm_output = float(model_df["completed"].iloc[-1])
        rows.append(
            (
                last,
                "collective_intelligence_ratio",
                collective_intelligence_ratio(swarm_output, solo_output),
            )
        )
    return pd.DataFrame(rows, columns=["step", "metric", "value"])
