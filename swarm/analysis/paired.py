"""Paired comparisons over seeds: each condition against a reference on the same seeds.

For every condition and metric, the per-seed differences ``condition − reference`` (seeds
where either value is missing are left out) give: the mean difference with a t and a
bootstrap 95 % interval, the paired effect size ``d_z = mean / sd``, the paired t-test's
p, the Holm-adjusted p across the whole table (``statsmodels.stats.multitest``), and the
seeds a paired t-test would need for 80 % power at the observed ``d_z``
(``statsmodels.stats.power.TTestPower``), and ``corr``, the correlation over seeds of the
condition's and the reference's values (what pairing buys: the variance of a difference
is ``var_a + var_b − 2·corr·sd_a·sd_b``), and ``ref_mean``, the reference's mean on
those seeds (to read a difference as a share of it). One metric may be named primary; the rest are
secondary (the Holm adjustment covers them all).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

#: The columns of a paired table (``paired.csv``).
PAIRED_COLUMNS: tuple[str, ...] = (
    "condition",
    "reference",
    "metric",
    "primary",
    "mean_diff",
    "ci_low",
    "ci_high",
    "boot_low",
    "boot_high",
    "d_z",
    "p",
    "p_holm",
    "n_seeds",
    "seeds_for_80pct_power",
    "corr",
    "ref_mean",
)


def paired_difference(diff: np.ndarray, rng: int = 0, resamples: int = 2000) -> dict[str, float]:
    """Statistics of one set of per-seed differences (NaNs dropped)."""
    d = np.asarray(diff, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    out = {k: float("nan") for k in PAIRED_COLUMNS[4:-2]}
    out["n_seeds"] = n
    if n == 0:
        return out
    mean = float(d.mean())
    out["mean_diff"] = mean
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    if sd == 0:
        out.update(ci_low=mean, ci_high=mean, boot_low=mean, boot_high=mean)
        out["p"] = 1.0 if mean == 0 else 0.0
        return out
    half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n))
    out["ci_low"], out["ci_high"] = mean - half, mean + half
    boot = stats.bootstrap(
        (d,), np.mean, n_resamples=resamples, confidence_level=0.95, random_state=rng
    )
    out["boot_low"] = float(boot.confidence_interval.low)
    out["boot_high"] = float(boot.confidence_interval.high)
    out["d_z"] = mean / sd
    out["p"] = float(stats.ttest_1samp(d, 0.0).pvalue)
    out["seeds_for_80pct_power"] = seeds_for_power(out["d_z"])
    return out


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r of the seeds where both are finite (NaN under 3 seeds or no spread)."""
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def seeds_for_power(d_z: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Seeds a two-sided paired t-test needs to detect ``d_z`` (NaN for no effect)."""
    import warnings

    from statsmodels.stats.power import TTestPower

    if not np.isfinite(d_z) or d_z == 0:
        return float("nan")
    test, effect = TTestPower(), abs(d_z)
    for n in range(2, 11):  # small samples by hand: the solver fails on huge effects
        got = test.power(effect_size=effect, nobs=n, alpha=alpha)
        if np.isnan(got):  # scipy's noncentral t underflows where power is all but 1
            got = 1.0 if effect > 3 else 0.0
        if got >= power:
            return float(n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the solver's convergence chatter
        n = test.solve_power(effect_size=effect, alpha=alpha, power=power)
    return float(np.ceil(n)) if np.isfinite(n) else float("nan")


def paired_table(
    per_seed: pd.DataFrame,
    metrics: Sequence[str],
    *,
    by: str = "condition",
    reference: str = "swarm",
    primary: str | None = None,
    seed: str = "seed",
    rng: int = 0,
    adjust: bool = True,
) -> pd.DataFrame:
    """One row per (condition other than ``reference``, metric), :data:`PAIRED_COLUMNS`.

    ``per_seed`` has one row per (``by``, ``seed``) with the metrics as columns.
    ``adjust=False`` leaves ``p_holm`` empty, for tables that are adjusted together
    (:func:`holm`)."""
    if reference not in set(per_seed[by]):
        raise ValueError(f"the reference {reference!r} is not among the {by}s")
    if primary is not None and primary not in metrics:
        raise ValueError(f"the primary metric {primary!r} is not one of {list(metrics)}")
    ref = per_seed[per_seed[by] == reference].set_index(seed)
    rows = []
    for condition, grp in per_seed.groupby(by, sort=False):
        if condition == reference:
            continue
        mine = grp.set_index(seed)
        common = mine.index.intersection(ref.index)
        for m in metrics:
            a, b = mine.loc[common, m].to_numpy(float), ref.loc[common, m].to_numpy(float)
            rows.append(
                {
                    "condition": condition,
                    "reference": reference,
                    "metric": m,
                    "primary": m == primary,
                    **paired_difference(a - b, rng),
                    "corr": correlation(a, b),
                    "ref_mean": float(np.nanmean(b)) if np.isfinite(b).any() else np.nan,
                }
            )
    table = pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))
    return holm(table) if adjust else table


def holm(table: pd.DataFrame) -> pd.DataFrame:
    """``p_holm``: Holm's step-down adjustment of every ``p`` in the table at once."""
    from statsmodels.stats.multitest import multipletests

    table = table.copy()
    tested = table["p"].notna()
    table["p_holm"] = np.nan
    if tested.any():
        table.loc[tested, "p_holm"] = multipletests(table.loc[tested, "p"], method="holm")[1]
    return table


def paired_markdown(table: pd.DataFrame, cells: Sequence[str] = ()) -> str:
    """A Markdown table: the primary metric first, then the secondary ones; ``cells``
    (a sweep's grid parameters) label each row's grid point."""

    def fmt(v: float) -> str:
        return "n/a" if not np.isfinite(v) else f"{v:.3g}"

    head = (
        "| condition − reference | metric | mean diff [95 % CI] | d_z | p (Holm) | seeds |"
        " seeds for 80 % power | r |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    order = table.sort_values("primary", ascending=False, kind="stable")
    for _, r in order.iterrows():
        metric = f"**{r['metric']}** (primary)" if r["primary"] else r["metric"]
        where = ", ".join(f"{c}={r[c]}" for c in cells)
        where = f" ({where})" if where else ""
        ci = f"{fmt(r['mean_diff'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"
        lines.append(
            f"| {r['condition']} − {r['reference']}{where} | {metric} | {ci} | {fmt(r['d_z'])} | "
            f"{fmt(r['p'])} ({fmt(r['p_holm'])}) | {int(r['n_seeds'])} | "
            f"{fmt(r['seeds_for_80pct_power'])} | {fmt(r['corr'])} |"
        )
    return "\n".join(lines) + "\n"
