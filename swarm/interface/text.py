"""The one text format, for training and serving.

* :func:`render_observation` turns an observation into chat messages: system = the
  constitution, user = a compact description of the agent (its best skills and, where
  its soul has any, the task types it prefers, its strength domains and the behaviours
  it avoids), what it sees and its options:
  each task's compass direction in the moves' own words and the agent's skill in what it
  needs (a synthesis: its best open slot; ``Observation.skill_for``); one line per trace channel
  present in view, nine levels (hundredths, as integers; ``-`` off a bounded grid) in
  the header's order: the eight neighbours, named like the moves that go there, then
  ``here`` (a channel at zero all round is left out), then the trace lead, where there
  is one (``Trace lead: northeast.``: the neighbour that pulls most,
  :meth:`~swarm.interface.observation.Observation.trace_lead`); the options, where the eight
  moves, when all are legal, are written once as ``move any direction``. A short
  prompt is a cheap decision.
* :func:`render_action` gives an action's canonical text (``claim task 12``,
  ``approach task 12``, ``move north``, ``handoff task 12 to agent 3``,
  ``signal help task 4``, ...).
* :func:`parse_action` reads an answer back and checks it is one of the legal candidates;
  anything else raises :class:`ActionParseError` carrying the offending text.
* In a group decision (:class:`~swarm.interface.observation.ProposalView`),
  :func:`render_proposal_user` describes the member's reading of each component and
  :func:`render_proposal` / :func:`parse_proposal` write and read the answer
  (``propose 2 0 1 1 2``).

The simulator's trajectories, the curated data, the evaluation scenarios and the
language-model policy all go through this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from swarm.interface.constitution import constitution_text
from swarm.interface.observation import AVOIDABLE, OFFSETS, Observation, ProposalView, TaskView
from swarm.world.actions import (
    DIRECTION_NAMES,
    DIRECTIONS,
    MOVES,
    Action,
    ActionKind,
    checked,
    step_towards,
)

#: Chat special tokens (``<|eot_id|>``, ``<|start_header_id|>``, ChatML's ``<|im_start|>``,
#: ...): text that reaches a prompt or a training example must not contain them, or it
#: could forge turns. Curation rejects such records; the schema refuses such messages;
#: names the model renders (domains) are checked when the model is built.
CHAT_SPECIAL = re.compile(r"<\|[A-Za-z0-9_]+\|>")


def special_token_in(text: str) -> str | None:
    """The first chat special token in ``text``, or None."""
    m = CHAT_SPECIAL.search(text)
    return m[0] if m else None


class ActionParseError(ValueError):
    """An answer that is not a legal action; ``text`` is what was given."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{reason}: {text!r}")


def render_action(action: Action) -> str:
    """The canonical text of ``action``."""
    k = action.kind
    if k is ActionKind.MOVE:
        return f"move {action.direction}"
    if k in (ActionKind.EXPLORE, ActionKind.WAIT):
        return k.value
    if k is ActionKind.HANDOFF:
        return f"handoff task {action.task} to agent {action.agent}"
    if k is ActionKind.HELP:
        return f"signal help task {action.task}"
    return f"{k.value} task {action.task}"


_DIRS = "|".join(DIRECTION_NAMES)
_PATTERNS: list[tuple[re.Pattern[str], callable]] = [
    (re.compile(rf"move ({_DIRS})"), lambda m: Action(ActionKind.MOVE, direction=m[1])),
    (re.compile(r"explore"), lambda m: Action(ActionKind.EXPLORE)),
    (re.compile(r"wait"), lambda m: Action(ActionKind.WAIT)),
    (
        re.compile(r"handoff task (\d+) to agent (\d+)"),
        lambda m: Action(ActionKind.HANDOFF, task=int(m[1]), agent=int(m[2])),
    ),
    (re.compile(r"signal help task (\d+)"), lambda m: Action(ActionKind.HELP, task=int(m[1]))),
    (
        re.compile(r"(approach|claim|join|work|release) task (\d+)"),
        lambda m: Action(ActionKind(m[1]), task=int(m[2])),
    ),
]


def parse_action(text: str, obs: Observation | None = None) -> Action:
    """Read an answer's first line as an action; with ``obs``, it must be a candidate."""
    if not isinstance(text, str):
        raise ActionParseError(repr(text), "not text")
    lines = text.strip().splitlines()
    line = " ".join(lines[0].lower().split()).rstrip(".!") if lines else ""
    line = line.removeprefix("action:").strip()
    for pattern, make in _PATTERNS:
        m = pattern.fullmatch(line)
        if m:
            action = checked(make(m))
            break
    else:
        raise ActionParseError(text, "not an action")
    if obs is not None and action not in obs.candidates:
        raise ActionParseError(text, "not a legal action here")
    return action


def _fmt(v: float) -> str:
    return "0" if v == 0 else f"{v:.2f}".rstrip("0").rstrip(".")


_COMPASS = {step: name for name, step in DIRECTIONS.items()}


def _compass(dx: int, dy: int) -> str:
    """Where (dx, dy) lies, in the moves' own words: ``northeast``, ..., or ``here``."""
    return _COMPASS.get(step_towards(dx, dy), "here")


def _task_line(t: TaskView, obs: Observation) -> str:
    where = f"at {t.dx:+d},{t.dy:+d} ({_compass(t.dx, t.dy)})"
    if t.task_type.group:
        slots = ", ".join(t.open_slots) if t.open_slots else "full"
        need = f"open slots {slots}"
    else:
        stage = f" stage {t.stage + 1}/{t.stages}" if t.stages > 1 else ""
        need = f"needs {t.domain}{stage}"
    skill = obs.skill_for(t)
    if skill is not None:
        need += f" (your skill {_fmt(round(skill, 2))})"
    state = t.state + (" (stage done, awaiting handoff)" if t.awaiting else "")
    return (
        f"task {t.id}: {t.task_type}, {need}, difficulty {_fmt(t.difficulty)}, "
        f"{where}, {state}, progress {_fmt(t.progress)}, {t.steps_left} steps left"
    )


_PLACES = (*DIRECTION_NAMES, "here")  # the rows of the surroundings table, OFFSETS order
assert len(OFFSETS) == len(_PLACES) == 9


def _hundredths(x: float) -> str:
    """A trace level in hundredths; ``-`` off the edge of a bounded grid."""
    return "-" if np.isnan(x) else str(round(float(x) * 100))


def _surroundings(obs: Observation) -> list[str]:
    """The trace levels around the agent, in hundredths: one line per channel with any
    trace in view, nine values in the order of the header (the eight neighbours, named
    like the moves that go there, then ``here``); a channel with none is left out."""
    rows = []
    for name, row in zip(obs.channels, obs.traces, strict=True):
        levels = [_hundredths(x) for x in row]
        if any(v not in ("0", "-") for v in levels):
            rows.append(f"{name}: " + " ".join(levels))
    if not rows:
        return ["Traces: none."]
    return [f"Traces x100 ({' '.join(_PLACES)}):", *rows]


def render_user(obs: Observation) -> str:
    """The user message: the agent, its task, what it sees, the traces, its options."""
    top = sorted(zip(obs.domains, obs.skills, strict=True), key=lambda p: (-p[1], p[0]))[:3]
    skills = ", ".join(f"{d} {_fmt(round(float(s), 2))}" for d, s in top)
    lines = [f"You are agent {obs.agent_id}, level {obs.level}; best skills: {skills}."]
    soul = _soul_line(obs)
    if soul:
        lines.append(soul)
    lines.append("Holding: " + (_task_line(obs.task, obs) if obs.task else "nothing") + ".")
    others = [t for t in obs.tasks if obs.task is None or t.id != obs.task.id]
    lines.append(
        "Tasks in view:"
        + ("".join(f"\n- {_task_line(t, obs)}" for t in others) if others else " none")
    )
    if obs.agents:
        lines.append(
            "Agents in view:"
            + "".join(
                f"\n- agent {a.id} at {a.dx:+d},{a.dy:+d}, {'idle' if a.idle else 'busy'}, "
                f"{a.main_domain or 'no main domain'}"
                for a in obs.agents
            )
        )
    lines += _surroundings(obs)
    lead = obs.trace_lead()
    if lead is not None:
        lines.append(f"Trace lead: {lead.direction}.")
    deferred = deferred_takes(obs)
    if deferred:
        lines.append("Leave to nearer agents: " + " | ".join(map(render_action, deferred)))
    lines.append("Actions: " + " | ".join(action_list(obs, skip=deferred)))
    return "\n".join(lines)


def _soul_line(obs: Observation) -> str:
    """What the soul's meta-learning asks of this agent, where it asks anything: the task
    types it prefers, its strengths, the behaviours it avoids (with their meaning)."""
    parts = []
    if obs.prefers:
        parts.append("prefers " + ", ".join(map(_one_line, obs.prefers)) + " tasks")
    if obs.strengths:
        parts.append("strengths " + ", ".join(map(_one_line, obs.strengths)))
    known = [p for p in obs.avoids if p in AVOIDABLE]
    if known:
        parts.append("avoids " + "; ".join(f"{p} ({AVOIDABLE[p]})" for p in known))
    return ("Soul: " + "; ".join(parts) + ".") if parts else ""


def _one_line(text: str) -> str:
    """A name from a soul file as one line of the prompt (line breaks become spaces)."""
    return " ".join(str(text).split())


def deferred_takes(obs: Observation) -> list[Action]:
    """The claims and joins of tasks that nearer idle agents take first (this agent is
    not ``Observation.placed`` to take them). They are legal, and listed apart, on their
    own line: the convention that keeps two agents from taking the same task, written
    where the choice is made."""
    return [c for c, t in obs.takes().items() if not obs.placed(t)]


def action_list(obs: Observation, skip: Sequence[Action] = ()) -> list[str]:
    """The candidates' texts (but ``skip``), in the Actions line; all eight moves, when
    legal, are written once as ``move any direction``."""
    rest = [c for c in obs.candidates if c not in skip]
    if all(m in rest for m in MOVES):
        return ["move any direction"] + [render_action(c) for c in rest if c not in MOVES]
    return [render_action(c) for c in rest]


def render_observation(obs: Observation) -> list[dict[str, str]]:
    """Chat messages for ``obs``: system = the constitution, user = the observation."""
    return [
        {"role": "system", "content": constitution_text()},
        {"role": "user", "content": render_user(obs)},
    ]


# Proposals in a group decision ----------------------------------------------------------

_PROPOSE = re.compile(r"propose((?: \d+)+)")


def render_proposal_user(view: ProposalView) -> str:
    """The user message of a group decision: the member, the decision, its reading of
    each component (options best-looking first) and the answer's form."""
    reading = "\n".join(
        f"- component {k + 1}: " + " > ".join(map(str, row)) for k, row in enumerate(view.reading)
    )
    return (
        f"You are agent {view.agent_id}, level {view.level}; you hold the {view.domain} slot "
        f"of synthesis task {view.task_id} (skill {_fmt(view.skill)}).\n"
        f"The group chooses its approach: one option in 0..{view.options - 1} for each of "
        f"{view.components} components; each member proposes, then the group votes.\n"
        f"Your reading (options best-looking first):\n{reading}\n"
        f"Answer: propose followed by one option per component, e.g. "
        f"{render_proposal(view.first_choices)}"
    )


def render_proposal(choice: Sequence[int]) -> str:
    """A proposal's canonical text: ``propose 2 0 1 1 2``."""
    return "propose " + " ".join(str(int(c)) for c in choice)


def render_proposal_messages(view: ProposalView) -> list[dict[str, str]]:
    """Chat messages of a group decision: system = the constitution, user = the view."""
    return [
        {"role": "system", "content": constitution_text()},
        {"role": "user", "content": render_proposal_user(view)},
    ]


def parse_proposal(text: str, view: ProposalView) -> tuple[int, ...]:
    """Read an answer's first line as a proposal for ``view``: one option per component,
    each in range; anything else raises :class:`ActionParseError`."""
    if not isinstance(text, str):
        raise ActionParseError(repr(text), "not text")
    lines = text.strip().splitlines()
    line = " ".join(lines[0].lower().split()).rstrip(".!") if lines else ""
    m = _PROPOSE.fullmatch(line)
    if not m:
        raise ActionParseError(text, "not a proposal")
    got = tuple(int(x) for x in m[1].split())
    if len(got) != view.components or not all(0 <= x < view.options for x in got):
        raise ActionParseError(text, "not a legal proposal here")
    return got
