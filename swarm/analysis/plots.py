"""Matplotlib figures of runs (saved as PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from swarm.io import atomic_write
from swarm.world.tasks import TaskType


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
    axes[1].set(title="conflicts", xlabel="step", ylabel="conflicts / take")
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


def bars_figure(summary: pd.DataFrame, by: str, metrics):
    """One panel per metric: a bar per ``by`` value with its 95 % CI (from
    :func:`swarm.analysis.summary.summarise`)."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.8), squeeze=False)
    labels = summary[by].astype(str).tolist()
    for ax, m in zip(axes[0], metrics, strict=True):
        mean = summary[m].to_numpy(dtype=float)
        err = [mean - summary[f"{m}_lo"].to_numpy(float), summary[f"{m}_hi"].to_numpy(float) - mean]
        ax.bar(range(len(labels)), mean, yerr=err, capsize=3, color="tab:blue", alpha=0.8)
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        ax.set_title(m)
    fig.tight_layout()
    return fig


def emergence_figure(report: pd.DataFrame, metrics=None):
    """Emergence metrics over time (the tidy frame of
    :func:`swarm.analysis.emergence.emergence_report`), one panel per metric: the value,
    its null's 95 % band (grey) and mean (dashed) where it has one, its confidence
    interval (blue band) where it has one, a red dot where it is detected, and the
    random-policy run (dotted) when the report has it."""
    plt = _plt()
    over_time = report.groupby("metric")["step"].nunique()
    names = [m for m in (metrics or over_time.index) if over_time.get(m, 0) > 1]
    cols = min(3, max(1, len(names)))
    rows = max(1, -(-len(names) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 3.0 * rows), squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        d = report[report["metric"] == name]
        if "null_lo" in d and d["null_lo"].notna().any():
            ax.fill_between(d["step"], d["null_lo"], d["null_hi"], color="0.85", label="null 95 %")
        if "null_mean" in d and d["null_mean"].notna().any():
            ax.plot(d["step"], d["null_mean"], "--", color="0.5", lw=1, label="null mean")
        if "ci_lo" in d and d["ci_lo"].notna().any():
            ax.fill_between(d["step"], d["ci_lo"], d["ci_hi"], alpha=0.2, label="95 % CI")
        if "random_policy" in d and d["random_policy"].notna().any():
            ax.plot(d["step"], d["random_policy"], ":", color="0.3", label="random policy")
        ax.plot(d["step"], d["value"], marker="." if len(d) < 30 else None, label=name)
        if "detected" in d and d["detected"].any():
            hit = d[d["detected"]]
            ax.plot(hit["step"], hit["value"], "o", color="#c44e52", label="detected")
        ax.set(title=name, xlabel="step")
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def reliability_figure(table: pd.DataFrame, title: str = "learned expertise"):
    """A reliability diagram of a :func:`swarm.analysis.souls.calibration` table: realised
    against estimated accuracy per bin (the 95 % interval as an error bar, the marker's
    area by the bin's count), and the diagonal of perfect calibration."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], "--", color="0.6", lw=1, label="calibrated")
    if not table.empty:
        err = [table["realised"] - table["realised_lo"], table["realised_hi"] - table["realised"]]
        ax.errorbar(table["estimated"], table["realised"], yerr=err, fmt="none", ecolor="0.4")
        size = 20 + 300 * table["n"] / table["n"].max()
        ax.scatter(table["estimated"], table["realised"], s=size, zorder=3, label="bins")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="estimated accuracy (before the decision)",
        ylabel="realised accuracy",
        title=title,
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def sweep_figure(results: pd.DataFrame, x: str, metric: str, y: str | None = None):
    """A sweep's results: ``metric`` (mean over seeds) as a heat map over ``x`` × ``y``,
    or, without ``y``, against ``x`` with a 95 % CI band."""
    from swarm.analysis.summary import mean_ci

    plt = _plt()
    for col in (x, metric, y):
        if col is not None and col not in results:
            raise KeyError(f"no column {col!r} in the results (have: {', '.join(results)})")
    ok = results[results.get("status", "ok") == "ok"]
    if y is None:
        rows = [(k, *mean_ci(g[metric])) for k, g in ok.groupby(x)]
        xs, mean, lo, hi = zip(*rows, strict=True) if rows else ((), (), (), ())
        fig, ax = plt.subplots(figsize=(6, 3.8))
        if pd.api.types.is_numeric_dtype(ok[x]):
            ax.plot(xs, mean, marker="o")
            ax.fill_between(xs, lo, hi, alpha=0.25)
        else:  # categories (e.g. voting rules): points with CI bars, no line
            err = [np.subtract(mean, lo), np.subtract(hi, mean)]
            ax.errorbar([str(v) for v in xs], mean, yerr=err, fmt="o", capsize=4)
        ax.set(xlabel=x, ylabel=metric, title=f"{metric} (mean, 95 % CI over seeds)")
        fig.tight_layout()
        return fig
    grid = ok.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(1.2 * grid.shape[1] + 2.5, 0.8 * grid.shape[0] + 1.8))
    im = ax.imshow(grid.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [f"{v:g}" for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{v:g}" for v in grid.index])
    for (i, j), v in np.ndenumerate(grid.to_numpy()):
        ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="w", fontsize=8)
    ax.set(xlabel=x, ylabel=y, title=f"{metric} (mean over seeds)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def _tick(v) -> str:
    return f"{v:g}" if isinstance(v, int | float | np.number) else str(v)


def paired_heatmap(
    paired: pd.DataFrame,
    x: str,
    y: str,
    metric: str,
    condition: str,
    facet: str | None = None,
    relative: bool = True,
    reverse: bool = False,
):
    """A sweep's paired table (``paired.csv``) as heat maps: the difference
    ``condition − reference`` in ``metric`` over ``x`` × ``y`` (one panel per value of
    ``facet``), each cell written with its 95 % CI and the seeds it used; ``relative``
    shows it as a percentage of the reference's mean; ``reverse`` shows
    ``reference − condition`` (what the reference's mechanism adds; relative: as a
    percentage of the condition's mean). Cells whose interval excludes 0 are
    bold; the others are marked "n.s."."""
    plt = _plt()
    for col in (x, y, facet):
        if col is not None and col not in paired:
            raise KeyError(f"no column {col!r} in the paired table (have: {', '.join(paired)})")
    rows = paired[(paired["metric"] == metric) & (paired["condition"] == condition)].copy()
    if rows.empty:
        raise KeyError(f"no rows for condition {condition!r} and metric {metric!r}")
    base = rows["ref_mean"] + rows["mean_diff"] if reverse else rows["ref_mean"]
    scale = 100 / base if relative else 1.0
    for col in ("mean_diff", "ci_low", "ci_high"):
        rows[col] = rows[col] * scale
    if reverse:
        rows["mean_diff"], rows["ci_low"], rows["ci_high"] = (
            -rows["mean_diff"],
            -rows["ci_high"],
            -rows["ci_low"],
        )
    facets = sorted(rows[facet].unique()) if facet else [None]
    lim = float(np.nanmax(np.abs(rows["mean_diff"]))) or 1.0
    fig, axes = plt.subplots(1, len(facets), figsize=(4.6 * len(facets) + 1.2, 4.2), squeeze=False)
    reference = rows["reference"].iloc[0]
    unit = f" (% of {condition if reverse else reference})" if relative else ""
    for ax, value in zip(axes[0], facets, strict=True):
        sub = rows if value is None else rows[rows[facet] == value]
        grid = {
            c: sub.pivot_table(index=y, columns=x, values=c)
            for c in ("mean_diff", "ci_low", "ci_high", "n_seeds")
        }
        mean = grid["mean_diff"]
        im = ax.imshow(
            mean.to_numpy(), origin="lower", aspect="auto", cmap="RdBu", vmin=-lim, vmax=lim
        )
        ax.set_xticks(range(mean.shape[1]), [_tick(v) for v in mean.columns])
        ax.set_yticks(range(mean.shape[0]), [_tick(v) for v in mean.index])
        for (i, j), v in np.ndenumerate(mean.to_numpy()):
            v = v + 0.0  # no "-0"
            lo, hi = grid["ci_low"].iat[i, j] + 0.0, grid["ci_high"].iat[i, j] + 0.0
            n = grid["n_seeds"].iat[i, j]
            sure = np.isfinite(lo) and (lo > 0 or hi < 0)
            text = f"{v:+.3g}\n[{lo:+.2g}, {hi:+.2g}]\nn={n:g}" + ("" if sure else " n.s.")
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                fontweight="bold" if sure else "normal",
                color="w" if abs(v) > 0.6 * lim else "k",
            )
        title = f"{facet}={_tick(value)}" if facet else ""
        ax.set(xlabel=x, ylabel=y, title=title)
    pair = f"{reference} − {condition}" if reverse else f"{condition} − {reference}"
    fig.suptitle(f"{pair}: {metric}{unit}, mean and 95 % CI (paired)")
    fig.colorbar(im, ax=list(axes[0]))
    return fig


TASK_MARKERS = {TaskType.COORDINATION: "s", TaskType.HANDOFF: "D", TaskType.SYNTHESIS: "*"}


def grid_figure(model, channel: str = "claim", ax=None):
    """The world at this step: ``channel``'s trace field as a heat map (its Mesa property
    layer), agents coloured by main domain and sized by soul level, tasks marked by type.
    Draws on ``ax`` when given (returns its figure), else on a new figure."""
    plt = _plt()
    from matplotlib.lines import Line2D

    from soul.levels import Level

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 6.2))
    else:
        fig = ax.figure
    field = np.asarray(model.traces.values(channel))
    im = ax.imshow(
        field.T,
        origin="lower",
        cmap="magma",
        extent=(-0.5, model.width - 0.5, -0.5, model.height - 0.5),
        vmin=0.0,
        vmax=max(float(field.max()), 1e-9),
    )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label=f"{channel} trace")
    cmap = plt.get_cmap("tab10")
    colour = {d: cmap(k % 10) for k, d in enumerate(model.domains)}
    ranks = [Level(model.level_names[i]).rank for i in range(len(model.swarm))]
    ax.scatter(
        model.ax,
        model.ay,
        s=[30 + 35 * r for r in ranks],
        c=[colour.get(a.main_domain, (0.7, 0.7, 0.7, 1.0)) for a in model.swarm],
        edgecolors="white",
        linewidths=0.8,
        zorder=3,
    )
    for kind, marker in TASK_MARKERS.items():
        ts = [t for t in model.board.tasks.values() if t.task_type == kind]
        if ts:
            ax.scatter(
                [t.x for t in ts],
                [t.y for t in ts],
                marker=marker,
                s=60,
                facecolors="none",
                edgecolors="#00e5ff",
                linewidths=1.2,
                zorder=2,
            )
    handles = [
        Line2D([], [], marker="o", ls="", color=colour[d], label=d) for d in model.domains
    ] + [
        Line2D([], [], marker=m, ls="", mfc="none", mec="#00a0b0", label=k)
        for k, m in TASK_MARKERS.items()
    ]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=5, fontsize=7)
    ax.set(xlim=(-0.5, model.width - 0.5), ylim=(-0.5, model.height - 0.5))
    ax.set_title(f"step {model.steps}: {channel} traces, agents, tasks", fontsize=9)
    fig.tight_layout()
    return fig


def level_figure(levels, ax=None):
    """How many agents are at each soul level (``levels``: level names)."""
    plt = _plt()
    from soul.levels import Level

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.0))
    else:
        fig = ax.figure
    names = [lv.value for lv in Level]
    counts = [sum(1 for x in levels if x == n) for n in names]
    ax.bar(names, counts, color="#8172b2")
    ax.set(ylabel="agents", title="soul levels")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def decision_quality_figure(decisions: pd.DataFrame):
    """Each synthesis decision's group quality against its best member's (a run's
    ``decisions`` table): above the diagonal the vote beat its best member."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.plot([0, 1], [0, 1], "--", color="0.6", lw=1, label="as good as the best member")
    if len(decisions):
        ax.scatter(
            decisions["best_member_quality"], decisions["quality"], s=18, alpha=0.6,
            label=f"{len(decisions)} decisions",
        )  # fmt: skip
    ax.set(
        xlim=(-0.02, 1.02),
        ylim=(-0.02, 1.02),
        xlabel="best member's quality",
        ylabel="group quality",
        title="synthesis decisions",
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
