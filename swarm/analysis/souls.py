"""Do souls know what they are good at? Calibration of learned expertise, and whether
levels track competence.

* :func:`calibration`: a reliability table of the members' *estimated* proposal accuracy
  (:meth:`soul.Soul.expertise`, from their track record before the decision) against
  the *realised* one (the share of their proposal's components that were right), from a
  run's ``decisions`` table. Every estimate is made before its outcome is known, so the
  table is out of sample by construction.
* :func:`calibration_error`: the expected calibration error of such a table (the mean
  absolute gap between estimated and realised accuracy, weighted by the bins' counts).
* :func:`level_competence`: per agent, its level at a cut-off step and its competence
  *after* it (proposal accuracy and work quality), with Spearman correlations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _members(decisions: pd.DataFrame) -> pd.DataFrame:
    """One row per member of each decision: ``step``, ``agent_id``, ``domain``,
    ``estimated``, ``realised``."""
    rows = []
    for r in decisions.itertuples(index=False):
        for a, d, e, q in zip(r.agents, r.domains, r.expertise, r.member_qualities, strict=True):
            rows.append((r.step, int(a), d, float(e), float(q)))
    return pd.DataFrame(rows, columns=["step", "agent_id", "domain", "estimated", "realised"])


def calibration(decisions: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Reliability table: per bin of estimated accuracy (equal width on [0, 1]), ``n``
    (member proposals), ``estimated`` and ``realised`` (means), and ``realised_lo`` /
    ``realised_hi`` (a 95 % normal interval of the realised mean)."""
    m = _members(decisions)
    cols = ["bin", "n", "estimated", "realised", "realised_lo", "realised_hi"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    m["bin"] = np.minimum((m["estimated"] * bins).astype(int), bins - 1)
    g = m.groupby("bin")
    out = pd.DataFrame(
        {
            "n": g.size(),
            "estimated": g["estimated"].mean(),
            "realised": g["realised"].mean(),
            "sd": g["realised"].std(ddof=1).fillna(0.0),
        }
    ).reset_index()
    half = 1.96 * out["sd"] / np.sqrt(out["n"])
    out["realised_lo"] = out["realised"] - half
    out["realised_hi"] = out["realised"] + half
    return out[cols]


def calibration_error(table: pd.DataFrame) -> float:
    """Expected calibration error of a :func:`calibration` table (NaN when empty)."""
    if table.empty:
        return float("nan")
    w = table["n"] / table["n"].sum()
    return float((w * (table["estimated"] - table["realised"]).abs()).sum())


def level_competence(
    decisions: pd.DataFrame, work: pd.DataFrame, levels: dict[int, int], after: int
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per agent: ``level`` (its rank at step ``after``: ``levels`` maps agent id to it),
    ``accuracy`` (mean realised accuracy of its proposals after that step) and
    ``quality`` (mean quality of its work after it); and the Spearman correlations of
    level with each (``rho_accuracy``, ``rho_quality``, NaN with fewer than 3 agents)."""
    from scipy.stats import spearmanr

    m = _members(decisions)
    m = m[m["step"] > after]
    w = work[work["step"] > after]
    table = pd.DataFrame({"level": pd.Series(levels, dtype=float)})
    table["accuracy"] = m.groupby("agent_id")["realised"].mean()
    table["quality"] = w.groupby("agent_id")["quality"].mean()
    rho = {}
    for col in ("accuracy", "quality"):
        t = table[["level", col]].dropna()
        ok = len(t) >= 3 and t["level"].nunique() > 1 and t[col].nunique() > 1
        rho[f"rho_{col}"] = float(spearmanr(t["level"], t[col]).statistic) if ok else np.nan
    return table.rename_axis("agent_id").reset_index(), rho


__all__ = ["calibration", "calibration_error", "level_competence"]
