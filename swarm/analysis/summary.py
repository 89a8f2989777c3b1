"""Summaries of many runs: means with 95 % confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and the two ends of a t-based confidence interval (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    m = float(x.mean())
    if x.size == 1 or np.all(x == x[0]):
        return m, m, m
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * stats.sem(x))
    return m, m - half, m + half


def summarise(df: pd.DataFrame, by: str, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per ``by`` value: ``<metric>``, ``<metric>_lo``, ``<metric>_hi``, ``n``."""
    rows = []
    for key, grp in df.groupby(by, sort=False):
        row = {by: key, "n": len(grp)}
        for m in metrics:
            row[m], row[f"{m}_lo"], row[f"{m}_hi"] = mean_ci(grp[m])
        rows.append(row)
    return pd.DataFrame(rows)


def summary_markdown(summary: pd.DataFrame, by: str, metrics: Sequence[str]) -> str:
    """A Markdown table of ``mean [lo, hi]`` per metric."""
    head = f"| {by} | n | " + " | ".join(metrics) + " |"
    sep = "|" + "---|" * (len(metrics) + 2)
    lines = [head, sep]
    for _, r in summary.iterrows():
        cells = []
        for m in metrics:
            if np.isnan(r[m]):
                cells.append("n/a")
            else:
                cells.append(f"{r[m]:.3g} [{r[f'{m}_lo']:.3g}, {r[f'{m}_hi']:.3g}]")
        lines.append(f"| {r[by]} | {int(r['n'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
