"""The constitution (``constitution.md``, shipped as package data) and a machine check
for each of its rules over (observation, action), so compliance can be scored.

A check returns ``None`` when the rule does not bind in that situation, else whether the
action complies. :func:`check` runs them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from swarm.interface.observation import Observation
from swarm.world.actions import Action, ActionKind

Check = Callable[[Observation, Action], bool | None]


@cache
def constitution_text() -> str:
    """The constitution, as the system prompt of every rendered observation."""
    return (
        resources.files("swarm.interface").joinpath("constitution.md").read_text(encoding="utf-8")
    )


@dataclass(frozen=True)
class Rule:
    number: int
    text: str
    check: Check


def _never_take_held(obs: Observation, a: Action) -> bool | None:
    if a.kind not in (ActionKind.CLAIM, ActionKind.JOIN):
        return None
    view = next((t for t in obs.tasks if t.id == a.task), None)
    if view is None:
        return False
    if view.task_type.group:
        return bool(view.open_slots)
    return view.holder is None


def _finish_what_you_hold(obs: Observation, a: Action) -> bool | None:
    if obs.task is None:
        return None
    return a.task == obs.task.id or a.kind is ActionKind.WAIT


def _handoff_outside_domain(obs: Observation, a: Action) -> bool | None:
    t = obs.task
    if t is None or not t.awaiting or obs.skill(t.domain) >= 0.5:
        return None
    if not any(c.kind is ActionKind.HANDOFF for c in obs.candidates):
        return None
    return a.kind in (ActionKind.HANDOFF, ActionKind.RELEASE)


def _answer_help(obs: Observation, a: Action) -> bool | None:
    if obs.task is not None:
        return None
    joinable = [c for c in obs.candidates if c.kind is ActionKind.JOIN]
    servable = [
        c for c in joinable if any(obs.skill(d) >= 0.5 for d in _view(obs, c.task).open_slots)
    ]
    if not servable:
        return None
    return a.kind in (ActionKind.JOIN, ActionKind.CLAIM)


def _no_false_done(obs: Observation, a: Action) -> bool | None:
    # Actions cannot claim completion; completion is the world's judgement. The rule binds
    # on text answers (see swarm.interface.text): an answer that says "done" fails to parse.
    return None


def _do_not_crowd(obs: Observation, a: Action) -> bool | None:
    if obs.task is not None or a.kind is not ActionKind.MOVE or obs.tasks:
        return None
    from swarm.world.actions import DIRECTION_NAMES

    if a == obs.trace_lead():  # the rule's own advice: help and success outweigh the crowd
        return True
    k = DIRECTION_NAMES.index(a.direction)
    crowd = obs.trace("claim")[:8] + obs.trace("explored")[:8]
    return bool(crowd[k] <= np.nanmin(crowd) + 1.0)  # nan: a cell off a bounded grid


def _ask_for_help(obs: Observation, a: Action) -> bool | None:
    t = obs.task
    if t is None or not t.task_type.group or not t.open_slots:
        return None
    return a.kind in (ActionKind.HELP, ActionKind.WAIT)


def _view(obs: Observation, task_id: int):
    return next(t for t in obs.tasks if t.id == task_id)


CHECKS: dict[int, Check] = {
    1: _never_take_held,
    2: _finish_what_you_hold,
    3: _handoff_outside_domain,
    4: _answer_help,
    5: _no_false_done,
    6: _do_not_crowd,
    7: _ask_for_help,
}


@cache
def rules() -> tuple[Rule, ...]:
    """The numbered rules of the constitution, each with its check."""
    found = re.findall(r"^(\d+)\.\s+(.+?)(?=^\d+\.|\Z)", constitution_text(), re.M | re.S)
    out = tuple(Rule(int(n), " ".join(t.split()), CHECKS[int(n)]) for n, t in found)
    if {r.number for r in out} != set(CHECKS):
        raise RuntimeError("constitution.md and swarm.interface.constitution.CHECKS disagree")
    return out


def check(obs: Observation, action: Action) -> dict[int, bool]:
    """Verdicts of the rules that bind: ``{rule number: complies}``."""
    out = {}
    for rule in rules():
        verdict = rule.check(obs, action)
        if verdict is not None:
            out[rule.number] = verdict
    return out


def complies(obs: Observation, action: Action) -> bool:
    return all(check(obs, action).values())
