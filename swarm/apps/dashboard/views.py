"""The dashboard's Solara components: the controls (sidebar) and the four tabs.

Each component gets the page's :class:`~.session.Session` and the step counter ``tick``
(a new value re-renders it). Charts are ECharts options from :mod:`.charts`."""

from __future__ import annotations

import functools
import html
import threading
import time
from typing import Any

import pandas as pd
import solara
import solara.lab

from . import charts, panels
from .export import export_zip
from .session import CONTROLS, Session

#: Play speeds on offer (steps a second; "max": as fast as the page renders).
SPEEDS = ["1", "2", "5", "10", "20", "max"]
ROLLING = 10  # steps in the throughput's rolling mean


def _html(text: str, *, bold: str = "", size: int = 14) -> None:
    """A line of text (``bold``: a bold lead-in); Markdown would fetch KaTeX from a CDN."""
    lead = f"<b>{html.escape(bold)}</b> " if bold else ""
    solara.HTML(
        "div",
        unsafe_innerHTML=lead + html.escape(text),
        style=f"font-size: {size}px; margin: 4px 0;",
    )


def table_html(frame, max_rows: int = 200, mark: int | None = None) -> str:
    """A frame as a plain HTML table (fast to re-render every step; no pagination), the
    row at position ``mark`` highlighted."""

    def cell(v) -> str:
        return html.escape(f"{v:.3g}" if isinstance(v, float) else str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for k, row in enumerate(frame.head(max_rows).itertuples(index=False)):
        attr = ' class="marked"' if k == mark else ""
        rows.append(f"<tr{attr}>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>")
    return f'<table class="swarm-table"><tr>{head}</tr>{"".join(rows)}</table>'


def _table(frame, max_rows: int = 200, mark: int | None = None) -> None:
    solara.HTML(
        "div",
        unsafe_innerHTML=table_html(frame, max_rows, mark),
        style="overflow-x: auto; font-size: 13px;",
    )


#: The tables' look (one style block on the page).
TABLE_CSS = """
.swarm-table { border-collapse: collapse; }
.swarm-table th, .swarm-table td { padding: 2px 8px; text-align: right; white-space: nowrap; }
.swarm-table th { border-bottom: 1px solid #bbb; }
.swarm-table tr:nth-child(even) { background: #f5f5f5; }
.swarm-table tr.marked { background: #fff3b0; font-weight: bold; }
"""


def _held(component):
    """Render ``component(session, ...)`` holding the session's lock: the play loop steps
    the model in another thread, and a render must see one step, not half of one."""

    @functools.wraps(component)
    def render(session: Session, *args, **kwargs):
        with session.lock:
            return component(session, *args, **kwargs)

    return render


def _to_next(xp: int | None) -> str:
    return "the top level" if xp is None else f"{xp} to the next level"


def _set_error(error: solara.Reactive, fn, *args, **kwargs) -> bool:
    try:
        fn(*args, **kwargs)
    except ValueError as exc:  # ConfigError included: one line, the run is untouched
        error.set(str(exc))
        return False
    error.set(None)
    return True


@solara.component
def Controls(
    session: Session,
    tick: solara.Reactive[int],
    playing: solara.Reactive[bool],
    version: solara.Reactive[int],
):
    """Play / pause / step / reset, the speed, the model's parameters with their values
    and units, and the export. Only the step counter follows ``tick``; the parameters
    follow ``version`` (a reset or a new channel), so a step re-renders one line here."""
    speed = solara.use_reactive("10")
    error = solara.use_reactive(None)

    def loop(cancel: threading.Event) -> None:
        session.restart_rate()
        while playing.value and not cancel.is_set():
            start = time.perf_counter()
            session.step()
            tick.set(tick.value + 1)  # renders the visible tab before the next step
            if speed.value != "max":
                wait = 1.0 / float(speed.value) - (time.perf_counter() - start)
                if wait > 0:
                    cancel.wait(wait)

    # the loop checks ``cancel`` between steps: a pause never stops a step half way
    solara.use_thread(loop, dependencies=[playing.value], intrusive_cancel=False)

    def step_once() -> None:
        session.step()
        tick.set(tick.value + 1)

    def reset(**changes: Any) -> None:
        playing.set(False)
        if _set_error(error, session.reset, **changes):
            version.set(version.value + 1)
            tick.set(tick.value + 1)

    with solara.Card("Run"):
        with solara.Row():
            solara.Button("Reset", on_click=reset, color="primary")
            solara.Button(
                "❚❚ Pause" if playing.value else "▶ Play",
                on_click=lambda: playing.set(not playing.value),
                color="primary",
            )
            solara.Button("Step", on_click=step_once, disabled=playing.value, color="primary")
        solara.Select("speed (steps / s)", values=SPEEDS, value=speed)
        _StepCounter(session, tick, playing.value)
    _Parameters(session, version, reset, error)
    _Export(session, tick)


@solara.component
@_held
def _Export(session: Session, tick: solara.Reactive[int]):
    """One click: the run so far as a zip (:func:`~.export.export_zip`). The download's
    callable is kept across renders, so a step or a click elsewhere does not drop it."""
    data = solara.use_memo(lambda: lambda: export_zip(session), dependencies=[])
    _ = tick.value
    started = session.model.steps > 0
    with solara.Card("Export"):
        solara.Text(
            "The run so far: config.yaml, frames as Parquet, a PNG of each panel.",
            style={"font-size": "12px"},
        )
        if started:
            solara.FileDownload(
                data, filename="swarm-run.zip", label="Export run", mime_type="application/zip"
            )
        else:
            solara.Text("Step the model first.", style={"font-size": "12px"})


@solara.component
@_held
def _StepCounter(session: Session, tick: solara.Reactive[int], playing: bool):
    _ = tick.value
    rate = session.steps_per_second()
    _html(
        f"· {rate:.1f} steps / s" if playing and rate else "",
        bold=f"Step: {session.model.steps}",
    )


@solara.component
@_held
def _Parameters(session: Session, version: solara.Reactive[int], reset, error):
    _ = version.value
    values = session.values()
    with solara.Card("Model parameters"):
        solara.Text("Changing one restarts the run at step 0.", style={"font-size": "12px"})
        for c in CONTROLS:
            label = c.label
            if c.key in ("decay", "diffusion"):
                label = f"{session.channel} {c.label}"
            if c.kind == "choice":
                choices = _choices(c.key, values[c.key])
                solara.Select(
                    label,
                    values=choices,
                    value=values[c.key],
                    on_value=lambda v, k=c.key: reset(**{k: v}),
                )
                continue
            _html(c.shown(values[c.key]), bold=f"{label}:", size=13)
            if c.kind == "int":
                solara.SliderInt(
                    "",
                    value=int(values[c.key]),
                    min=int(c.min),
                    max=int(c.max),
                    step=int(c.step),
                    on_value=lambda v, k=c.key: reset(**{k: v}),
                )
            else:
                solara.SliderFloat(
                    "",
                    value=float(values[c.key]),
                    min=c.min,
                    max=c.max,
                    step=c.step,
                    on_value=lambda v, k=c.key: reset(**{k: v}),
                )
        if error.value:
            solara.Error(error.value)


def _choices(key: str, current: str) -> list[str]:
    from swarm.policies import POLICIES
    from swarm.world.voting import RULES

    values = list(RULES) if key == "voting" else [p for p in POLICIES if p != "heuristic-naive"]
    return values if current in values else [*values, current]


@solara.component
@_held
def WorldTab(session: Session, tick: solara.Reactive[int], version: solara.Reactive[int]):
    """The grid over the world's whole extent and the live plots."""
    _ = tick.value
    model = session.model

    def pick(channel: str) -> None:
        session.channel = channel
        version.set(version.value + 1)  # the decay and diffusion controls are the channel's
        tick.set(tick.value + 1)

    def clicked(event: dict) -> None:
        data = event.get("data") or {}
        if isinstance(data, dict) and "id" in data:
            session.select(int(data["id"]))
            tick.set(tick.value + 1)

    frame = model.datacollector.model_vars
    steps = list(range(len(frame["completed"])))
    throughput = pd.Series(frame["throughput"]).rolling(ROLLING, min_periods=1).mean().tolist()
    px = charts.WORLD_PX
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "flex-start"}):
        with solara.Column(style={"width": f"{px['width']}px"}):
            solara.ToggleButtonsSingle(
                value=session.channel, values=list(model.channel_names), on_value=pick
            )
            solara.FigureEcharts(
                charts.world_option(model, session.channel, session.selected),
                on_click=clicked,
                attributes={
                    "style": f"width: {px['width']}px; height: {px['height']}px;",
                    "class": "swarm-world",
                },
            )
            _selected_line(session)
        with solara.Column(style={"min-width": "420px", "flex": "1"}):
            _chart(
                charts.line_option(
                    f"tasks completed per step (rolling mean of {ROLLING})",
                    steps,
                    {"throughput": throughput},
                    "tasks / step",
                )
            )
            _chart(
                charts.line_option(
                    "conflicts and handoffs",
                    steps,
                    {
                        "conflict rate": frame["conflict_rate"],
                        "handoff success": frame["handoff_success_rate"],
                    },
                    "share",
                    y_range=(0, 1),
                    colours={"conflict rate": "#c44e52", "handoff success": "#55a868"},
                )
            )
            _chart(charts.line_option("mean soul XP", steps, {"mean XP": frame["mean_xp"]}, "XP"))


def _chart(option: dict, height: int = 250) -> None:
    solara.FigureEcharts(
        option, attributes={"style": f"height: {height}px; width: 100%;"}, responsive=True
    )


def _selected_line(session: Session) -> None:
    if session.selected is None:
        solara.Text("Click an agent on the grid to select it (Souls and Decisions tabs).")
        return
    card = panels.soul_card(session.model, session.selected)
    holding = "nothing" if card["holding"] is None else f"task {card['holding']}"
    _html(
        f"at {card['position']}, {card['level']}, {card['xp']} XP, holding {holding}",
        bold=f"Selected: agent {card['agent']}",
    )


@solara.component
@_held
def EmergenceTab(session: Session, tick: solara.Reactive[int], playing: bool):
    """Each indicator over time, full width, with its null and detections; the whole-run
    tests and the collective-intelligence ratio on request."""
    _ = tick.value
    model = session.model
    n_surrogates = 100
    # while playing, recompute every 10 steps (a report is ~0.2 s at 300 steps)
    at = model.steps - model.steps % 10 if playing else model.steps

    def compute():
        with session.lock:
            if model.steps < 2:
                return None
            return model.steps, panels.live_report(model, n_surrogates)

    computed = solara.use_memo(compute, dependencies=[id(model), at])

    def whole_run():
        steps, _, frames = session.snapshot()
        return id(model), steps, panels.whole_run_tests(frames, steps, n_surrogates)

    def ratio_now():
        return id(model), *panels.collective_ratio(session)

    tests = solara.lab.use_task(whole_run, dependencies=None)
    ratio = solara.lab.use_task(ratio_now, dependencies=None)
    solara.HTML("h2", unsafe_innerHTML="Emergence")
    if computed is None:
        solara.Text("Step the model to see the emergence indicators over time.")
        return
    steps, report = computed
    _html(panels.regime(model, n_surrogates, steps), bold="Regime.")
    for ind in panels.indicators(session.channel):
        with solara.Card(margin=0, style={"margin-bottom": "12px"}):
            _chart(
                charts.indicator_option(
                    report, ind.metric, ind.title, ind.unit, steps, panels.window_for(steps)
                ),
                height=260,
            )
            solara.Text(ind.explanation, style={"font-size": "13px"})
    with solara.Card("Whole-run tests: Ψ, Δ, Γ"):
        solara.Text(
            "Ψ > 0: the macro variable predicts its own future beyond what every agent alone "
            "does (emergent dynamics); Γ: the macro's future told by one agent (≈ 0: "
            "decoupled); Δ: downward causation. Each against per-agent circular shifts "
            f"({n_surrogates}); a few seconds at 300 steps.",
            style={"font-size": "13px"},
        )
        solara.Button("Test the run so far", on_click=tests, disabled=tests.pending)
        if tests.pending:
            solara.ProgressLinear(True)
        elif tests.value is not None and tests.value[0] == id(model):  # not a reset's
            _, at_step, frame = tests.value
            _html(f"At step {at_step} (detected: one-sided p < 0.05):")
            _table(frame.round(3))
    with solara.Card("Collective-intelligence ratio"):
        solara.Text(
            "Tasks the swarm completed ÷ tasks the same agents complete each working alone "
            "with 1/N of the task stream, over as many steps, same seed. > 1: the swarm does "
            "more than its members alone.",
            style={"font-size": "13px"},
        )
        solara.Button("Compute", on_click=ratio, disabled=ratio.pending)
        if ratio.value is not None and ratio.value[0] == id(model):
            _, at_step, value = ratio.value
            _html(f"{value:.2f} (swarm ÷ agents alone)", bold=f"At step {at_step}:")


@solara.component
@_held
def SoulsTab(session: Session, tick: solara.Reactive[int]):
    """The agents' souls in a table, the level distribution and the selected agent."""
    _ = tick.value
    model = session.model
    frame = panels.souls_frame(model)

    def choose(value: str) -> None:
        session.select(int(value.split()[-1]) if value else None)
        tick.set(tick.value + 1)

    names = [f"agent {a}" for a in frame["agent"]]
    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"width": "460px"}):
            _chart(charts.levels_option(model.level_names), height=260)
        with solara.Column(style={"min-width": "360px", "flex": "1"}):
            solara.Select(
                "selected agent",
                values=names,
                value=f"agent {session.selected}" if session.selected is not None else None,
                on_value=choose,
            )
            if session.selected is not None:
                card = panels.soul_card(model, session.selected)
                row = frame[frame["agent"] == session.selected].iloc[0]
                skills = ", ".join(
                    f"{c.removeprefix('skill ')} {row[c]:.2f}"
                    for c in frame
                    if c.startswith("skill ")
                )
                _html(
                    f"{card['level']} · {card['xp']} XP"
                    f" ({_to_next(card['xp to next level'])}) · skills: {skills}"
                    f" · achievements: {', '.join(card['achievements']) or 'none yet'}"
                    f" · learningRate {row['learningRate']}, adaptabilityScore "
                    f"{row['adaptabilityScore']}, strengthDomains {row['strengthDomains'] or '–'}",
                    bold=f"Selected: agent {card['agent']}",
                )
    rows = list(frame["agent"])
    _table(frame, mark=rows.index(session.selected) if session.selected in rows else None)


@solara.component
@_held
def DecisionsTab(session: Session, tick: solara.Reactive[int]):
    """The latest synthesis decisions and the selected agent's last decision."""
    from swarm.metrics import table_frame

    _ = tick.value
    model = session.model
    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "wrap"}):
        with solara.Column(style={"width": "440px"}):
            _chart(charts.decision_quality_option(table_frame(model, "decisions")), height=340)
        with solara.Column(style={"min-width": "420px", "flex": "1"}):
            _last_decision(session)
    solara.HTML("h3", unsafe_innerHTML="Latest synthesis decisions (newest first)")
    frame = panels.synthesis_frame(model)
    if len(frame):
        _table(frame)
    else:
        solara.Text("No synthesis decision yet.")


def _last_decision(session: Session) -> None:
    if session.selected is None:
        solara.Text(
            "Select an agent (click it on the World tab, or on the Souls tab) to see "
            "its last decision."
        )
        return
    d = panels.last_decision(session.model, session.selected)
    if d is None:
        solara.Text(f"Agent {session.selected} has not decided yet: step the model.")
        return
    chosen = d.candidates[d.chosen] if d.chosen >= 0 else "(not among its candidates)"
    _html(
        f"chose “{chosen}” among {len(d.candidates)} candidates.",
        bold=f"Agent {d.agent}, step {d.step}:",
    )
    if d.probs is None:
        solara.Text(
            "This policy gives no candidate probabilities (the hand-written expert chooses "
            "by rule); a language-model policy (lm:PATH, openai:MODEL) shows them here. "
            "Candidates: " + "; ".join(d.candidates)
        )
        return
    labels, probs, row = panels.top_candidates(d)
    _chart(charts.probabilities_option(labels, probs, row), height=60 + 26 * len(labels))
