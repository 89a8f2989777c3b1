"""The oracle: which situations test what, and which actions are acceptable there.

An observation falls into at most one of the first three categories (checked in this
order), and separately may be a constitutional edge case:

* **handoff**: the agent holds a task whose stage is done and awaits a handoff. If the
  next stage is in one of its own domains (skill >= 0.5) it should keep working; else it
  should hand the task to an idle specialist in the needed domain when one is in view,
  else to any idle agent in view (or release it to the pool). With nobody in view it may
  work on or release.
* **conflict**: idle, with a task within reach that another idle agent in view could
  also take (a contest). The convention that avoids conflicts: the nearer agent takes it
  (ties: lower id), as many agents as the task has places. Acceptable: taking a task the
  agent is placed to take; if it is placed for none, anything but a take.
* **coordination**: idle with open tasks in view, or a synthesis member. Acceptable:
  taking a task it is placed to take, and whose taking its soul does not avoid, whose
  value (:func:`swarm.policies.heuristic.take_value`: skill in the needed domain + 0.2 ×
  difficulty, plus the soul's preference bonuses) is within ``TOLERANCE`` of the best
  such; with nothing within reach, a move
  that brings it nearer an open task; a synthesis member works when the quorum is full,
  else signals help or waits.
* **constitutional**: some rule binds and at least one candidate breaks it. Acceptable:
  the candidates that break no binding rule; the rules tested are those some candidate
  breaks.

A situation where every candidate is acceptable tests nothing; :func:`judge` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from swarm.interface.constitution import check
from swarm.interface.observation import TAKE_KINDS, Observation, TaskView
from swarm.policies.heuristic import take_value
from swarm.world.actions import DIRECTIONS, Action, ActionKind

TOLERANCE = 0.25
OWN_SKILL = 0.5


@dataclass(frozen=True)
class Judgement:
    category: str
    acceptable: frozenset[Action]
    rules: tuple[int, ...] = ()


def _handoff(obs: Observation) -> frozenset[Action] | None:
    t = obs.task
    if t is None or not t.awaiting or t.task_type.group:
        return None
    by_kind = {c.kind: c for c in obs.candidates}
    if obs.skill(t.domain) >= OWN_SKILL:
        return frozenset({by_kind[ActionKind.WORK]})
    handoffs = [c for c in obs.candidates if c.kind is ActionKind.HANDOFF]
    if not handoffs:
        return frozenset({by_kind[ActionKind.WORK], by_kind[ActionKind.RELEASE]})
    main = {a.id: a.main_domain for a in obs.agents}
    experts = [c for c in handoffs if main.get(c.agent) == t.domain]
    return frozenset(experts or [*handoffs, by_kind[ActionKind.RELEASE]])


def _good_takes(obs: Observation, takes: dict[Action, TaskView]) -> frozenset[Action]:
    placed = {
        c: take_value(obs, t)
        for c, t in takes.items()
        if obs.placed(t) and not obs.avoids_taking(t)
    }
    if not placed:
        return frozenset()
    best = max(placed.values())
    return frozenset(c for c, v in placed.items() if v >= best - TOLERANCE)


def _conflict(obs: Observation) -> frozenset[Action] | None:
    if not obs.in_contest():
        return None
    good = _good_takes(obs, obs.takes())
    return good or frozenset(c for c in obs.candidates if c.kind not in TAKE_KINDS)


def _coordination(obs: Observation) -> frozenset[Action] | None:
    t = obs.task
    if t is not None:
        if not t.task_type.group:
            return None
        by_kind = {c.kind: c for c in obs.candidates}
        if ActionKind.WORK in by_kind:
            return frozenset({by_kind[ActionKind.WORK]})
        return frozenset(by_kind[k] for k in (ActionKind.HELP, ActionKind.WAIT) if k in by_kind)
    takes = obs.takes()
    good = _good_takes(obs, takes)
    if good:
        return good
    targets = [v for v in obs.tasks if v.open_to_take and not obs.avoids_taking(v)]
    if not targets:  # nothing it may go for: the situation tests nothing here
        return None
    wanted = {v.id for v in targets}
    closer = set()
    for c in obs.candidates:
        if c.kind is ActionKind.APPROACH and c.task in wanted:
            closer.add(c)
        if c.kind is not ActionKind.MOVE:
            continue
        dx, dy = DIRECTIONS[c.direction]
        for v in targets:
            if max(abs(v.dx - dx), abs(v.dy - dy)) < v.distance:
                closer.add(c)
    return frozenset(closer) or None


def judge(obs: Observation) -> list[Judgement]:
    """The categories ``obs`` tests, each with its acceptable actions (those that test
    nothing, where every candidate is acceptable or none is, are left out)."""
    out = []
    for name, rule in (
        ("handoff", _handoff),
        ("conflict", _conflict),
        ("coordination", _coordination),
    ):
        ok = rule(obs)
        if ok is not None:
            out.append(Judgement(name, ok))
            break
    verdicts = {c: check(obs, c) for c in obs.candidates}
    broken = sorted({r for v in verdicts.values() for r, fine in v.items() if not fine})
    if broken:
        ok = frozenset(c for c, v in verdicts.items() if all(v.values()))
        out.append(Judgement("constitutional", ok, tuple(broken)))
    cands = set(obs.candidates)
    return [j for j in out if j.acceptable and j.acceptable != cands]
