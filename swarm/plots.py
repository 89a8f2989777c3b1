"""Matplotlib figures of runs (saved as PNG)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from swarm.io import atomic_write


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def summary_figure(model_df: pd.DataFrame, title: str = ""):
    """Throughput (rolling mean), conflicts and mean XP over time."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    step = model_df.get("step", model_df.index)
    window = max(1, len(model_df) // 20)
    axes[0].plot(step, model_df["throughput"].rolling(window, min_periods=1).mean())
    axes[0].set(title=f"throughput (rolling {window})", xlabel="step", ylabel="tasks / step")
    axes[1].plot(step, model_df["conflict_rate"], label="conflict rate")
    axes[1].set(title="conflicts", xlabel="step", ylabel="conflicts / claim")
    ax2 = axes[1].twinx()
    ax2.plot(step, model_df["conflicts"], color="tab:red", alpha=0.5, label="conflicts")
    ax2.set_ylabel("cumulative conflicts")
    axes[2].plot(step, model_df["mean_xp"])
    axes[2].set(title="mean soul XP", xlabel="step", ylabel="XP")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def comparison_figure(runs: pd.DataFrame, metric: str, by: str = "policy"):
    """``metric`` over steps, mean across seeds with a min-max band, one line per ``by``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, grp in runs.groupby(by, sort=False):
        stats = grp.groupby("step")[metric].agg(["mean", "min", "max"])
        ax.plot(stats.index, stats["mean"], label=str(name))
        ax.fill_between(stats.index, stats["min"], stats["max"], alpha=0.2)
    ax.set(xlabel="step", ylabel=metric, title=f"{metric} by {by}")
    ax.legend()
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | Path) -> Path:
    plt = _plt()
    try:
        return atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    finally:
        plt.close(fig)
