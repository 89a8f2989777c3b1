"""The act and world phases of a step: what each action does, and the world's turn.

:data:`HANDLERS` maps each :class:`~swarm.world.actions.ActionKind` to a handler
``handler(model, turn, i, action, obs)`` for agent ``i`` (``obs``: the step's
:class:`~swarm.interface.observation.Observations`; a handler reads ``obs[i]`` only if
it needs it, so an observation nobody reads is never built). Handlers change the task board
and the agents' holdings, and write what happened into the step's record
(:class:`swarm.metrics.StepRecord`); they do not move agents. Moves are collected in the
:class:`Turn` and applied together at the end of the act phase as array operations
(:meth:`Turn.apply_moves`): nothing in the act phase reads positions, so applying them at
once changes nothing, and a later engine can batch the takes the same way.

:func:`act` applies every decision in a random order (the ``order`` stream);
:func:`advance_world` then runs the world (claim traces, trace decay/diffusion, expiry,
arrivals, day ends). Which random stream each draw uses: :mod:`swarm.streams`.
Task-type rules come from :class:`~swarm.world.tasks.TaskType`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from soul import (
    DayEnded,
    HelpedAgent,
    LearnedPattern,
    ProposalJudged,
    TaskCompleted,
    TaskFailed,
)
from swarm.interface.observation import (
    EXPLORE_CODE,
    TAKE_KINDS,
    Decision,
    Observations,
    ProposalView,
)
from swarm.metrics import StepRecord
from swarm.policies.base import proposal_of
from swarm.world.actions import DIRECTIONS, Action, ActionKind, step_towards
from swarm.world.tasks import Task, TaskState
from swarm.world.voting import collective_decision

if TYPE_CHECKING:  # type hints only: the model imports this module
    from swarm.model import SwarmModel

_DIR_LIST = list(DIRECTIONS.values())
_DX = np.array([d[0] for d in _DIR_LIST], dtype=np.int64)
_DY = np.array([d[1] for d in _DIR_LIST], dtype=np.int64)


@dataclass
class Turn:
    """The act phase in progress: the record it fills, the moves it has collected, and
    the agents that received a task this step (each with the place in the activation
    order at which it did: its own plan, if it comes later, is stale)."""

    record: StepRecord
    moves: list[tuple[int, int, int]] = field(default_factory=list)  # (agent, dx, dy)
    received: dict[int, int] = field(default_factory=dict)  # agent -> place in order
    place: int = 0  # the place in the activation order of the agent acting now
    _explore: np.ndarray | None = None

    def explore_draws(self, model: SwarmModel) -> np.ndarray:
        """One uniform draw per agent for this step's explore moves (the ``explore``
        stream, drawn once per step whoever explores: agent ``i``'s direction at a step
        is the same in every condition in which it explores then)."""
        if self._explore is None:
            self._explore = model.streams.explore.random(len(model.swarm))
        return self._explore

    def move(self, i: int, d: tuple[int, int]) -> None:
        self.moves.append((i, d[0], d[1]))

    def apply_moves(
        self, model: SwarmModel, coded: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Every collected move at once, plus the moves of the ``coded`` agents (rows
        moving by the decisions' codes, :class:`Decisions`, as ``(rows, dx, dy)``); an
        ``explored`` trace where each mover lands. The array engine moves them in
        :mod:`swarm.space` in one batch; the reference engine (``act="agents"``) through
        Mesa's cell setter, one by one."""
        parts = [np.array(c, dtype=np.int64) for c in zip(*self.moves, strict=True)]
        idx, dx, dy = parts if parts else (np.zeros(0, dtype=np.int64),) * 3
        if coded is not None and len(coded[0]):
            idx = np.concatenate([idx, coded[0]])
            dx = np.concatenate([dx, coded[1]])
            dy = np.concatenate([dy, coded[2]])
        if not len(idx):
            return
        x, y = model.ax[idx] + dx, model.ay[idx] + dy
        if model.torus:
            x, y = x % model.width, y % model.height
        if model.act_mode == "agents":
            cells = model._cells
            for i, cx, cy in zip(idx.tolist(), x.tolist(), y.tolist(), strict=True):
                model.swarm[i].cell = cells[(cx, cy)]
        else:
            model.space.move(idx, x, y)
        model.traces.deposit_many("explored", x, y, 1.0)


def act(model: SwarmModel, obs: Observations, decisions: Sequence[Decision], turn: Turn) -> None:
    """Apply the decisions in a random order (step 3 of the step; the ``order`` stream).

    Agents whose decision comes as a move code (:class:`Decisions`, for agents with
    plain observations) are moved as arrays; claims and joins are resolved all at once
    (:func:`resolve_takes`: the first takers in the order win, up to each task's places);
    the rest go through :data:`HANDLERS` one by one in the order. Moves read nothing that
    takes change, and takes nothing that the other actions change (where one could, a
    handoff to a taker or a member leaving a synthesis others join, the step's takes go
    through the handlers in the order instead), so the result is the one of handling
    everyone in order (``act="agents"``, the reference, does that; a test checks they
    agree).
    """
    u = turn.explore_draws(model)  # drawn every step, so the stream stays aligned
    order = model.streams.order.permutation(len(model.swarm))
    codes = getattr(decisions, "codes", None)
    if model.act_mode == "agents" or codes is None or obs.simple is None:
        coded = None
    else:
        coded = (codes >= 0) & obs.simple
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    loop = (order if coded is None else order[~coded[order]]).tolist()
    batch = model.act_mode == "arrays" and _takes_stand_alone(model, decisions, loop)
    takes: list[tuple[int, Action]] = []
    for i in loop:
        if i in turn.received:
            continue  # took a task handed over this step; its own plan is stale
        turn.place = int(place[i])
        action = decisions[i].action
        if action not in obs.candidates_of(i):
            turn.record.illegal.append(i)
            continue
        if batch and action.kind in TAKE_KINDS:
            takes.append((i, action))
            continue
        HANDLERS[action.kind](model, turn, i, action, obs)
    if takes:
        won = resolve_takes(model, takes)
        for (i, action), w in zip(takes, won.tolist(), strict=True):
            turn.record.takes.append(i)
            if not w:
                _conflict(model, turn, i)
            elif action.kind is ActionKind.CLAIM:
                _take(model, turn, i, model.board.tasks[action.task])
            else:
                _take_slot(model, i, model.board.tasks[action.task])
    moves = None
    if coded is not None:
        rows = np.flatnonzero(coded)
        if turn.received:  # a coded agent handed a task before its turn keeps it still
            late = [j for j, at in turn.received.items() if coded[j] and place[j] > at]
            rows = np.setdiff1d(rows, late)
        c = codes[rows].copy()
        explore = c == EXPLORE_CODE
        c[explore] = (u[rows[explore]] * 8).astype(np.int64)  # plain agents: all 8 legal
        moves = (rows, _DX[c], _DY[c])
    turn.apply_moves(model, moves)


def resolve_takes(model: SwarmModel, takes: Sequence[tuple[int, Action]]) -> np.ndarray:
    """Which of ``takes`` (claims and joins, ``(agent, action)`` in activation order)
    succeed, as a bool array: per task, the first takers in the order, as many as the task
    has places now (a claim: one if nobody holds it; a join: its open slots)."""
    tasks = np.array([a.task for _, a in takes], dtype=np.int64)
    ids, first, inverse = np.unique(tasks, return_index=True, return_inverse=True)
    places = np.zeros(len(ids), dtype=np.int64)
    for k, tid in enumerate(ids.tolist()):
        task = model.board.get(tid)
        if task is not None:
            free = task.holder is None if not task.task_type.group else True
            places[k] = task.task_type.places(task.open_slots) if free else 0
    # rank of each take among its task's takes, in activation order
    by_task = np.argsort(inverse, kind="stable")
    start = np.searchsorted(inverse[by_task], np.arange(len(ids)))
    rank = np.empty(len(takes), dtype=np.int64)
    rank[by_task] = np.arange(len(takes)) - start[inverse[by_task]]
    return rank < places[inverse]


def _takes_stand_alone(model: SwarmModel, decisions: Sequence[Decision], rows) -> bool:
    """Whether this step's claims and joins can be resolved apart from the other actions:
    nobody hands a task to an agent that takes one, and no member leaves a synthesis that
    others join."""
    takers, joined, receivers, left = set(), set(), set(), set()
    for i in rows:
        a = decisions[i].action
        if a.kind in TAKE_KINDS:
            takers.add(i)
            if a.kind is ActionKind.JOIN:
                joined.add(a.task)
        elif a.kind is ActionKind.HANDOFF:
            receivers.add(model.index_of.get(a.agent))  # an unknown agent: illegal later
        elif a.kind is ActionKind.RELEASE:
            left.add(a.task)
    return bool(takers) and not (takers & receivers) and not (joined & left)


# Moving --------------------------------------------------------------------------------


def _move(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
    turn.move(i, DIRECTIONS[action.direction])


def _approach(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
    view = next(t for t in obs[i].tasks if t.id == action.task)
    turn.move(i, step_towards(view.dx, view.dy))


def _explore(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
    u = turn.explore_draws(model)[i]  # this agent's own draw of the step
    if model.torus:
        turn.move(i, _DIR_LIST[int(u * 8)])
        return
    legal = [m for m in obs.candidates_of(i) if m.kind is ActionKind.MOVE]
    if legal:
        turn.move(i, DIRECTIONS[legal[int(u * len(legal))].direction])


def _wait(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
    pass


# Taking --------------------------------------------------------------------------------


def _claim(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
    task = model.board.get(action.task)
    turn.record.takes.append(i)
    if task is None or task.holder is not None:
        _conflict(model, turn, i)
        return
    _take(model, turn, i, task)


def _take(model: SwarmModel, turn: Turn, i: int, task: Task) -> None:
    """Agent ``i`` takes ``task``, which nobody holds."""
    task.holder = model.swarm[i].unique_id
    task.state = TaskState.HELD
    model.hold(i, task)
    if task.awaiting_handoff:  # a released stage taken up by someone else
        task.awaiting_handoff = False
        if task.last_holder is not None and task.last_holder != task.holder:
            turn.record.taken_up.append(model.index_of[task.last_holder])
            model.soul_event(i, HelpedAgent(agent_id=task.last_holder))


def _join(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
    task = model.board.get(action.task)
    turn.record.takes.append(i)
    if task is None or not task.open_slots:
        _conflict(model, turn, i)
        return
    _take_slot(model, i, task)


def _take_slot(model: SwarmModel, i: int, task: Task) -> None:
    """Agent ``i`` takes its best open slot of the synthesis ``task``."""
    skills = model.skills[i]
    slot = max(task.open_slots, key=lambda d: (skills[model.domain_index[d]], d))
    task.members[slot] = int(model.swarm[i].unique_id)
    model.hold(i, task)
    if not task.open_slots:
        task.state = TaskState.HELD


def _conflict(model: SwarmModel, turn: Turn, i: int) -> None:
    turn.record.conflicts.append(i)
    # two agents went for one task: the soul learns to avoid crowding (AVOIDABLE)
    model.soul_event(i, LearnedPattern(pattern="crowding", avoid=True))


# Working on the task held --------------------------------------------------------------


def _held(handler):
    """Run ``handler(model, turn, i, task, action)`` only if agent ``i`` still holds the
    action's task (a fellow member may have finished it earlier this step)."""

    def run(model: SwarmModel, turn: Turn, i: int, action: Action, obs: Observations) -> None:
        task = model.board.get(action.task)
        if task is None or model.holding[i] != action.task:
            return
        handler(model, turn, i, task, action)

    run.__name__ = handler.__name__
    return run


@_held
def _work(model: SwarmModel, turn: Turn, i: int, task: Task, action: Action) -> None:
    if task.task_type.group:
        members = [model.index_of[a] for a in task.members.values()]
        speed = 0.5 + model.skills[i, model.domain_index[_slot_of(model, task, i)]]
        task.progress += speed / len(task.domains)
        if task.progress >= task.work:
            q = _synthesise(model, turn, task, members)
            for d, j in zip(task.members, members, strict=True):
                _stage_done(model, j, task, d, q)
            _finish(model, turn, task, members, q)
        return
    task.awaiting_handoff = False
    skill = model.skills[i, model.domain_index[task.domain]]
    task.progress += 0.5 + skill
    if task.progress < task.work:
        return
    q = model.draw_quality(skill, task.id, task.stage)
    task.qualities.append(q)
    _stage_done(model, i, task, task.domain, q)
    if task.task_type.staged and task.stage + 1 < len(task.domains):
        task.stage += 1
        task.progress = 0.0
        task.awaiting_handoff = True
        task.last_holder = int(model.swarm[i].unique_id)
    else:
        _finish(model, turn, task, [i], task.quality)


@_held
def _release(model: SwarmModel, turn: Turn, i: int, task: Task, action: Action) -> None:
    if task.task_type.group:
        del task.members[_slot_of(model, task, i)]
        task.state = TaskState.OPEN
        task.progress = 0.0
    else:
        task.holder = None
        task.state = TaskState.OPEN
        if task.awaiting_handoff:  # passed on through the pool
            turn.record.passed_on.append(i)
            model.traces.deposit("help", task.pos, task.priority)
    model.drop(i)


@_held
def _handoff(model: SwarmModel, turn: Turn, i: int, task: Task, action: Action) -> None:
    j = model.index_of[action.agent]
    turn.record.takes.append(i)
    turn.record.passed_on.append(i)
    giver = int(model.swarm[i].unique_id)
    model.drop(i)
    if model.holding[j] >= 0:  # the receiver took something else this step
        turn.record.conflicts.append(i)
        task.holder = None
        task.state = TaskState.OPEN
        model.traces.deposit("help", task.pos, task.priority)
        return
    task.holder = int(model.swarm[j].unique_id)
    task.awaiting_handoff = False
    model.hold(j, task)
    turn.received[j] = turn.place
    turn.record.taken_up.append(i)
    model.soul_event(j, HelpedAgent(agent_id=giver))
    model.soul_event(i, LearnedPattern(pattern="hand off stages outside my domains"))


@_held
def _help(model: SwarmModel, turn: Turn, i: int, task: Task, action: Action) -> None:
    model.traces.deposit("help", task.pos, task.priority)


#: What each kind of action does.
HANDLERS: dict[ActionKind, Callable[..., None]] = {
    ActionKind.MOVE: _move,
    ActionKind.APPROACH: _approach,
    ActionKind.EXPLORE: _explore,
    ActionKind.WAIT: _wait,
    ActionKind.CLAIM: _claim,
    ActionKind.JOIN: _join,
    ActionKind.WORK: _work,
    ActionKind.RELEASE: _release,
    ActionKind.HANDOFF: _handoff,
    ActionKind.HELP: _help,
}
assert set(HANDLERS) == set(ActionKind), "every action kind needs a handler"


# Finishing work ------------------------------------------------------------------------


def _synthesise(model: SwarmModel, turn: Turn, task: Task, members: Sequence[int]) -> float:
    """The synthesis protocol: each member's policy proposes from the member's reading
    (:func:`swarm.policies.base.proposal_of`), the group votes component by component
    (see :mod:`swarm.world.voting`); the decision is recorded and its quality returned."""
    slots = list(task.members)
    skills = [model.skills[j, model.domain_index[d]] for d, j in zip(slots, members, strict=True)]
    expertise = [
        model.swarm[j].soul.expertise(d, model.rules) for d, j in zip(slots, members, strict=True)
    ]
    options = model.board.mix.approach_options
    votes = model.streams.keyed("votes", task.id)

    def choose(m: int, reading: np.ndarray) -> tuple[int, ...]:
        j = members[m]
        view = ProposalView(
            agent_id=int(model.swarm[j].unique_id),
            step=model.steps,
            task_id=task.id,
            domain=slots[m],
            skill=round(float(skills[m]), 2),
            level=model.level_names[j],
            options=options,
            reading=tuple(tuple(int(o) for o in row) for row in reading),
        )
        return proposal_of(model.policy, view)

    dec = collective_decision(
        task.approach, skills, expertise, model.voting, options, votes, choose=choose
    )
    turn.record.votes.append((dec.quality, bool(dec.novel)))
    components = len(task.approach)
    for d, j, right in zip(slots, members, dec.member_qualities, strict=True):
        hits = int(round(right * components))  # the outcome shows which were right
        model.soul_event(j, ProposalJudged(domain=d, right=hits, wrong=components - hits))
    model.datacollector.add_table_row(
        "decisions",
        {
            "step": model.steps,
            "task_id": task.id,
            "rule": model.voting,
            "agents": [int(model.swarm[j].unique_id) for j in members],
            "domains": slots,
            "proposals": ["".join(map(str, p)) for p in dec.proposals],
            "weights": [float(w) for w in dec.weights],
            "winner": "".join(map(str, dec.winner)),
            "best": "".join(map(str, task.approach)),
            "novel": dec.novel,
            "recombined": dec.recombined,
            "quality": dec.quality,
            "best_member_quality": float(dec.member_qualities.max()),
            "mean_member_quality": float(dec.member_qualities.mean()),
            # each member's estimated accuracy before the outcome, and its realised one
            "expertise": [float(e) for e in expertise],
            "member_qualities": [float(q) for q in dec.member_qualities],
        },
    )
    return dec.quality


def _slot_of(model: SwarmModel, task: Task, i: int) -> str:
    uid = int(model.swarm[i].unique_id)
    return next(d for d, a in task.members.items() if a == uid)


def _stage_done(model: SwarmModel, i: int, task: Task, domain: str, quality: float) -> None:
    model.tasks_done[i] += 1
    model.datacollector.add_table_row(
        "work",
        {
            "step": model.steps,
            "agent_id": int(model.swarm[i].unique_id),
            "domain": domain,
            "task_type": task.task_type,
            "quality": quality,
        },
    )
    model.soul_event(
        i,
        TaskCompleted(
            domain=domain, task_type=task.task_type, difficulty=task.difficulty, quality=quality
        ),
    )


def _finish(
    model: SwarmModel, turn: Turn, task: Task, members: Sequence[int], quality: float
) -> None:
    task.state = TaskState.DONE
    turn.record.completed.append((task.id, task.task_type, quality))
    model.traces.deposit("success", task.pos, 1.0 + task.difficulty)
    for j in members:
        model.drop(j)
    model.board.remove(task)


# The world's turn ----------------------------------------------------------------------


def advance_world(model: SwarmModel, record: StepRecord) -> None:
    """Step 4: claim traces on held tasks, trace decay and diffusion, deadlines, arrivals,
    and the end of a day for every soul."""
    # a held task is on view on its cell (tasks waiting under it are not held)
    board = model.board
    shown = board.task_at.ravel()[np.flatnonzero(board.shown)].tolist()
    held = [t for t in map(board.tasks.__getitem__, shown) if t.state is TaskState.HELD]
    if held:
        model.traces.deposit_many("claim", [t.x for t in held], [t.y for t in held], 1.0)
    model.traces.step()
    now = model.steps
    for task in model.board.expired(now):
        _expire(model, record, task)
    born = model.board.arrive(now)
    if born:
        model.datacollector.add_table_rows(
            "arrivals",
            {
                "step": [now] * len(born),
                "task_id": [t.id for t in born],
                "task_type": [str(t.task_type) for t in born],
                "x": [t.x for t in born],
                "y": [t.y for t in born],
                "difficulty": [t.difficulty for t in born],
                "deadline": [t.deadline for t in born],
            },
        )
    if now % model.steps_per_day == 0:
        end_day(model, now // model.steps_per_day - 1)


def end_day(model: SwarmModel, day: int) -> None:
    """Every soul ends day ``day`` (a day end changes none of what the model keeps of a
    soul in its arrays: skills, level, XP, main domain, meta-learning)."""
    event = DayEnded(day=day)
    for agent in model.swarm:
        agent.soul.apply(event, model.rules)


def _expire(model: SwarmModel, record: StepRecord, task: Task) -> None:
    task.state = TaskState.FAILED
    record.failed.append((task.id, task.task_type))
    # each holder failed in its own domain: a synthesis member in its slot's
    slots = {a: d for d, a in task.members.items()} if task.task_type.group else {}
    for uid in task.holders:
        j = model.index_of[uid]
        domain = slots.get(uid, task.domain)
        model.soul_event(
            j, TaskFailed(domain=domain, task_type=task.task_type, reason="missed the deadline")
        )
        model.drop(j)
    model.board.remove(task)
