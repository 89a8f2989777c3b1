"""Building observations from the model's arrays (step 1 of the step: observe).

Observations are built for all agents at once from array slices
(:func:`build_observations`): a window of the task index and of every trace channel
around each agent. Only agents with a task in view or in hand get per-agent task lists;
the rest share one candidate tuple. :func:`build_observations_naive` builds the same
observations the slow way, reading Mesa cells one by one; it is the benchmark's baseline
and the tests' check that the fast path sees the same world. :func:`candidates_for` is the
rule of which actions are legal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from swarm.interface.observation import OFFSETS, NearbyAgent, Observation, Observations, TaskView
from swarm.world import actions as A
from swarm.world.actions import DIRECTIONS, Action
from swarm.world.tasks import Task, TaskState

if TYPE_CHECKING:  # type hints only: the model imports this module
    from swarm.model import SwarmModel


def task_facts(task: Task, now: int) -> tuple:
    """A snapshot of ``task`` at step ``now``: the fields how it looks depends on, copied
    (the task changes later; :func:`view_from` reads the snapshot)."""
    members = tuple(task.members.items()) if task.members else ()
    return (
        task.id,
        task.task_type,
        task.x,
        task.y,
        task.domains,
        task.difficulty,
        task.work,
        task.deadline - now,
        task.state is TaskState.HELD,
        task.stage,
        task.progress,
        task.holder,
        members,
        task.awaiting_handoff,
    )


def seen_alike(facts: tuple) -> tuple:
    """What every viewer of the task of ``facts`` sees alike: TaskView's fields from
    ``domain`` on, less ``state``."""
    _, task_type, _, _, domains, difficulty, work, left, _, stage, progress, holder, members, aw = (
        facts
    )
    taken = {d for d, _ in members}
    return (
        domains[min(stage, len(domains) - 1)],
        round(difficulty, 2),
        tuple(d for d in domains if d not in taken),
        left,
        round(min(progress / work, 1.0), 2),
        stage,
        task_type.stages(domains),
        holder,
        len(members),
        aw,
        round(work, 2),
    )


def view_from(
    facts: tuple,
    agent_id: int,
    ax: int,
    ay: int,
    width: int,
    height: int,
    torus: bool,
    common: tuple | None = None,
) -> TaskView:
    """The task of ``facts`` (:func:`task_facts`) as agent ``agent_id`` at ``(ax, ay)``
    sees it: positions relative to it (the shortest way round on a torus) and its state.
    ``common``: :func:`seen_alike` of ``facts``, if known."""
    tid, task_type, x, y = facts[:4]
    held, holder, members, awaiting = facts[8], facts[11], facts[12], facts[13]
    dx, dy = x - ax, y - ay
    if torus:  # shortest way round
        dx = (dx + width // 2) % width - width // 2
        dy = (dy + height // 2) % height - height // 2
    if holder == agent_id or any(a == agent_id for _, a in members):
        state = "mine"
    elif awaiting:
        state = "awaiting handoff"
    elif held:
        state = "held"
    else:
        state = "open"
    # TaskView's fields in order: id, task_type, dx, dy, domain, difficulty, state, ...
    d, difficulty, *rest = seen_alike(facts) if common is None else common
    return TaskView(tid, task_type, int(dx), int(dy), d, difficulty, state, *rest)


def task_view(
    task: Task, agent_id: int, ax: int, ay: int, now: int, width: int, height: int, torus: bool
) -> TaskView:
    """``task`` as agent ``agent_id`` at ``(ax, ay)`` sees it at step ``now``."""
    return view_from(task_facts(task, now), agent_id, ax, ay, width, height, torus)


def candidates_for(
    task: TaskView | None,
    tasks: Sequence[TaskView],
    agents: Sequence[NearbyAgent],
    moves: tuple[Action, ...],
    handoffs: bool = True,
) -> tuple[Action, ...]:
    """The legal actions of an agent holding ``task`` (or idle), seeing ``tasks``
    (``handoffs`` false: no direct handoffs)."""
    if task is None:
        extra = []
        for t in tasks:
            if t.distance > 1:
                if t.open_to_take:
                    extra.append(A.approach(t.id))
                continue
            if t.open_to_take:
                extra.append(A.join(t.id) if t.task_type.group else A.claim(t.id))
        return (*moves, A.EXPLORE, *extra)
    if task.task_type.group:
        full = not task.open_slots
        return (A.work(task.id) if full else A.WAIT, A.help_(task.id), A.release(task.id))
    out = [A.work(task.id), A.release(task.id), A.help_(task.id)]
    if task.awaiting and handoffs:
        out += [A.handoff(task.id, a.id) for a in agents if a.idle]
    return tuple(out)


def legal_moves(x: int, y: int, width: int, height: int, torus: bool) -> tuple[Action, ...]:
    """The moves that stay on the grid from ``(x, y)`` (all eight on a torus)."""
    if torus:
        return A.MOVES
    return tuple(
        m
        for m, (dx, dy) in zip(A.MOVES, DIRECTIONS.values(), strict=True)
        if 0 <= x + dx < width and 0 <= y + dy < height
    )


class Sight:
    """What the agents can see at one step, as of its observe phase.

    A snapshot of the agents' arrays (positions and their neighbour index, holdings,
    skills, levels, souls' meta-learning) and of every task in view of an agent that has
    something in view (:func:`task_facts`), so that an observation built later, lazily,
    after the act phase has changed the world, is the one the agent had.
    """

    def __init__(self, model: SwarmModel, index: bool = True) -> None:
        self.now = model.steps
        self.width, self.height, self.torus = model.width, model.height, model.torus
        self.radius = model.view_radius
        self.handoffs, self.defer = model.handoffs, model.deference
        self.channels, self.domains = model.channel_names, model.domains
        self.ids = model.agent_ids
        self.x, self.y = model.ax.copy(), model.ay.copy()
        self.holding = model.holding.copy()
        self.skills = model.skills.copy()
        self.level, self.meta = list(model.level_names), list(model.meta)
        self.main_domains = list(model.main_domains)
        self.index = model.space.index() if index else None
        self.facts: dict[int, tuple] = {}  # task id -> task_facts, for the tasks seen
        self._alike: dict[int, tuple] = {}  # task id -> seen_alike, once asked for

    def see(self, tasks: dict[int, Task], ids) -> None:
        """Take the facts of tasks ``ids`` (if not taken yet)."""
        for t in ids:
            if t not in self.facts:
                self.facts[t] = task_facts(tasks[t], self.now)

    def view(self, task_id: int, i: int) -> TaskView:
        """Task ``task_id`` (seen) as agent ``i`` sees it."""
        facts = self.facts[task_id]
        common = self._alike.get(task_id)
        if common is None:
            common = self._alike[task_id] = seen_alike(facts)
        return view_from(
            facts,
            int(self.ids[i]),
            int(self.x[i]),
            int(self.y[i]),
            self.width,
            self.height,
            self.torus,
            common,
        )

    def agents(self, i: int) -> tuple[NearbyAgent, ...]:
        """The other agents within the view radius of agent ``i``, sorted by id."""
        rows = self.index.nearby(i, self.radius)
        dx, dy = self.x[rows] - self.x[i], self.y[rows] - self.y[i]
        if self.torus:
            dx = (dx + self.width // 2) % self.width - self.width // 2
            dy = (dy + self.height // 2) % self.height - self.height // 2
        idle = self.holding[rows] < 0
        cols = zip(rows.tolist(), dx.tolist(), dy.tolist(), idle.tolist(), strict=True)
        out = [NearbyAgent(int(self.ids[j]), a, b, c, self.main_domains[j]) for j, a, b, c in cols]
        out.sort(key=lambda a: a.id)
        return tuple(out)

    def moves(self, i: int) -> tuple[Action, ...]:
        return legal_moves(int(self.x[i]), int(self.y[i]), self.width, self.height, self.torus)

    def held(self, i: int) -> tuple[TaskView | None, tuple[Action, ...] | None]:
        """Agent ``i``'s task as it sees it, and its candidates (None where they depend on
        the agents in view: a stage awaiting handoff, handoffs allowed); (None, None) if
        it holds nothing."""
        if self.holding[i] < 0:
            return None, None
        held = self.view(int(self.holding[i]), i)
        if held.awaiting and self.handoffs:
            return held, None
        return held, candidates_for(held, (), (), (), self.handoffs)

    def observation(self, i: int, task_ids: Sequence[int], traces: np.ndarray) -> Observation:
        """Agent ``i``'s observation, seeing tasks ``task_ids`` and ``traces``."""
        views = tuple(sorted((self.view(t, i) for t in task_ids), key=lambda v: (v.distance, v.id)))
        held = self.view(int(self.holding[i]), i) if self.holding[i] >= 0 else None
        agents = self.agents(i) if (held is not None or views) else ()
        cands = candidates_for(held, views, agents, self.moves(i), self.handoffs)
        prefers, strengths, avoids = self.meta[i]
        return Observation(
            int(self.ids[i]),
            self.now,
            int(self.x[i]),
            int(self.y[i]),
            self.level[i],
            self.domains,
            self.skills[i],
            self.channels,
            traces,
            cands,
            task=held,
            tasks=views,
            agents=agents,
            index=i,
            defer=self.defer,
            prefers=prefers,
            strengths=strengths,
            avoids=avoids,
        )

    def plain(self, i: int, traces: np.ndarray) -> Observation:
        """The observation of agent ``i`` idle with nothing in view (a plain one)."""
        return self.observation(i, (), traces)


def build_observations(model: SwarmModel) -> Observations:
    """Observations of every agent, from array slices (see the module docstring).

    Every observation is built lazily, from this step's :class:`Sight`, only if something
    reads it (:class:`~swarm.interface.observation.Observations`). An array policy decides
    the plain agents (idle, no task in view, away from a bounded grid's edge) from
    ``traces`` and ``simple`` alone, and the agents holding a task from ``held`` (the
    task as each sees it) and ``candidates_of``; what it reads is built for it.
    """
    from swarm.world.kernels import any_within  # numba: compiled on first use

    n = len(model.swarm)
    ax, ay = model.ax, model.ay
    r = model.view_radius
    traces = model.traces.neighbourhoods(model.channel_names, ax, ay, OFFSETS)  # (n, C, 9)
    task_at = model.board.task_at
    busy = any_within(model.board.shown, ax, ay, r, model.torus) | (model.holding >= 0)
    simple = ~busy
    if not model.torus:
        edge = (ax == 0) | (ay == 0) | (ax == model.width - 1) | (ay == model.height - 1)
        simple &= ~edge
    rows = np.flatnonzero(~simple)
    sight = Sight(model, index=len(rows) > 0)
    windows = _windows(task_at, ax[rows], ay[rows], r, model.torus)  # (k, 2r+1, 2r+1)
    in_view = {i: w[w >= 0].tolist() for i, w in zip(rows.tolist(), windows, strict=True)}
    tasks = model.board.tasks
    sight.see(tasks, np.unique(windows[windows >= 0]).tolist())
    sight.see(tasks, model.holding[rows][model.holding[rows] >= 0].tolist())

    def build(i: int) -> Observation:
        if simple[i]:
            return sight.plain(i, traces[i])
        return sight.observation(i, in_view[i], traces[i])

    obs = Observations(
        traces=traces,
        agent_ids=model.agent_ids,
        step=model.steps,
        simple=simple,
        lazy=build,
        n=n,
        skills=sight.skills,
        domains=sight.domains,
        channels=sight.channels,
    )
    for i in rows.tolist():
        held, cands = sight.held(i)
        if held is not None:
            obs.held[i] = held
            if cands is not None:
                obs.cands[i] = cands
    return obs


def _windows(task_at: np.ndarray, xs: np.ndarray, ys: np.ndarray, r: int, torus: bool):
    """The task index in the ``(2r+1) x (2r+1)`` window around each point (-1: none,
    or off a bounded grid): shape ``(len(xs), 2r+1, 2r+1)``, ``[k, dx + r, dy + r]``."""
    w, h = task_at.shape
    offs = np.arange(-r, r + 1)
    gx = xs[:, None, None] + offs[None, :, None]
    gy = ys[:, None, None] + offs[None, None, :]
    if torus:
        return task_at[gx % w, gy % h]
    inside = (gx >= 0) & (gx < w) & (gy >= 0) & (gy < h)
    return np.where(inside, task_at[np.clip(gx, 0, w - 1), np.clip(gy, 0, h - 1)], -1)


def build_observations_naive(model: SwarmModel) -> Observations:
    """The same observations, built per agent through Mesa's per-cell property access."""
    out = Observations(step=model.steps)
    r = model.view_radius
    sight = Sight(model)
    for i, agent in enumerate(model.swarm):
        cell = agent.cell
        x, y = cell.coordinate
        rows = []
        for channel in model.channel_names:
            layer_name = "trace_" + channel
            row = []
            for dx, dy in OFFSETS:
                if (dx, dy) == (0, 0):
                    row.append(getattr(cell, layer_name))
                else:
                    nb = cell.connections.get((dx, dy))
                    row.append(getattr(nb, layer_name) if nb is not None else np.nan)
            rows.append(row)
        traces = np.array(rows)
        task_ids = []
        for dx in range(-r, r + 1):
            for dy in range(-r, r + 1):
                c = model.cell_at(x + dx, y + dy)
                if c is not None and c.task >= 0:
                    task_ids.append(int(c.task))
        held = [int(model.holding[i])] if model.holding[i] >= 0 else []
        sight.see(model.board.tasks, task_ids + held)
        out.append(sight.observation(i, task_ids, traces))
    return out
