"""The emergence report: the estimators of :mod:`swarm.analysis.emergence` over a run's
frames, in one tidy frame (``step``, ``metric``, ``value`` and, where a null exists, the
null's ``null_mean``, ``null_lo``, ``null_hi``, the one-sided ``p_value``, ``detected``
and which surrogate it came from, ``null``)."""

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
    emergence_test,
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


COLUMNS = [
    "step",
    "metric",
    "value",
    "null_mean",
    "null_lo",
    "null_hi",
    "p_value",
    "detected",
    "null",
]


def _dol_test(agents, domains, n: int, rng: np.random.Generator) -> dict[str, Any]:
    """Division of labour against its label-shuffle null: the same work records with the
    domains shuffled across them (each agent's amount of work kept)."""
    value = division_of_labour(agents, domains)
    domains = np.asarray(domains)
    null = np.array([division_of_labour(agents, rng.permutation(domains)) for _ in range(n)])
    if not np.isfinite(value) or not np.isfinite(null).all():
        return {"value": value}
    return {
        "value": value,
        "null_mean": float(null.mean()),
        "null_lo": float(np.quantile(null, 0.025)),
        "null_hi": float(np.quantile(null, 0.975)),
        "p_value": (1 + int(np.sum(null >= value))) / (1 + n),
        "surrogate": "label-shuffle",
    }


def emergence_report(
    run: Any,
    *,
    window: int = 50,
    solo_output: float | None = None,
    tau: int = 1,
    n_surrogates: int = 200,
    rng: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Emergence metrics over time as a tidy frame (:data:`COLUMNS`).

    Per window of ``window`` steps (rows at the window's last step):
    ``division_of_labour`` (with its label-shuffle null), ``novel_solution_rate``,
    ``decision_quality``, ``synergy_best``, ``synergy_mean``; per step:
    ``position_entropy`` and ``trace_entropy_<channel>``. Over the whole run (at the last
    step): ``psi`` (bias-corrected, with the double-redundancy correction), ``delta`` and
    ``gamma`` (bias-corrected), discrete, micro = who holds a task, macro = how many do,
    each against ``n_surrogates`` per-agent circular shifts (:func:`emergence_test`); and
    ``collective_intelligence_ratio`` when ``solo_output`` (the agents' summed output
    alone) is given. Rows without a null have NaN null columns and ``detected`` False;
    ``n_surrogates=0`` leaves every null out (fast, e.g. for a live page).

    Args:
        run: a :class:`swarm.SwarmModel` after its run, or a mapping of its frames
            (``model``, ``agents``, ``decisions``, ``work``; see :func:`run_frames`).
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if n_surrogates < 0:
        raise ValueError(f"n_surrogates must be >= 0, got {n_surrogates}")
    gen = np.random.default_rng(rng)
    tested: dict[tuple[int, str], dict[str, Any]] = {}
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
            if n_surrogates:
                res = _dol_test(w["agent_id"].to_numpy(), w["domain"].to_numpy(), n_surrogates, gen)
                tested[(end, "division_of_labour")] = res
                rows.append((end, "division_of_labour", res["value"]))
            else:
                rows.append(
                    (end, "division_of_labour", division_of_labour(w["agent_id"], w["domain"]))
                )
        if decisions is not None and len(decisions):
            d = decisions[(decisions["step"] > start) & (decisions["step"] <= end)]
            rows.append((end, "novel_solution_rate", novel_solution_rate(d)))
            rows.append(
                (end, "decision_quality", decision_quality(float(d["quality"].sum()), len(d)))
            )
            rows.extend((end, k, v) for k, v in decision_synergy(d).items())

    busy = busy_matrix(frames["agents"])
    if busy is not None and len(busy) > tau + 2:
        measures = (
            ("psi", psi, {"redundancy": True}),
            ("delta", delta, {}),
            ("gamma", gamma, {}),
        )
        for name, fn, extra in measures:
            kw = {"method": "discrete", "correct": True, **extra}
            if n_surrogates:
                res = emergence_test(
                    fn, busy, "sum", tau=tau, n_surrogates=n_surrogates, rng=gen, **kw
                )
                tested[(last, name)] = res
                rows.append((last, name, res["value"]))
            else:
                rows.append((last, name, fn(busy, busy.sum(axis=1), tau=tau, **kw)))
    if solo_output is not None:
        swarm_output = float(model_df["completed"].iloc[-1])
        rows.append(
            (
                last,
                "collective_intelligence_ratio",
                collective_intelligence_ratio(swarm_output, solo_output),
            )
        )
    out = []
    for step, metric, value in rows:
        t = tested.get((step, metric), {})
        p = t.get("p_value", float("nan"))
        out.append(
            (
                step,
                metric,
                value,
                t.get("null_mean", float("nan")),
                t.get("null_lo", float("nan")),
                t.get("null_hi", float("nan")),
                p,
                bool(p < alpha),
                t.get("surrogate", "none"),
            )
        )
    return pd.DataFrame(out, columns=COLUMNS)
