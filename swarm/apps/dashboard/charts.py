"""ECharts options for the dashboard's panels: plain dicts built from a model or a report,
drawn in the browser (canvas) by the ECharts that ``solara-assets`` serves locally.

Every builder is a pure function, so the panels are tested without a browser. Missing
values are ``"-"`` (ECharts' gap); animation is off (a frame per step)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from swarm.world.tasks import TaskState, TaskType

#: Colours of the agents' main domains (matplotlib's tab10, as in the PNG figures).
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
NO_DOMAIN = "#b0b0b0"
TASK_SYMBOLS = {
    TaskType.COORDINATION: "rect",
    TaskType.HANDOFF: "diamond",
    TaskType.SYNTHESIS: "triangle",
}
TASK_COLOUR = "#00bcd4"
SELECTED = "#ffeb3b"
NULL_BAND = "#cfcfcf"
#: The trace heat map's colours, from a faint trace (light) to the channel's cap (dark);
#: cells without a trace are left white.
TRACE_COLOURS = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
DETECTED = "#c44e52"
NULL_RANGE = "null 2.5-97.5 %"
DETECTED_NAME = "detected (one-sided p < 0.05)"

#: The world panel's size in pixels: a square plot area, so cells are square.
WORLD_PX = {"width": 700, "height": 716, "left": 46, "top": 74, "side": 560}


def _num(v: Any, digits: int = 4) -> Any:
    """A JSON number, or ECharts' gap for NaN/None."""
    if v is None:
        return "-"
    v = float(v)
    return round(v, digits) if math.isfinite(v) else "-"


def _title(text: str, size: int = 13, left: str | int = "center") -> dict[str, Any]:
    return {"text": text, "left": left, "textStyle": {"fontSize": size}}


def _share_axis(name: str, gap: int) -> dict[str, Any]:
    """A value axis from 0 to 1, named under its middle."""
    return {
        "type": "value",
        "min": 0,
        "max": 1,
        "name": name,
        "nameLocation": "middle",
        "nameGap": gap,
    }


def _cells_axis(name: str, n: int) -> dict[str, Any]:
    """One of the grid's axes: every cell 0..n-1 (the world's whole extent), a label
    about every tenth."""
    return {
        "type": "category",
        "data": list(range(n)),
        "name": name,
        "splitArea": {"show": False},
        "axisLabel": {"interval": max(0, n // 10 - 1)},
    }


def domain_colours(domains: Sequence[str]) -> dict[str, str]:
    return {d: PALETTE[k % len(PALETTE)] for k, d in enumerate(domains)}


def agent_size(rank: int) -> int:
    """Marker size (px) of an agent at a soul level of ``rank`` (0 Novice … 4 Master)."""
    return 9 + 4 * rank


def trace_shade(value: float, floor: float, cap: float) -> float:
    """Where ``value`` falls between a channel's ``floor`` (0) and ``cap`` (1) on a log
    scale: traces span orders of magnitude, so a linear scale shows only the freshest."""
    v = min(max(float(value), floor), cap)
    return round(math.log(v / floor) / math.log(cap / floor), 4) if cap > floor else 1.0


def world_option(model, channel: str, selected: int | None = None) -> dict[str, Any]:
    """The world at this step, drawn over the grid's whole extent (the axes never move):
    ``channel``'s trace field as a heat map on a fixed log scale (the channel's floor to
    its cap, :func:`trace_shade`),
    agents coloured by main domain and sized by soul level (one legend entry per domain),
    tasks by type (symbol) and state (hollow: open; filled: being worked; dashed:
    waiting for its next stage to be taken up), and the ``selected`` agent ringed.

    Agents' data items carry ``id`` (the agent's ``unique_id``) so a click selects it."""
    from soul.levels import Level

    w, h = model.width, model.height
    px = WORLD_PX
    field = np.asarray(model.traces.values(channel))
    cap = float(model.traces.specs[channel].cap)
    xs, ys = np.nonzero(field > 0)
    floor = float(model.traces.specs[channel].floor) or 1e-3
    heat = [
        [int(x), int(y), round(float(field[x, y]), 3), trace_shade(field[x, y], floor, cap)]
        for x, y in zip(xs, ys, strict=True)
    ]
    colours = domain_colours(model.domains)
    series: list[dict[str, Any]] = [
        {
            "name": f"{channel} trace",
            "type": "heatmap",
            "data": heat,
            "silent": True,
            "z": 1,
        }
    ]
    by_domain: dict[str, list[dict[str, Any]]] = {d: [] for d in model.domains}
    by_domain["no domain yet"] = []
    for i, agent in enumerate(model.swarm):
        uid = int(agent.unique_id)
        level = model.level_names[i]
        rank = Level(level).rank
        by_domain.setdefault(agent.main_domain or "no domain yet", []).append(
            {
                "value": [int(model.ax[i]), int(model.ay[i])],
                "id": uid,
                "name": f"agent {uid}",
                "level": level,
                "symbolSize": agent_size(rank),
            }
        )
    for domain, items in by_domain.items():
        if not items and domain == "no domain yet":
            continue
        series.append(
            {
                "name": domain,
                "type": "scatter",
                "data": items,
                "itemStyle": {
                    "color": colours.get(domain, NO_DOMAIN),
                    "borderColor": "#ffffff",
                    "borderWidth": 1,
                },
                "z": 4,
                "cursor": "pointer",
            }
        )
    for kind, symbol in TASK_SYMBOLS.items():
        items = []
        for t in model.board.tasks.values():
            if t.task_type != kind:
                continue
            worked = t.state == TaskState.HELD or (kind == TaskType.SYNTHESIS and t.members)
            waiting = bool(t.awaiting_handoff)
            items.append(
                {
                    "value": [int(t.x), int(t.y)],
                    "name": f"task {t.id}",
                    "state": "waiting" if waiting else ("worked" if worked else "open"),
                    "itemStyle": {
                        "color": TASK_COLOUR if worked else "rgba(0,0,0,0)",
                        "borderColor": TASK_COLOUR,
                        "borderWidth": 2,
                        "borderType": "dashed" if waiting else "solid",
                    },
                }
            )
        series.append(
            {
                "name": f"{kind} task",
                "type": "scatter",
                "symbol": symbol,
                "symbolSize": 14,
                "data": items,
                "itemStyle": {"color": TASK_COLOUR, "borderColor": TASK_COLOUR},
                "z": 3,
            }
        )
    if selected is not None and selected in model.index_of:
        i = model.index_of[selected]
        series.append(
            {
                "name": "selected",
                "type": "effectScatter",
                "data": [{"value": [int(model.ax[i]), int(model.ay[i])], "id": selected}],
                "symbolSize": 22,
                "rippleEffect": {"scale": 1.8, "brushType": "stroke"},
                "itemStyle": {"color": SELECTED},
                "silent": True,
                "z": 5,
            }
        )
    legend = [d for d in by_domain if by_domain[d]] + [f"{k} task" for k in TASK_SYMBOLS]
    return {
        "animation": False,
        "title": {
            "text": f"step {model.steps} · {channel} trace, agents, tasks",
            "subtext": "agents: colour = main domain, size = soul level · tasks: hollow = "
            "open, filled = being worked, dashed = waiting for its next stage\n"
            f"{channel} trace: log colour scale from the channel's floor to its cap",
            "left": "center",
            "textStyle": {"fontSize": 14},
            "subtextStyle": {"fontSize": 11},
        },
        "legend": {"data": legend, "bottom": 4, "itemWidth": 14, "textStyle": {"fontSize": 11}},
        "tooltip": {"trigger": "item"},
        "grid": {
            "left": px["left"],
            "top": px["top"],
            "width": px["side"],
            "height": px["side"],
        },
        "xAxis": _cells_axis("x", w),
        "yAxis": _cells_axis("y", h),
        "visualMap": {  # on a log scale from the channel's floor to its cap (dimension 3)
            "min": 0,
            "max": 1,
            "dimension": 3,
            "seriesIndex": 0,
            "calculable": False,
            "orient": "vertical",
            "right": 4,
            "top": px["top"],
            "itemHeight": px["side"] - 40,
            "text": [f"{cap:g} (cap)", f"{floor:g}"],
            "inRange": {"color": TRACE_COLOURS},
        },
        "series": series,
    }


#: The most points a time series sends per frame.
MAX_POINTS = 400


def thin(n: int, most: int = MAX_POINTS) -> list[int]:
    """Indices of ``n`` points to draw: all of them up to ``most``, else every k-th with
    the last one kept."""
    if n <= most:
        return list(range(n))
    k = -(-n // most)
    idx = list(range(0, n, k))
    return idx if idx[-1] == n - 1 else [*idx, n - 1]


def line_option(
    title: str,
    steps: Sequence[int],
    lines: dict[str, Sequence[float]],
    unit: str,
    y_range: tuple[float | None, float | None] = (0, None),
    colours: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A time series panel: one line per entry of ``lines`` over ``steps``, the y axis
    named by ``unit`` and bounded by ``y_range`` (None: fitted to the data). Past
    :data:`MAX_POINTS` steps every k-th step is sent (the last always), so a long run
    costs a frame no more than a short one."""
    lo, hi = y_range
    keep = thin(len(steps))
    return {
        "animation": False,
        "title": _title(title),
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "show": len(lines) > 1},
        "grid": {"left": 56, "right": 44, "top": 44, "bottom": 56 if len(lines) > 1 else 36},
        "xAxis": {
            "type": "value",
            "name": "step",
            "min": 0,
            "max": max(1, int(steps[-1]) if len(steps) else 1),
        },
        "yAxis": {
            "type": "value",
            "name": unit,
            "min": lo,
            "max": hi,
            "nameTextStyle": {"align": "left"},
        },
        "series": [
            {
                "name": name,
                "type": "line",
                "showSymbol": False,
                "data": [[int(steps[k]), _num(values[k])] for k in keep],
                **({"itemStyle": {"color": colours[name]}} if colours and name in colours else {}),
            }
            for name, values in lines.items()
        ],
    }


def levels_option(level_names: Sequence[str]) -> dict[str, Any]:
    """How many agents are at each soul level."""
    from soul.levels import Level

    names = [lv.value for lv in Level]
    counts = [sum(1 for x in level_names if x == n) for n in names]
    return {
        "animation": False,
        "title": _title("soul levels"),
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 16, "top": 40, "bottom": 30},
        "xAxis": {"type": "category", "data": names},
        "yAxis": {"type": "value", "name": "agents", "min": 0, "minInterval": 1},
        "series": [{"type": "bar", "data": counts, "itemStyle": {"color": "#8172b2"}}],
    }


def _boxes(name: str, d: pd.DataFrame, lo: str, hi: str, window: int, colour: str) -> dict:
    """Rectangles over each window, from ``lo`` to ``hi`` (a per-window null or interval),
    as an empty series carrying a mark area (so the legend can hide them)."""
    boxes = [
        [
            {"xAxis": max(0, int(s) - window), "yAxis": round(float(a), 4)},
            {"xAxis": int(s), "yAxis": round(float(b), 4)},
        ]
        for s, a, b in zip(d["step"], d[lo], d[hi], strict=True)
        if math.isfinite(a) and math.isfinite(b)
    ]
    return {
        "name": name,
        "type": "line",
        "data": [],
        "itemStyle": {"color": colour},
        "markArea": {"silent": True, "itemStyle": {"color": colour, "opacity": 0.5}, "data": boxes},
    }


def _line(name: str, xs, ys, colour: str, dashed: bool = False, symbols: bool = False) -> dict:
    return {
        "name": name,
        "type": "line",
        "showSymbol": symbols,
        "data": [[int(x), _num(y)] for x, y in zip(xs, ys, strict=True)],
        "lineStyle": {"type": "dashed" if dashed else "solid", "color": colour},
        "itemStyle": {"color": colour},
    }


def indicator_option(
    report: pd.DataFrame, metric: str, title: str, unit: str, last_step: int, window: int = 1
) -> dict[str, Any]:
    """One emergence indicator over time, full width: its value; the null's central 95 %
    (2.5-97.5 %) where the report has one per window (grey boxes over each ``window``) or
    the null's mean (dashed); its 95 % interval (blue boxes) where it has one; a red dot
    where it is detected. Detection is the report's one-sided test at p < 0.05, so a dot
    can sit just inside the top of its box (between the null's 95th and 97.5th
    percentiles). For a series whose null is the whole run's trend test
    (``trend_<metric>`` in the report), the dashed line is the series' own slope and the
    grey lines, through the series' mean, the null's 2.5 and 97.5 % slopes (a red dot on
    the last point when the trend test is detected)."""
    d = report[report["metric"] == metric].sort_values("step")
    steps = [int(s) for s in d["step"]]
    series: list[dict[str, Any]] = []
    has = lambda col: col in d and d[col].notna().any()  # noqa: E731
    trend = report[report["metric"] == f"trend_{metric}"]
    if has("null_lo"):
        series.append(_boxes(NULL_RANGE, d, "null_lo", "null_hi", window, NULL_BAND))
    elif len(trend) and trend["null_lo"].notna().any() and len(d) > 2:
        t = trend.iloc[-1]
        y = d["value"].to_numpy(dtype=float)
        ok = np.isfinite(y)
        x = np.asarray(steps, dtype=float)
        cx, cy = float(x[ok].mean()), float(y[ok].mean())
        ends = [x[ok][0], x[ok][-1]]
        for name, slope in (
            ("null slope 2.5 %", t["null_lo"]),
            ("null slope 97.5 %", t["null_hi"]),
        ):
            series.append(
                _line(name, ends, [cy + float(slope) / 100 * (e - cx) for e in ends], "#aaaaaa")
            )
        series.append(
            _line(
                "trend",
                ends,
                [cy + float(t["value"]) / 100 * (e - cx) for e in ends],
                "#555555",
                dashed=True,
            )
        )
    if has("null_mean") and not has("null_lo"):
        series.append(_line("null", steps, d["null_mean"], "#888888", dashed=True))
    if has("ci_lo"):
        series.append(_boxes("95 % CI", d, "ci_lo", "ci_hi", window, "#9ecae1"))
    series.append(_line(title, steps, d["value"], "#1f77b4", symbols=len(d) < 40) | {"z": 3})
    hits = d[d["detected"]] if "detected" in d else d.iloc[0:0]
    if len(trend) and bool(trend["detected"].iloc[-1]) and len(d):
        hits = pd.concat([hits, d.iloc[[-1]]])
    series.append(
        {
            "name": DETECTED_NAME,
            "type": "scatter",
            "symbolSize": 11,
            "data": [[int(s), _num(v)] for s, v in zip(hits["step"], hits["value"], strict=True)],
            "itemStyle": {"color": DETECTED},
            "z": 4,
        }
    )
    return {
        "animation": False,
        "title": _title(title, size=14, left=8),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [s["name"] for s in series], "right": 10, "top": 4},
        "grid": {"left": 64, "right": 48, "top": 48, "bottom": 36},
        "xAxis": {"type": "value", "name": "step", "min": 0, "max": max(1, last_step)},
        "yAxis": {"type": "value", "name": unit, "scale": True, "nameTextStyle": {"align": "left"}},
        "series": series,
    }


def probabilities_option(labels: Sequence[str], probs: Sequence[float], chosen: int) -> dict:
    """A decision's candidate probabilities (the chosen one highlighted)."""
    data = [
        {
            "value": round(float(p), 4),
            "itemStyle": {"color": DETECTED if k == chosen else "#4c72b0"},
        }
        for k, p in enumerate(probs)
    ]
    return {
        "animation": False,
        "title": _title("candidate probabilities"),
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 180, "right": 30, "top": 36, "bottom": 30},
        "xAxis": _share_axis("probability", 24),
        "yAxis": {"type": "category", "data": list(labels), "inverse": True},
        "series": [{"type": "bar", "data": data}],
    }


def decision_quality_option(decisions: pd.DataFrame) -> dict[str, Any]:
    """Each synthesis decision's group quality against its best member's (on the
    diagonal: the group did as well as its best member; above it: better)."""
    pts = [
        [round(float(b), 3), round(float(q), 3), int(s)]
        for b, q, s in zip(
            decisions.get("best_member_quality", []),
            decisions.get("quality", []),
            decisions.get("step", []),
            strict=True,
        )
    ]
    return {
        "animation": False,
        "title": _title("group quality vs best member"),
        "tooltip": {"trigger": "item"},
        "grid": {"left": 56, "right": 20, "top": 40, "bottom": 44},
        "xAxis": _share_axis("best member's quality", 26),
        "yAxis": {"type": "value", "min": 0, "max": 1, "name": "group quality"},
        "series": [
            {
                "type": "scatter",
                "name": "decisions",
                "data": pts,
                "symbolSize": 9,
                "itemStyle": {"color": "#4c72b0", "opacity": 0.7},
            },
            {
                "type": "line",
                "name": "equal",
                "data": [[0, 0], [1, 1]],
                "showSymbol": False,
                "silent": True,
                "lineStyle": {"type": "dashed", "color": "#999"},
            },
        ],
    }
