"""Emergence: causal-emergence criteria, and the model-level metrics researchers plot.

Causal emergence (Rosas, Mediano et al. 2020, "Reconciling emergences", PLoS Comput Biol),
for micro variables ``X`` (``T × n``) and a macro feature ``V`` (``T`` or ``T × r``), in
bits:

* ``Ψ = I(V_t; V_t+τ) − Σ_j I(X^j_t; V_t+τ)``: Ψ > 0 is sufficient for ``V`` to be
  causally emergent (it predicts its own future beyond what the parts do one by one).
* ``Δ = max_j [I(V_t; X^j_t+τ) − Σ_i I(X^i_t; X^j_t+τ)]``: Δ > 0 is sufficient for
  downward causation.
* ``Γ = max_j I(V_t; X^j_t+τ)``: Γ = 0 with Ψ > 0 is causal decoupling.

Mutual information is estimated with a Gaussian (linear-Gaussian, closed form from
covariances) or a discrete plug-in estimator (joint frequencies of the observed symbols).

Model-level metrics:

* :func:`division_of_labour` (Gorelick et al. 2004): mutual information between agent and
  task domain, normalised by the domain entropy.
* :func:`spatial_entropy` of agent positions and :func:`field_entropy` of trace fields.
* :func:`collective_intelligence_ratio`: swarm output ÷ the sum of the same agents' outputs
  working alone.
* Synergy of decisions (group accuracy − best member's, − mean member's) and the
  novel-solution rate, from the model's ``decisions`` table.

Estimators take arrays (or a decisions table) and know nothing of the model;
:func:`swarm.analysis.emergence_report.emergence_report` puts them over a run's frames in
one tidy frame (``step``, ``metric``, ``value``), and
:func:`swarm.analysis.plots.emergence_figure` draws it. Spatial and field entropy are the
model's own reporters, defined in :mod:`swarm.metrics`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from swarm import metrics
from swarm.metrics import field_entropy
from swarm.metrics import position_entropy as spatial_entropy

Method = Literal["gaussian", "discrete"]
_LN2 = np.log(2.0)


# Mutual information --------------------------------------------------------------------


def _columns(a: Any) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"expected a T or T×k array, got shape {a.shape}")
    return a


def _codes(a: np.ndarray) -> np.ndarray:
    """Integer codes for the columns of ``a`` (any dtype: labels, strings, numbers)."""
    if a.dtype.kind in "iub":
        return a
    return np.column_stack([pd.factorize(a[:, k])[0] for k in range(a.shape[1])])


def entropy(labels: Any) -> float:
    """Plug-in entropy (bits) of the rows of ``labels`` (``T`` or ``T × k``) as symbols."""
    a = _codes(_columns(labels))
    _, counts = np.unique(a, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _gaussian_logdet(a: np.ndarray) -> float:
    if a.shape[1] == 0:
        return 0.0
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("covariance is singular: a variable is constant or a copy of others")
    return float(logdet)


def _informative(a: np.ndarray) -> np.ndarray:
    return a[:, np.ptp(a, axis=0) > 0]


def mutual_information(x: Any, y: Any, method: Method = "gaussian") -> float:
    """I(X; Y) in bits between the rows of ``x`` and ``y`` (``T`` or ``T × k`` each).

    ``gaussian``: ``½ log(det Σx det Σy / det Σxy)``; constant columns carry no
    information and are dropped. ``discrete``: ``H(X) + H(Y) − H(X, Y)`` from frequencies.
    """
    x, y = _columns(x), _columns(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    if len(x) < 2:
        raise ValueError("mutual information needs at least 2 samples")
    if method == "discrete":
        x, y = _codes(x), _codes(y)
        return max(0.0, entropy(x) + entropy(y) - entropy(np.hstack([x, y])))
    if method != "gaussian":
        raise ValueError(f"method must be 'gaussian' or 'discrete', got {method!r}")
    x, y = _informative(x.astype(float)), _informative(y.astype(float))
    if x.shape[1] == 0 or y.shape[1] == 0:
        return 0.0
    nats = 0.5 * (_gaussian_logdet(x) + _gaussian_logdet(y) - _gaussian_logdet(np.hstack([x, y])))
    return max(0.0, nats / _LN2)


def _lagged(micro: Any, macro: Any, tau: int) -> tuple[np.ndarray, np.ndarray]:
    x, v = _columns(micro), _columns(macro)
    if len(x) != len(v):
        raise ValueError(f"micro has {len(x)} time points but macro has {len(v)}")
    if tau < 1 or tau >= len(x) - 1:
        raise ValueError(f"tau must be in [1, T - 2], got {tau} for T = {len(x)}")
    return x, v


def psi(micro: Any, macro: Any, tau: int = 1, method: Method = "gaussian") -> float:
    """Ψ = I(V_t; V_t+τ) − Σ_j I(X^j_t; V_t+τ), in bits."""
    x, v = _lagged(micro, macro, tau)
    future = v[tau:]
    whole = mutual_information(v[:-tau], future, method)
    parts = sum(mutual_information(x[:-tau, j], future, method) for j in range(x.shape[1]))
    return whole - parts


def delta(micro: Any, macro: Any, tau: int = 1, method: Method = "gaussian") -> float:
    """Δ = max_j [I(V_t; X^j_t+τ) − Σ_i I(X^i_t; X^j_t+τ)], in bits."""
    x, v = _lagged(micro, macro, tau)
    best = -np.inf
    for j in range(x.shape[1]):
        target = x[tau:, j]
        down = mutual_information(v[:-tau], target, method)
        parts = sum(mutual_information(x[:-tau, i], target, method) for i in range(x.shape[1]))
        best = max(best, down - parts)
    return float(best)


def gamma(micro: Any, macro: Any, tau: int = 1, method: Method = "gaussian") -> float:
    """Γ = max_j I(V_t; X^j_t+τ), in bits."""
    x, v = _lagged(micro, macro, tau)
    return float(max(mutual_information(v[:-tau], x[tau:, j], method) for j in range(x.shape[1])))


# Model-level metrics -------------------------------------------------------------------


def division_of_labour(agents: Any, tasks: Any) -> float:
    """Division of labour (Gorelick et al. 2004): ``I(agent; task) / H(task)`` over work
    records (one ``(agent, task domain)`` pair per unit of work done), in [0, 1].

    1: each domain's work is done by agents that work only in it (the agent tells the
    domain); 0: every agent spreads its work over domains like the swarm as a whole.
    NaN with fewer than 2 records or a single domain.
    """
    a, t = np.asarray(agents), np.asarray(tasks)
    if len(a) != len(t):
        raise ValueError(f"{len(a)} agents but {len(t)} tasks")
    if len(a) < 2:
        return float("nan")
    h = entropy(t)
    if h == 0:
        return float("nan")
    return float(mutual_information(a, t, "discrete") / h)


def collective_intelligence_ratio(swarm_output: float, solo_outputs: Any) -> float:
    """Swarm output ÷ the sum of the same agents' outputs working alone (> 1: the swarm
    is more than the sum of its parts). NaN when the agents alone produced nothing."""
    total = float(np.sum(solo_outputs))
    return float(swarm_output) / total if total > 0 else float("nan")


def decision_synergy(decisions: pd.DataFrame) -> dict[str, float]:
    """Mean over decisions of group quality − best member's and − mean member's."""
    if decisions is None or len(decisions) == 0:
        return {"synergy_best": float("nan"), "synergy_mean": float("nan")}
    q = decisions["quality"]
    return {
        "synergy_best": float((q - decisions["best_member_quality"]).mean()),
        "synergy_mean": float((q - decisions["mean_member_quality"]).mean()),
    }


def novel_solution_rate(decisions: pd.DataFrame) -> float:
    """Share of synthesis decisions whose result no member proposed."""
    if decisions is None or len(decisions) == 0:
        return float("nan")
    return metrics.novel_solution_rate(int(decisions["novel"].sum()), len(decisions))


__all__ = [
    "Method",
    "collective_intelligence_ratio",
    "decision_synergy",
    "delta",
    "division_of_labour",
    "entropy",
    "field_entropy",
    "gamma",
    "mutual_information",
    "novel_solution_rate",
    "psi",
    "spatial_entropy",
]
