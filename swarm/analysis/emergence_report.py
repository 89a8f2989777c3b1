"""The emergence report: the estimators of :mod:`swarm.analysis.emergence` over a run's
frames, in one tidy frame (:data:`COLUMNS`): ``step``, ``metric``, ``value``; where a null
exists, the null's ``null_mean``, ``null_lo``, ``null_hi``, the one-sided ``p_value``,
``detected`` and which null it came from (``null``); where the value has a sampling
interval, ``ci_lo`` and ``ci_hi``; and, given a random-policy run on the same world
stream (``null_run``), the same metric on it (``random_policy``).

Micro and macro variables (:data:`PAIRS`) for Ψ, Δ and Γ. Each macro is a function of the
micro variables at the same step (supervenience, which the criteria assume) and every
micro variable has few states (the discrete estimator needs that at T in the hundreds):

* ``holding``: micro = whether agent i holds a task; macro = how many do (the swarm's
  workload).
* ``hotspot``: micro = whether agent i is near a hotspot (within two spreads of where
  tasks arrive); macro = how many are (hotspot occupancy: the swarm's spatial allocation).
* ``domains``: micro = the domain agent i is working in (or idle); macro = how many
  domains are being worked at once (coverage: the swarm's division of work).

Macro variables that are *not* such functions are reported as series and tested for
self-organisation instead (:func:`swarm.analysis.emergence.trend_test`, falling entropy or
rising concentration against block-shuffled surrogates): the position entropy and the
number of agent clusters (functions of exact cells, hundreds of states per agent: no
estimator of per-agent information fits them at this T) and each trace channel's entropy
and concentration, and the trace field's centre of mass (the field integrates the
swarm's past, so it is not supervenient on the present micro state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from swarm.analysis.emergence import (
    collective_intelligence_ratio,
    decision_synergy,
    decision_tests,
    delta,
    division_of_labour,
    emergence_test,
    gamma,
    psi,
    trend,
    trend_test,
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


def _wide(agents: pd.DataFrame | None, column: str) -> pd.DataFrame | None:
    if agents is None or len(agents) == 0 or column not in agents:
        return None
    return agents.pivot_table(index="step", columns="agent_id", values=column, aggfunc="first")


def busy_matrix(agents: pd.DataFrame) -> np.ndarray | None:
    """``T × n`` 0/1 matrix of who holds a task at each recorded step (the micro level)."""
    wide = _wide(agents, "busy")
    return None if wide is None else wide.fillna(0).to_numpy(dtype=np.int64)


def _coverage(x: np.ndarray) -> np.ndarray:
    """How many distinct domains (codes > 0) are worked at each time point."""
    present = np.zeros((len(x), int(x.max(initial=0)) + 1), dtype=bool)
    present[np.arange(len(x))[:, None], x] = True
    return present[:, 1:].sum(axis=1)


def micro_macro(agents: pd.DataFrame | None) -> dict[str, tuple[np.ndarray, Any]]:
    """The :data:`PAIRS` a run's agent frame supports: name → (``T × n`` micro array,
    macro: ``"sum"`` or a function of the micro array)."""
    out: dict[str, tuple[np.ndarray, Any]] = {}
    for name, column in (("holding", "busy"), ("hotspot", "near_hotspot")):
        wide = _wide(agents, column)
        if wide is not None:
            out[name] = (wide.fillna(0).to_numpy(dtype=np.int64), "sum")
    wide = _wide(agents, "work_domain")
    if wide is not None:
        labels = sorted({v for v in np.unique(wide.fillna("").to_numpy()) if v})
        code = {d: k + 1 for k, d in enumerate(labels)}
        micro = np.vectorize(lambda v: code.get(v, 0), otypes=[np.int64])(wide.fillna(""))
        out["domains"] = (micro, _coverage)
    return out


#: The micro → macro pairs Ψ, Δ and Γ are computed on (see the module docstring).
PAIRS: tuple[str, ...] = ("holding", "hotspot", "domains")
#: Series tested for self-organisation, and the direction that means organising.
TRENDS: dict[str, str] = {
    "position_entropy": "falling",
    "agent_clusters": "falling",
    "trace_entropy_": "falling",
    "trace_concentration_": "rising",
}
#: Per-step series the report carries (with the per-channel prefixes of :data:`TRENDS`).
SERIES: tuple[str, ...] = ("position_entropy", "agent_clusters", "trace_centre_x", "trace_centre_y")

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
    "ci_lo",
    "ci_hi",
    "random_policy",
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


def _trend_direction(column: str) -> str | None:
    for prefix, direction in TRENDS.items():
        if column == prefix or (prefix.endswith("_") and column.startswith(prefix)):
            return direction
    return None


def emergence_report(
    run: Any,
    *,
    window: int = 50,
    solo_output: float | None = None,
    tau: int = 1,
    n_surrogates: int = 200,
    rng: int = 0,
    alpha: float = 0.05,
    null_run: Any = None,
    pairs: tuple[str, ...] = PAIRS,
    measures: tuple[str, ...] = ("psi", "delta", "gamma"),
) -> pd.DataFrame:
    """Emergence metrics over time as a tidy frame (:data:`COLUMNS`).

    Per step: the :data:`SERIES` and each trace channel's ``trace_entropy_<channel>`` and
    ``trace_concentration_<channel>``. Per window of ``window`` steps (rows at the
    window's last step): ``division_of_labour`` (against its label-shuffle null),
    ``novel_solution_rate`` and ``synergy_best`` (with intervals and the sign test of
    :func:`swarm.analysis.emergence.decision_tests`), ``decision_quality`` and
    ``synergy_mean``. Over the whole run (at the last step): ``<measure>_<pair>`` for each
    of ``measures`` (Ψ bias-corrected with the double-redundancy correction, Δ and Γ
    bias-corrected, discrete) and each micro → macro pair of ``pairs`` (:data:`PAIRS`),
    each against ``n_surrogates`` per-agent circular shifts
    (:func:`swarm.analysis.emergence.emergence_test`); ``trend_<series>`` for every series
    of :data:`TRENDS` (slope per 100 steps against block-shuffled surrogates); and
    ``collective_intelligence_ratio`` when ``solo_output`` (the output of the fairest
    lone-agent baseline) is given. Rows without a null have NaN null columns and
    ``detected`` False; ``n_surrogates=0`` leaves the surrogate nulls out (fast, e.g. for
    a live page).

    Args:
        run: a :class:`swarm.SwarmModel` after its run, or a mapping of its frames
            (``model``, ``agents``, ``decisions``, ``work``; see :func:`run_frames`).
        null_run: the same for a run of the random policy on the same world stream
            (same seed, ``policy="random"``); its values fill ``random_policy``.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if n_surrogates < 0:
        raise ValueError(f"n_surrogates must be >= 0, got {n_surrogates}")
    unknown = sorted(set(pairs) - set(PAIRS)) + sorted(set(measures) - set(_MEASURES))
    if unknown:
        raise ValueError(
            f"unknown pair or measure {unknown[0]!r} (pairs: {', '.join(PAIRS)}; "
            f"measures: {', '.join(_MEASURES)})"
        )
    gen = np.random.default_rng(rng)
    frames = run_frames(run)
    model_df = frames["model"]
    rows: list[tuple[int, str, dict[str, Any]]] = []
    channel_series = [
        c for c in model_df.columns if c.startswith(("trace_entropy_", "trace_concentration_"))
    ]
    series = [c for c in SERIES if c in model_df] + channel_series
    for col in series:
        rows.extend(
            (int(s), col, {"value": float(v)})
            for s, v in zip(model_df["step"], model_df[col], strict=True)
        )

    last = int(model_df["step"].iloc[-1])
    work, decisions = frames["work"], frames["decisions"]
    for end in range(window, last + window, window):
        end = min(end, last)
        start = end - window
        if work is not None and len(work):
            w = work[(work["step"] > start) & (work["step"] <= end)]
            agents, domains = w["agent_id"].to_numpy(), w["domain"].to_numpy()
            res = (
                _dol_test(agents, domains, n_surrogates, gen)
                if n_surrogates
                else {"value": division_of_labour(agents, domains)}
            )
            rows.append((end, "division_of_labour", res))
        if decisions is not None and len(decisions):
            d = decisions[(decisions["step"] > start) & (decisions["step"] <= end)]
            tests = decision_tests(d)
            rows.append((end, "novel_solution_rate", tests["novel_solution_rate"]))
            rows.append((end, "synergy_best", tests["synergy_best"]))
            quality = decision_quality(float(d["quality"].sum()), len(d))
            rows.append((end, "decision_quality", {"value": quality}))
            rows.append((end, "synergy_mean", {"value": decision_synergy(d)["synergy_mean"]}))

    available = micro_macro(frames["agents"])
    for pair in pairs:
        if pair not in available or len(available[pair][0]) <= tau + 2:
            continue
        micro, macro = available[pair]
        v = macro(micro) if callable(macro) else micro.sum(axis=1)
        for name in measures:
            fn, extra = _MEASURES[name]
            kw = {"method": "discrete", "correct": True, **extra}
            if n_surrogates:
                res = emergence_test(
                    fn, micro, macro, tau=tau, n_surrogates=n_surrogates, rng=gen, **kw
                )
            else:
                res = {"value": fn(micro, v, tau=tau, **kw)}
            rows.append((last, f"{name}_{pair}", res))

    for col in series:
        direction = _trend_direction(col)
        if direction is None:
            continue
        values = model_df[col].to_numpy(dtype=float)
        if n_surrogates:
            res = trend_test(values, direction=direction, n_surrogates=n_surrogates, rng=gen)
        else:
            res = {"value": trend(values)}
        rows.append((last, f"trend_{col}", res))

    if solo_output is not None:
        swarm_output = float(model_df["completed"].iloc[-1])
        ratio = collective_intelligence_ratio(swarm_output, solo_output)
        rows.append((last, "collective_intelligence_ratio", {"value": ratio}))

    nan = float("nan")
    out = []
    for step, metric, t in rows:
        p = t.get("p_value", nan)
        out.append(
            (
                step,
                metric,
                t["value"],
                t.get("null_mean", nan),
                t.get("null_lo", nan),
                t.get("null_hi", nan),
                p,
                bool(p < alpha),
                t.get("surrogate", "none"),
                t.get("ci_lo", nan),
                t.get("ci_hi", nan),
                nan,
            )
        )
    report = pd.DataFrame(out, columns=COLUMNS)
    if null_run is not None:
        other = emergence_report(
            null_run, window=window, tau=tau, n_surrogates=0, pairs=pairs, measures=measures
        )
        values = other.set_index(["step", "metric"])["value"]
        values = values[~values.index.duplicated()]
        key = pd.MultiIndex.from_frame(report[["step", "metric"]])
        report["random_policy"] = values.reindex(key).to_numpy()
    return report


_MEASURES: dict[str, tuple[Callable[..., float], dict[str, Any]]] = {
    "psi": (psi, {"redundancy": True}),
    "delta": (delta, {}),
    "gamma": (gamma, {}),
}


def emergence_summary(report: pd.DataFrame) -> dict[str, float]:
    """A report as one flat row (``em_*`` keys), e.g. for a sweep's results table.

    Whole-run tests (``psi_<pair>`` …, ``trend_<series>``): ``em_<metric>``,
    ``em_<metric>_null`` (the null's mean), ``em_<metric>_p`` and ``em_<metric>_detected``
    (0/1). Windowed tests (division of labour, novel-solution rate, synergy): the mean over
    windows of the value and of the null's mean, the smallest p, and the share of windows
    detected."""
    out: dict[str, float] = {}
    tested = report[report["null"] != "none"]
    for metric, rows in tested.groupby("metric", sort=False):
        out[f"em_{metric}"] = float(rows["value"].mean())
        out[f"em_{metric}_null"] = float(rows["null_mean"].mean())
        out[f"em_{metric}_p"] = float(rows["p_value"].min())
        out[f"em_{metric}_detected"] = float(rows["detected"].mean())
    return out


def sweep_detections(results: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by`` (e.g. a sweep's grid axes and ``condition``) and tested metric:
    ``runs``, ``detected`` (share of runs in which it was; for windowed metrics the mean
    share of windows), ``value`` and ``null`` (means over runs), from the ``em_*`` columns
    of a sweep's results (:func:`emergence_summary`)."""
    ok = results[results["status"] == "ok"] if "status" in results else results
    metrics = [c[3:-9] for c in ok.columns if c.startswith("em_") and c.endswith("_detected")]
    rows = []
    groups = ok.groupby(by, sort=False, dropna=False) if by else [((), ok)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            values = g[f"em_{m}"]
            if values.isna().all():
                continue
            rows.append(
                dict(zip(by, key, strict=True))
                | {
                    "metric": m,
                    "runs": int(values.notna().sum()),
                    "detected": float(g.loc[values.notna(), f"em_{m}_detected"].mean()),
                    "value": float(values.mean()),
                    "null": float(g[f"em_{m}_null"].mean()),
                }
            )
    return pd.DataFrame(rows, columns=[*by, "metric", "runs", "detected", "value", "null"])


def detections(report: pd.DataFrame) -> pd.DataFrame:
    """One row per tested metric: ``metric``, ``rows`` (windows, or 1 for a whole-run
    metric), ``detected`` (how many of them), ``value`` and ``null_mean`` (means over the
    rows), the smallest ``p_value``, and ``random_policy`` (mean)."""
    tested = report[report["null"] != "none"]
    if tested.empty:
        return pd.DataFrame(
            columns=["metric", "rows", "detected", "value", "null_mean", "p_value", "random_policy"]
        )
    g = tested.groupby("metric", sort=False)
    return pd.DataFrame(
        {
            "rows": g.size(),
            "detected": g["detected"].sum().astype(int),
            "value": g["value"].mean(),
            "null_mean": g["null_mean"].mean(),
            "p_value": g["p_value"].min(),
            "random_policy": g["random_policy"].mean(),
        }
    ).reset_index()


__all__ = [
    "COLUMNS",
    "PAIRS",
    "SERIES",
    "TRENDS",
    "busy_matrix",
    "detections",
    "emergence_report",
    "emergence_summary",
    "micro_macro",
    "run_frames",
    "sweep_detections",
]
