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
  novel-solution rate (decisions better than the best member's own proposal), from the
  model's ``decisions`` table, with intervals and a sign test (:func:`decision_tests`).
* :func:`trend` and :func:`trend_test`: self-organisation as a series (an entropy, a
  concentration) trending over the run, against block-shuffled surrogates.

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


def _gaussian_logdet(a: np.ndarray, correct: bool = False) -> float:
    """``ln det`` of the sample covariance; with ``correct``, less its expected bias for
    Gaussian data, ``d ln(2 / (N-1)) + Σ_i ψ((N - i) / 2)`` (the Wishart mean of the log
    determinant), so entropies and mutual informations are unbiased at any N."""
    if a.shape[1] == 0:
        return 0.0
    cov = np.atleast_2d(np.cov(a, rowvar=False))
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError("covariance is singular: a variable is constant or a copy of others")
    if correct:
        from scipy.special import digamma

        n, d = a.shape
        logdet -= d * np.log(2.0 / (n - 1)) + float(digamma((n - np.arange(1, d + 1)) / 2).sum())
    return float(logdet)


def _bins(a: np.ndarray) -> int:
    return len(np.unique(a, axis=0))


def _h_counts(counts: np.ndarray) -> tuple[float, int]:
    c = counts[counts > 0]
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum()), len(c)


def _mi_1d(x: np.ndarray, y: np.ndarray, correct: bool) -> float:
    """Discrete MI of two coded 1-D series by counting (the fast path: no sorting)."""
    x = np.unique(x, return_inverse=True)[1].ravel()
    y = np.unique(y, return_inverse=True)[1].ravel()
    ny = int(y.max()) + 1
    hx, mx = _h_counts(np.bincount(x))
    hy, my = _h_counts(np.bincount(y))
    hxy, mxy = _h_counts(np.bincount(x * ny + y))
    plug_in = hx + hy - hxy
    if not correct:
        return max(0.0, plug_in)
    return plug_in - (mxy - mx - my + 1) / (2 * len(x) * _LN2)


def _informative(a: np.ndarray) -> np.ndarray:
    return a[:, np.ptp(a, axis=0) > 0]


def mutual_information(
    x: Any, y: Any, method: Method = "gaussian", *, correct: bool = False
) -> float:
    """I(X; Y) in bits between the rows of ``x`` and ``y`` (``T`` or ``T × k`` each).

    ``gaussian``: ``½ log(det Σx det Σy / det Σxy)``; constant columns carry no
    information and are dropped. ``discrete``: ``H(X) + H(Y) − H(X, Y)`` from frequencies.

    ``correct=True`` removes the estimator's bias, for series of hundreds of points:
    Miller–Madow for ``discrete`` (each entropy gains ``(m − 1) / 2N`` nats, ``m`` its
    observed symbols, so the MI loses ``(m_xy − m_x − m_y + 1) / 2N``), the Wishart bias
    of each log determinant for ``gaussian``. Corrected estimates are not clipped at 0
    (clipping would bias them up again): a negative value means no detectable
    information.
    """
    x, y = _columns(x), _columns(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
    if len(x) < 2:
        raise ValueError("mutual information needs at least 2 samples")
    if method == "discrete":
        x, y = _codes(x), _codes(y)
        if x.shape[1] == 1 and y.shape[1] == 1:
            return _mi_1d(x[:, 0], y[:, 0], correct)
        xy = np.hstack([x, y])
        plug_in = entropy(x) + entropy(y) - entropy(xy)
        if not correct:
            return max(0.0, plug_in)
        return plug_in - (_bins(xy) - _bins(x) - _bins(y) + 1) / (2 * len(x) * _LN2)
    if method != "gaussian":
        raise ValueError(f"method must be 'gaussian' or 'discrete', got {method!r}")
    x, y = _informative(x.astype(float)), _informative(y.astype(float))
    if x.shape[1] == 0 or y.shape[1] == 0:
        return 0.0
    ld = [_gaussian_logdet(a, correct) for a in (x, y, np.hstack([x, y]))]
    nats = 0.5 * (ld[0] + ld[1] - ld[2])
    return nats / _LN2 if correct else max(0.0, nats / _LN2)


def _lagged(micro: Any, macro: Any, tau: int) -> tuple[np.ndarray, np.ndarray]:
    x, v = _columns(micro), _columns(macro)
    if len(x) != len(v):
        raise ValueError(f"micro has {len(x)} time points but macro has {len(v)}")
    if tau < 1 or tau >= len(x) - 1:
        raise ValueError(f"tau must be in [1, T - 2], got {tau} for T = {len(x)}")
    return x, v


def psi(
    micro: Any,
    macro: Any,
    tau: int = 1,
    method: Method = "gaussian",
    *,
    correct: bool = False,
    redundancy: bool = False,
) -> float:
    """Ψ = I(V_t; V_t+τ) − Σ_j I(X^j_t; V_t+τ), in bits.

    ``correct``: bias-corrected mutual information (:func:`mutual_information`).
    ``redundancy``: the double-redundancy correction of Mediano et al. (2022, "Greater
    than the parts", Φ-ID with the minimum-mutual-information redundancy): the sum over
    parts counts the information every part shares about V_t+τ ``n`` times, so
    ``(n − 1) · min_j I(X^j_t; V_t+τ)`` is added back. Ψ > 0 stays sufficient for causal
    emergence, and is less conservative with many parts."""
    x, v = _lagged(micro, macro, tau)
    future = v[tau:]
    whole = mutual_information(v[:-tau], future, method, correct=correct)
    each = [
        mutual_information(x[:-tau, j], future, method, correct=correct) for j in range(x.shape[1])
    ]
    out = whole - sum(each)
    if redundancy:
        out += (len(each) - 1) * max(min(each), 0.0)
    return out


def delta(
    micro: Any, macro: Any, tau: int = 1, method: Method = "gaussian", *, correct: bool = False
) -> float:
    """Δ = max_j [I(V_t; X^j_t+τ) − Σ_i I(X^i_t; X^j_t+τ)], in bits."""
    x, v = _lagged(micro, macro, tau)
    best = -np.inf
    for j in range(x.shape[1]):
        target = x[tau:, j]
        down = mutual_information(v[:-tau], target, method, correct=correct)
        parts = sum(
            mutual_information(x[:-tau, i], target, method, correct=correct)
            for i in range(x.shape[1])
        )
        best = max(best, down - parts)
    return float(best)


def gamma(
    micro: Any, macro: Any, tau: int = 1, method: Method = "gaussian", *, correct: bool = False
) -> float:
    """Γ = max_j I(V_t; X^j_t+τ), in bits."""
    x, v = _lagged(micro, macro, tau)
    return float(
        max(
            mutual_information(v[:-tau], x[tau:, j], method, correct=correct)
            for j in range(x.shape[1])
        )
    )


# Surrogate tests --------------------------------------------------------------------------

Surrogate = Literal["circular-shift", "time-shuffle"]
_MACROS = {"sum": lambda x: x.sum(axis=1), "mean": lambda x: x.mean(axis=1)}


def _macro_of(micro: np.ndarray, macro: Any):
    """``macro`` as a function of the micro array: a callable as is, ``"sum"`` or
    ``"mean"`` of the parts, or an array that equals one of those (else None)."""
    if callable(macro):
        return macro
    if isinstance(macro, str):
        if macro not in _MACROS:
            raise ValueError(f"macro must be an array, a function, 'sum' or 'mean'; got {macro!r}")
        return _MACROS[macro]
    v = np.asarray(macro)
    for fn in _MACROS.values():
        if v.shape == (len(micro),) and np.allclose(v, fn(micro)):
            return fn
    return None


def emergence_test(
    measure,
    micro: Any,
    macro: Any,
    *,
    tau: int = 1,
    surrogate: Surrogate = "circular-shift",
    n_surrogates: int = 200,
    rng: int | np.random.Generator = 0,
    alpha: float = 0.05,
    **kwargs: Any,
) -> dict[str, Any]:
    """``measure(micro, macro, tau=tau, **kwargs)`` (e.g. :func:`psi`) against its value on
    surrogates in which the effect cannot exist, with a one-sided p-value.

    Surrogates:

    * ``circular-shift`` (default): each part's series is rotated by its own random offset
      and the macro is computed again from the rotated parts. Each part keeps its own
      dynamics (autocorrelation, marginal) while the coordination between parts is
      destroyed: the null of independent parts. The macro must be computable from the
      parts: a function of the ``T × n`` array, ``"sum"``, ``"mean"``, or an array equal
      to the parts' sum or mean.
    * ``time-shuffle``: the time points of the whole system (parts and macro together) are
      permuted: no part and no macro predicts anything's future (the null of no dynamics).

    Returns ``value``, ``null_mean``, ``null_lo`` and ``null_hi`` (the surrogates' 2.5 and
    97.5 percentiles), ``p_value`` (``(1 + #{null ≥ value}) / (1 + n_surrogates)``),
    ``detected`` (``p_value < alpha``), ``surrogate`` and ``n_surrogates``.
    """
    x = _columns(micro)
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be >= 1, got {n_surrogates}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    make = _macro_of(x, macro)
    v = make(x) if make is not None else np.asarray(macro)
    value = float(measure(x, v, tau=tau, **kwargs))
    T = len(x)
    null = np.empty(n_surrogates)
    for k in range(n_surrogates):
        if surrogate == "circular-shift":
            if make is None:
                raise ValueError(
                    "circular-shift recomputes the macro from the shifted parts: pass macro "
                    "as a function of the parts, 'sum' or 'mean'"
                )
            shifts = gen.integers(1, T, x.shape[1])
            xs = np.column_stack([np.roll(x[:, j], s) for j, s in enumerate(shifts)])
            null[k] = measure(xs, make(xs), tau=tau, **kwargs)
        elif surrogate == "time-shuffle":
            order = gen.permutation(T)
            null[k] = measure(x[order], _columns(v)[order], tau=tau, **kwargs)
        else:
            raise ValueError(
                f"surrogate must be 'circular-shift' or 'time-shuffle', got {surrogate!r}"
            )
    p = (1 + int(np.sum(null >= value))) / (1 + n_surrogates)
    return {
        "value": value,
        "null_mean": float(null.mean()),
        "null_lo": float(np.quantile(null, 0.025)),
        "null_hi": float(np.quantile(null, 0.975)),
        "p_value": p,
        "detected": bool(p < alpha),
        "surrogate": surrogate,
        "n_surrogates": n_surrogates,
    }


def trend(series: Any) -> float:
    """Least-squares slope of a series per 100 time points (NaN points left out)."""
    y = np.asarray(series, dtype=float)
    t = np.arange(len(y), dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(t[ok]) == 0:
        return float("nan")
    return float(np.polyfit(t[ok], y[ok], 1)[0] * 100)


def trend_test(
    series: Any,
    *,
    direction: Literal["falling", "rising"] = "falling",
    blocks: int = 10,
    n_surrogates: int = 200,
    rng: int | np.random.Generator = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Is a series trending (self-organisation: e.g. an entropy falling over time) beyond
    what its own fluctuations give? The :func:`trend` against ``block-shuffle``
    surrogates: the series cut into ``blocks`` consecutive blocks whose order is permuted,
    which keeps the short-range autocorrelation and the values and destroys any trend
    across the run. One-sided in ``direction``; keys as :func:`emergence_test`."""
    if direction not in ("falling", "rising"):
        raise ValueError(f"direction must be 'falling' or 'rising', got {direction!r}")
    if n_surrogates < 1:
        raise ValueError(f"n_surrogates must be >= 1, got {n_surrogates}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    y = np.asarray(series, dtype=float)
    y = y[np.isfinite(y)]
    value = trend(y)
    base = {"value": value, "surrogate": "block-shuffle", "n_surrogates": n_surrogates}
    if not np.isfinite(value) or len(y) < 2 * blocks:
        return base | {"p_value": float("nan"), "detected": False}
    parts = np.array_split(y, blocks)

    def shuffled() -> np.ndarray:
        return np.concatenate([parts[k] for k in gen.permutation(blocks)])

    null = np.array([trend(shuffled()) for _ in range(n_surrogates)])
    sign = -1.0 if direction == "falling" else 1.0
    p = (1 + int(np.sum(sign * null >= sign * value))) / (1 + n_surrogates)
    return base | {
        "null_mean": float(null.mean()),
        "null_lo": float(np.quantile(null, 0.025)),
        "null_hi": float(np.quantile(null, 0.975)),
        "p_value": p,
        "detected": bool(p < alpha),
    }


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
    """Share of synthesis decisions better than every member's own proposal (group
    quality > best member's)."""
    if decisions is None or len(decisions) == 0:
        return float("nan")
    novel = decisions["quality"] > decisions["best_member_quality"] + 1e-12
    return metrics.novel_solution_rate(int(novel.sum()), len(decisions))


def decision_tests(decisions: pd.DataFrame, confidence: float = 0.95) -> dict[str, dict]:
    """The novel-solution rate and the group − best-member synergy, each with a confidence
    interval (``ci_lo``, ``ci_hi``: Wilson for the rate, Student's t for the mean) and a
    one-sided ``p_value`` for "the group beats its best member": the sign test of
    decisions above the best member against decisions below it (ties left out), so a
    rule that recombines without improving is not credited (``surrogate``:
    ``sign-test``). The rate's ``null_mean`` is the share of decisions *below* the best
    member (what the rate would be were gains and losses symmetric); the synergy's is 0."""
    from scipy import stats

    nan = float("nan")
    n = 0 if decisions is None else len(decisions)
    if n == 0:
        return {k: {"value": nan} for k in ("novel_solution_rate", "synergy_best")}
    diff = (decisions["quality"] - decisions["best_member_quality"]).to_numpy(dtype=float)
    above, below = int(np.sum(diff > 1e-12)), int(np.sum(diff < -1e-12))
    p = (
        float(stats.binomtest(above, above + below, 0.5, alternative="greater").pvalue)
        if above + below
        else nan
    )
    wilson = stats.binomtest(above, n).proportion_ci(confidence, method="wilson")
    mean = float(diff.mean())
    if n > 1 and diff.std() > 0:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * diff.std(ddof=1) / np.sqrt(n)
    else:
        half = nan
    test = {"p_value": p, "surrogate": "sign-test"}
    return {
        # the null's rate: how often the group falls below its best member
        "novel_solution_rate": test
        | {
            "value": above / n,
            "null_mean": below / n,
            "ci_lo": float(wilson.low),
            "ci_hi": float(wilson.high),
        },
        "synergy_best": test
        | {"value": mean, "null_mean": 0.0, "ci_lo": mean - half, "ci_hi": mean + half},
    }


__all__ = [
    "Method",
    "collective_intelligence_ratio",
    "decision_synergy",
    "decision_tests",
    "delta",
    "division_of_labour",
    "emergence_test",
    "entropy",
    "field_entropy",
    "gamma",
    "mutual_information",
    "novel_solution_rate",
    "psi",
    "spatial_entropy",
    "trend",
    "trend_test",
]
