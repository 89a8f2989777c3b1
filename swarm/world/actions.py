"""Actions an agent can take. Each has one canonical text form (see :mod:`swarm.interface.text`)."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ActionKind(StrEnum):
    MOVE = "move"  # one cell in a compass direction
    APPROACH = "approach"  # one cell towards an open task in view, not yet within reach
    EXPLORE = "explore"  # one cell in a random direction, chosen by the world
    WAIT = "wait"  # stay put (e.g. waiting for a synthesis quorum)
    CLAIM = "claim"  # take an open task (or the next stage of one) within reach
    JOIN = "join"  # take an open slot of a synthesis task within reach
    WORK = "work"  # advance the task held
    RELEASE = "release"  # give the task back to the pool
    HANDOFF = "handoff"  # pass the task held to a nearby agent
    HELP = "help"  # signal help for the task held (deposits the help trace)


#: Compass directions as (dx, dy) on the grid; north is +y.
DIRECTIONS: dict[str, tuple[int, int]] = {
    "north": (0, 1),
    "northeast": (1, 1),
    "east": (1, 0),
    "southeast": (1, -1),
    "south": (0, -1),
    "southwest": (-1, -1),
    "west": (-1, 0),
    "northwest": (-1, 1),
}
DIRECTION_NAMES: tuple[str, ...] = tuple(DIRECTIONS)


class Action(NamedTuple):
    """One action. ``task`` and ``agent`` are ids; ``direction`` a key of DIRECTIONS.

    A named tuple, so comparing and hashing actions is cheap; :func:`checked` validates
    one built from outside (the parser does)."""

    kind: ActionKind
    direction: str | None = None
    task: int | None = None
    agent: int | None = None


def checked(action: Action) -> Action:
    """``action`` if its fields fit its kind, else ``ValueError``."""
    kind = action.kind
    needs_task = kind not in (ActionKind.MOVE, ActionKind.EXPLORE, ActionKind.WAIT)
    if (kind is ActionKind.MOVE) != (action.direction is not None):
        raise ValueError(f"{kind} takes a direction iff it is a move")
    if action.direction is not None and action.direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {action.direction!r}")
    if needs_task != (action.task is not None):
        raise ValueError(f"{kind} {'needs' if needs_task else 'takes no'} task")
    if (kind is ActionKind.HANDOFF) != (action.agent is not None):
        raise ValueError("only handoff names an agent, and it must")
    return action


#: Shared instances, so building candidate lists allocates nothing for the common case.
MOVES: tuple[Action, ...] = tuple(Action(ActionKind.MOVE, direction=d) for d in DIRECTION_NAMES)
EXPLORE = Action(ActionKind.EXPLORE)
WAIT = Action(ActionKind.WAIT)
IDLE_CANDIDATES: tuple[Action, ...] = (*MOVES, EXPLORE)


def step_towards(dx: int, dy: int) -> tuple[int, int]:
    """The one-cell step (each coordinate -1, 0 or 1) towards an offset ``(dx, dy)``:
    what ``approach`` moves, and the compass word a task's offset is written with."""
    return (dx > 0) - (dx < 0), (dy > 0) - (dy < 0)


def approach(task: int) -> Action:
    return Action(ActionKind.APPROACH, task=task)


def claim(task: int) -> Action:
    return Action(ActionKind.CLAIM, task=task)


def join(task: int) -> Action:
    return Action(ActionKind.JOIN, task=task)


def work(task: int) -> Action:
    return Action(ActionKind.WORK, task=task)


def release(task: int) -> Action:
    return Action(ActionKind.RELEASE, task=task)


def help_(task: int) -> Action:
    return Action(ActionKind.HELP, task=task)


def handoff(task: int, agent: int) -> Action:
    return Action(ActionKind.HANDOFF, task=task, agent=agent)
