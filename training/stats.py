"""Statistics for evaluation and A/B tests (the names are the spec's).

* :func:`two_proportion_ztest`: are two success rates different (pooled z-test)?
* :func:`mcnemar_exact`: paired outcomes (both arms on the same eval items): exact test
  on the discordant pairs.
* :func:`bootstrap_ci`: a percentile bootstrap interval for any statistic, seeded.
* :func:`welch_ttest`, :func:`mann_whitney`: latency and cost (unequal variances; or no
  distributional assumption).
* :func:`sample_size_two_proportions`: how many per arm to detect ``p1`` vs ``p2``.
* :func:`wilson_ci`: a proportion's Wilson score interval.
* :func:`paired_proportion_diff_ci`: the difference of two rates on the same items.
* :func:`proportion_diff_ci` and :func:`non_inferior`: the difference of two rates with
  a Newcombe (Wilson score) interval, and the non-inferiority verdict at a margin.

All p-values are two-sided unless a function says otherwise. The tests check every
function against scipy or statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, stats


def two_proportion_ztest(
    successes_a: int, n_a: int, successes_b: int, n_b: int
) -> tuple[float, float]:
    """Pooled two-proportion z-test of ``p_a == p_b``: ``(z, p)``, z > 0 when a is higher."""
    if min(n_a, n_b) <= 0:
        raise ValueError("both groups need at least one trial")
    pa, pb = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return (0.0, 1.0) if pa == pb else (math.copysign(math.inf, pa - pb), 0.0)
    z = (pa - pb) / se
    return z, float(2 * stats.norm.sf(abs(z)))


def mcnemar_exact(b: int, c: int) -> float:
    """Exact McNemar test: ``b`` pairs where only A succeeded, ``c`` where only B did.
    Two-sided binomial test of b ~ Binomial(b + c, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(b, c), n, 0.5)))


def bootstrap_ci(
    values: Sequence[float],
    stat: Callable[[np.ndarray], float] = np.mean,
    level: float = 0.95,
    rng: np.random.Generator | int | None = None,
    n_resamples: int = 10_000,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat(values)`` (resampling with replacement)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    idx = gen.integers(0, x.size, size=(n_resamples, x.size))
    boots = np.apply_along_axis(stat, 1, x[idx]) if stat is not np.mean else x[idx].mean(1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boots, [alpha, 1 - alpha])
    return float(lo), float(hi)


def welch_ttest(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Welch's t-test (unequal variances) of mean(a) == mean(b): ``(t, p)``."""
    res = stats.ttest_ind(a, b, equal_var=False)
    return float(res.statistic), float(res.pvalue)


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mann-Whitney U test (no distributional assumption): ``(U of a, p)``."""
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def sample_size_two_proportions(
    p1: float, p2: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Per-arm sample size for a two-sided two-proportion test of ``p1`` vs ``p2``
    (arcsine effect size h = 2·asin√p1 − 2·asin√p2, normal approximation, both tails),
    rounded up."""
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must lie in (0, 1)")
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    if h == 0:
        raise ValueError("p1 == p2: no sample size detects no difference")
    crit = stats.norm.isf(alpha / 2)

    def achieved(n: float) -> float:
        shift = h * math.sqrt(n / 2)
        return stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift) - power

    n = optimize.brentq(achieved, 1e-6, 1e9)
    return math.ceil(n - 1e-9)


def wilson_ci(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(nan, nan)`` with no trials)."""
    if n <= 0:
        return float("nan"), float("nan")
    return _wilson(successes, n, stats.norm.isf((1 - level) / 2))


def _wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # exactly 0 (1) with no (only) successes: centre − half is 0 there only up to rounding
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def proportion_diff_ci(
    successes_a: int, n_a: int, successes_b: int, n_b: int, level: float = 0.95
) -> tuple[float, float, float]:
    """``p_a − p_b`` and its Newcombe hybrid score interval: ``(diff, lo, hi)``."""
    z = stats.norm.isf((1 - level) / 2)
    pa, pb = successes_a / n_a, successes_b / n_b
    la, ua = _wilson(successes_a, n_a, z)
    lb, ub = _wilson(successes_b, n_b, z)
    d = pa - pb
    lo = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    hi = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return d, lo, hi


def paired_proportion_diff_ci(
    b: int, c: int, n: int, level: float = 0.95
) -> tuple[float, float, float]:
    """Difference of two success rates measured on the same ``n`` items (B − A), where
    ``b`` items only A got right and ``c`` only B did: ``((c − b) / n, lo, hi)``, a Wald
    interval with the paired variance (the variance of the per-item differences / n)."""
    if n <= 0:
        raise ValueError("no paired items")
    d = (c - b) / n
    se = math.sqrt(max((b + c) / n - d * d, 0.0) / n)
    z = stats.norm.isf((1 - level) / 2)
    return d, d - z * se, d + z * se


def non_inferior(
    successes_test: int,
    n_test: int,
    successes_control: int,
    n_control: int,
    margin: float = 0.05,
    level: float = 0.95,
) -> tuple[bool, float, float]:
    """Is the test arm no worse than control by more than ``margin``? One-sided at
    ``(1 − level) / 2``: passes when the lower end of the difference's interval is above
    ``−margin``. Returns ``(passed, diff, lower bound)``."""
    d, lo, _ = proportion_diff_ci(successes_test, n_test, successes_control, n_control, level)
    return lo > -margin, d, lo
