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


def task_view(
    task: Task,
    agent_id: int,
    ax: int,
    ay: int,
    now: int,
    width: int,
    height: int,
    torus: bool,
    facts: dict[int, tuple] | None = None,
) -> TaskView:
    """``task`` as agent ``agent_id`` at ``(ax, ay)`` sees it. ``facts``: a cache, for one
    step's observations, of what every viewer sees alike."""
    dx, dy = task.x - ax, task.y - ay
    if torus:  # shortest way round
        dx = (dx + width // 2) % width - width // 2
        dy = (dy + height // 2) % height - height // 2
    if task.holder == agent_id or agent_id in task.members.values():
        state = "mine"
    elif task.awaiting_handoff:
        state = "awaiting handoff"
    elif task.state is TaskState.HELD:
        state = "held"
    else:
        state = "open"
    common = None if facts is None else facts.get(task.id)
    if common is None:
        common = (
            task.domain,
            round(task.difficulty, 2),
            task.open_slots,
            task.deadline - now,
            round(min(task.progress / task.work, 1.0), 2),
            task.stage,
            task.task_type.stages(task.domains),
            task.holder,
            len(task.members),
            task.awaiting_handoff,
            round(task.work, 2),
        )
        if facts is not None:
            facts[task.id] = common
    # TaskView's fields in order: id, task_type, dx, dy, domain, difficulty, state, ...
    d, difficulty, *rest = common
    return TaskView(task.id, task.task_type, int(dx), int(dy), d, difficulty, state, *rest)


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


def _legal_moves(model: SwarmModel, x: int, y: int) -> tuple[Action, ...]:
    if model.torus:
        return A.MOVES
    return tuple(
        m
        for m, (dx, dy) in zip(A.MOVES, DIRECTIONS.values(), strict=True)
        if 0 <= x + dx < model.width and 0 <= y + dy < model.height
    )


def build_observations(model: SwarmModel) -> Observations:
    """Observations of every agent, from array slices (see the module docstring).

    The plain observations (idle, no task in view, away from a bounded grid's edge) are
    built lazily, from this step's arrays, only if something reads them
    (:class:`~swarm.interface.observation.Observations`): an array policy decides those
    agents from ``traces`` and ``simple`` alone.
    """
    n = len(model.swarm)
    ax, ay = model.ax, model.ay
    r = model.view_radius
    now = model.steps
    traces = model.traces.neighbourhoods(model.channel_names, ax, ay, OFFSETS)  # (n, C, 9)
    task_at = model.board.task_at
    busy = _tasks_within(task_at, r, model.torus)[ax, ay] | (model.holding >= 0)
    simple = ~busy
    if not model.torus:
        edge = (ax == 0) | (ay == 0) | (ax == model.width - 1) | (ay == model.height - 1)
        simple &= ~edge
    # what a lazy observation needs, as of now (the arrays change in the act phase)
    ids, xs, ys = model.agent_ids, ax.copy(), ay.copy()
    level, meta = list(model.level_names), list(model.meta)
    skills = model.skills.copy()
    chans, domains = model.channel_names, model.domains

    def plain(i: int) -> Observation:
        return Observation(
            int(ids[i]),
            now,
            int(xs[i]),
            int(ys[i]),
            level[i],
            domains,
            skills[i],
            chans,
            traces[i],
            A.IDLE_CANDIDATES,
            index=i,
            prefers=meta[i][0],
            strengths=meta[i][1],
            avoids=meta[i][2],
        )

    obs = Observations(traces=traces, agent_ids=ids, step=now, simple=simple, lazy=plain, n=n)
    offs = np.arange(-r, r + 1)
    facts: dict[int, tuple] = {}  # what every viewer of a task sees alike, this step
    for i in np.flatnonzero(~simple).tolist():
        gx, gy = ax[i] + offs[:, None], ay[i] + offs[None, :]
        if model.torus:
            win = task_at[gx % model.width, gy % model.height]
        else:
            inside = (gx >= 0) & (gx < model.width) & (gy >= 0) & (gy < model.height)
            win = np.where(
                inside,
                task_at[np.clip(gx, 0, model.width - 1), np.clip(gy, 0, model.height - 1)],
                -1,
            )
        obs[i] = _full_observation(model, i, win[win >= 0].tolist(), traces[i], facts)
    return obs


def _tasks_within(task_at: np.ndarray, r: int, torus: bool) -> np.ndarray:
    """Which cells have a visible task within Chebyshev distance ``r`` (wrapping on a
    torus): the task cells dilated, by scattering each of them over its window."""
    w, h = task_at.shape
    near = np.zeros((w, h), dtype=bool)
    tx, ty = np.nonzero(task_at >= 0)
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            x, y = tx + dx, ty + dy
            if torus:
                near[x % w, y % h] = True
            else:
                ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
                near[x[ok], y[ok]] = True
    return near


def _full_observation(
    model: SwarmModel,
    i: int,
    task_ids: list[int],
    traces: np.ndarray,
    facts: dict[int, tuple] | None = None,
) -> Observation:
    agent_id = int(model.agent_ids[i])
    x, y = int(model.ax[i]), int(model.ay[i])
    now = model.steps
    views = tuple(
        sorted(
            (
                task_view(
                    model.board.tasks[t],
                    agent_id,
                    x,
                    y,
                    now,
                    model.width,
                    model.height,
                    model.torus,
                    facts,
                )
                for t in task_ids
            ),
            key=lambda v: (v.distance, v.id),
        )
    )
    held = None
    if model.holding[i] >= 0:
        t = model.board.tasks[int(model.holding[i])]
        held = task_view(t, agent_id, x, y, now, model.width, model.height, model.torus, facts)
    agents = model.nearby_agents(i) if (held is not None or views) else ()
    cands = candidates_for(held, views, agents, _legal_moves(model, x, y), model.handoffs)
    return Observation(
        agent_id,
        now,
        x,
        y,
        model.level_names[i],
        model.domains,
        model.skills[i].copy(),
        model.channel_names,
        traces,
        cands,
        task=held,
        tasks=views,
        agents=agents,
        index=i,
        defer=model.deference,
        prefers=model.meta[i][0],
        strengths=model.meta[i][1],
        avoids=model.meta[i][2],
    )


def build_observations_naive(model: SwarmModel) -> Observations:
    """The same observations, built per agent through Mesa's per-cell property access."""
    out = Observations(step=model.steps)
    r = model.view_radius
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
        out.append(_full_observation(model, i, task_ids, traces))
    return out
