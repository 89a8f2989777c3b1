"""The swarm model: observe → decide (one batched call) → act → world → collect.

>>> from swarm import SwarmModel
>>> model = SwarmModel(n_agents=10, rng=42)
>>> for _ in range(50):
...     model.step()
>>> df = model.datacollector.get_model_vars_dataframe()
>>> list(df.columns)[:4]
['completed', 'failed', 'throughput', 'conflicts']

This module is the wiring: construction (parameters from :class:`swarm.params.ModelParams`,
the grid, traces, task board, agents and their souls, the policy, the DataCollector) and
:meth:`SwarmModel.step`. What each action does and the world's turn are in
:mod:`swarm.mechanics`, the observations in :mod:`swarm.observe`, and what is measured in
:mod:`swarm.metrics`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mesa
import numpy as np

from soul import DomainRecord, LearningRules, Rules, Soul, SoulStore
from swarm import mechanics
from swarm.agents import SwarmAgent
from swarm.interface.observation import Decision, Observations
from swarm.metrics import Counts, StepRecord, datacollector, field_centre
from swarm.observe import build_observations, build_observations_naive
from swarm.params import DEFAULT_DOMAINS, ModelParams
from swarm.policies import bind, make_policy
from swarm.space import AgentSpace
from swarm.streams import Streams, root_seed
from swarm.world.tasks import Task, TaskBoard, TaskMix
from swarm.world.traces import TraceGrid

__all__ = ["DEFAULT_DOMAINS", "ENGINE_VERSION", "SwarmModel"]

#: The version of what a run computes: bumped whenever a change alters the numbers a
#: seed's run produces (2: common random numbers, tasks waiting under occupied cells;
#: 3: souls' meta-learning steers the expert, vote weights from track records; 4: the
#: array engine: a fused trace step that rounds differently, arrivals drawn per step not
#: per task, trace reporters computed over the cells with mass, a failed synthesis
#: charged to each member's own slot domain; 5: trace entropy summed by numpy, not by a
#: BLAS dot product, whose threaded sum depends on the machine's cores, and on grids of
#: more than 65,536 cells the top-5 % concentration summed in another order: those
#: columns move in the last places, nothing else changes).
#: Sweeps and benchmarks key their stored runs by it, so a resumed sweep never mixes
#: runs of two engines.
ENGINE_VERSION = 5


class SwarmModel(mesa.Model):
    """A swarm of agents with souls, coordinating on tasks through traces.

    Keyword arguments are the fields of :class:`swarm.params.ModelParams` (validated by
    it; see its field descriptions), or ``params=`` one instance; plus ``seed`` / ``rng``
    as in ``mesa.Model``. ``model.params`` holds the validated parameters.

    Every draw comes from ``model.streams`` (:mod:`swarm.streams`), spawned from the seed
    (``seed``, or ``rng`` when it is an int): the same seed gives the same world, whatever
    the policy, traces, voting rule or learning.
    """

    def __init__(
        self,
        params: ModelParams | None = None,
        *,
        seed: int | None = None,
        rng: Any = None,
        **kwargs: Any,
    ) -> None:
        if params is None:
            params = ModelParams.model_validate(kwargs)
        else:
            if not isinstance(params, ModelParams):  # a mapping of parameters
                params = ModelParams.model_validate(params)
            if kwargs:
                params = ModelParams.model_validate(params.model_dump(exclude_unset=True) | kwargs)
        super().__init__(seed=seed, rng=rng)
        #: The seed the named random streams spawn from (see :mod:`swarm.streams`).
        self.stream_seed = root_seed(seed, rng, self.rng)
        self.streams = Streams(self.stream_seed)
        self.params = p = params
        self.width, self.height, self.torus = p.width, p.height, p.torus
        self.domains = tuple(p.domains)
        self.domain_index = {d: k for k, d in enumerate(self.domains)}
        self.view_radius = p.view_radius
        self.steps_per_day = p.steps_per_day
        self.voting = p.voting
        self.deference = p.deference
        self.handoffs = p.handoffs
        self.observe_mode = p.observe
        self.act_mode = p.act
        self.rules = Rules() if p.learn else Rules(learning=LearningRules(skill_step=0.0))

        #: Positions as arrays, Mesa's grid a view over them (:mod:`swarm.space`).
        self.space = AgentSpace(self.width, self.height, self.torus, self.random)
        self.grid = self.space.grid
        self._cells = self.grid._cells  # coordinate -> cell, for the reference move path
        self.traces = TraceGrid.on_grid(self.grid, p.channel_specs())
        self.traces.muted = not p.stigmergy
        self.channel_names = tuple(self.traces.channels)
        task_layer = self.grid.create_property_layer("task", default_value=-1, dtype=int)
        self.board = TaskBoard(
            self.width,
            self.height,
            self.domains,
            TaskMix(rate=p.rate, hotspots=p.hotspots),
            self.streams.world,
            torus=self.torus,
        )
        self.board.task_at = task_layer.data  # the task index is a Mesa property layer

        self.store = SoulStore(p.souls) if p.souls is not None else None
        self._place_agents(p.n_agents, p.alone)

        self.policy = make_policy(p.policy)
        bind(self.policy, self)
        #: Called with (model, observations, decisions) after the policy decides, before
        #: the act phase (see :func:`swarm.rollout`).
        self.on_decisions: list[Callable[[SwarmModel, Observations, list[Decision]], None]] = []
        self.counts = Counts()
        self.last_record: StepRecord | None = None  # what happened in the last step
        self.datacollector = datacollector(self.channel_names, p.agent_report_every)
        self.datacollector.collect(self)

    # Set-up -------------------------------------------------------------------------------

    def _place_agents(self, n: int, alone: int | None = None) -> None:
        rng = self.streams.population
        xs = rng.integers(0, self.width, n)
        ys = rng.integers(0, self.height, n)
        d = len(self.domains)
        home = rng.integers(0, d, n)
        home_skill = rng.uniform(0.6, 0.85, n)
        second = (home + rng.integers(1, d, n)) % d
        has_second = rng.random(n) < 0.5
        second_skill = rng.uniform(0.45, 0.65, n)
        keep = list(range(n)) if alone is None else [alone]
        xs, ys = xs[keep], ys[keep]
        self.swarm: list[SwarmAgent] = []
        for row, i in enumerate(keep):
            soul_id = f"agent-{i}"
            soul = self.store.load_or_create(soul_id, name=f"Agent {i}") if self.store else None
            if soul is None or soul.events_applied == 0:
                soul = soul or Soul(id=soul_id, name=f"Agent {i}")
                _seed_skill(soul, self.domains[home[i]], float(home_skill[i]))
                if has_second[i]:
                    _seed_skill(soul, self.domains[second[i]], float(second_skill[i]))
            self.swarm.append(SwarmAgent(self, soul, row))
        self.space.place(self.swarm, xs, ys)
        self.ax, self.ay = self.space.x, self.space.y  # the same arrays
        self.agent_ids = np.array([a.unique_id for a in self.swarm], dtype=np.int64)
        self.index_of = {int(a.unique_id): a.index for a in self.swarm}
        n = len(keep)
        self.holding = np.full(n, -1, dtype=np.int64)
        self.skills = np.zeros((n, len(self.domains)))
        self.level_names = [""] * n
        self.xp = np.zeros(n, dtype=np.int64)  # each soul's XP (kept by _refresh)
        self.tasks_done = np.zeros(n, dtype=np.int64)  # units of work each agent did
        self.main_domains: list[str | None] = [None] * n
        #: Per agent, its soul's (preferredTaskTypes, strengthDomains, avoidPatterns).
        self.meta: list[tuple[tuple[str, ...], ...]] = [((), (), ())] * n
        for i in range(n):
            self._refresh(i)

    def _refresh(self, i: int) -> None:
        soul = self.swarm[i].soul
        self.skills[i] = [soul.skill(d, self.rules) for d in self.domains]
        self.level_names[i] = soul.level.value
        self.xp[i] = soul.xp
        self.main_domains[i] = soul.main_domain
        m = soul.meta_learning
        self.meta[i] = (
            tuple(m.preferred_task_types),
            tuple(m.strength_domains),
            tuple(m.avoid_patterns),
        )

    # Queries ------------------------------------------------------------------------------

    def cell_at(self, x: int, y: int):
        """The Mesa cell at (x, y), wrapping on a torus; None off a bounded grid."""
        if self.torus:
            return self.grid[(x % self.width, y % self.height)]
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.grid[(x, y)]
        return None

    def near_hotspot(self, i: int) -> bool:
        """Whether agent ``i`` is within two spreads (about 95 % of a hotspot's arrivals)
        of a hotspot's centre, wrapping on a torus."""
        return bool(self.near_hotspots(np.array([i]))[0])

    def near_hotspots(self, rows: np.ndarray | None = None) -> np.ndarray:
        """:meth:`near_hotspot` for agents ``rows`` (default: all), as a bool array."""
        ax, ay = (self.ax, self.ay) if rows is None else (self.ax[rows], self.ay[rows])
        dx = np.abs(self.board.hotspots[:, 0][None, :] - ax[:, None])
        dy = np.abs(self.board.hotspots[:, 1][None, :] - ay[:, None])
        if self.torus:
            dx, dy = np.minimum(dx, self.width - dx), np.minimum(dy, self.height - dy)
        return (dx * dx + dy * dy).min(axis=1) <= (2 * self.board.mix.spread) ** 2

    def trace_centre(self) -> tuple[float, float]:
        """Centre of mass of all trace channels together (:func:`swarm.metrics.field_centre`),
        computed once per step."""
        if getattr(self, "_centre", (None,))[0] != self.steps:
            total = sum(self.traces.values(c) for c in self.channel_names)
            self._centre = (self.steps, field_centre(total, self.torus))
        return self._centre[1]

    def draw_quality(self, skill: float, task_id: int, stage: int) -> float:
        """Quality of stage ``stage`` of task ``task_id`` done at ``skill`` (noisy, in
        [0, 1]; the noise is the task's and stage's own, from the ``work`` stream)."""
        noise = self.streams.keyed("work", task_id, stage).normal(0.0, 0.08)
        return float(np.clip(0.35 + 0.6 * skill + noise, 0.0, 1.0))

    def policy_stream(self) -> np.random.Generator:
        """A random generator for a policy bound to this model (its own child stream)."""
        return self.streams.policy()

    # The step -----------------------------------------------------------------------------

    def observe(self) -> Observations:
        """Observations of every agent (step 1)."""
        if self.observe_mode == "cells":
            return build_observations_naive(self)
        return build_observations(self)

    def step(self) -> None:
        """observe → decide → act → world → collect; what happened is ``last_record``."""
        obs = self.observe()
        decisions = self.policy.decide(obs)
        if len(decisions) != len(obs):
            raise RuntimeError(
                f"policy {self.policy!r} returned {len(decisions)} decisions "
                f"for {len(obs)} observations"
            )
        for hook in self.on_decisions:
            hook(self, obs, decisions)
        record = StepRecord(self.steps, obs, decisions)
        mechanics.act(self, obs, decisions, mechanics.Turn(record))
        mechanics.advance_world(self, record)
        self.counts.add(record)
        self.last_record = record
        self.datacollector.collect(self)

    # State changes used by the mechanics --------------------------------------------------

    def hold(self, i: int, task: Task) -> None:
        """Agent ``i`` now holds ``task``."""
        self.holding[i] = task.id
        self.swarm[i].task = task.id

    def drop(self, i: int) -> None:
        """Agent ``i`` holds nothing."""
        self.holding[i] = -1
        self.swarm[i].task = None

    def soul_event(self, i: int, event) -> None:
        """Apply a soul event to agent ``i`` and refresh its skills and level."""
        self.swarm[i].soul.apply(event, self.rules)
        self._refresh(i)

    # Persistence --------------------------------------------------------------------------

    def save_souls(self) -> int:
        """Write every soul to the store (if the model has one); returns how many."""
        if self.store is None:
            return 0
        for agent in self.swarm:
            self.store.save(agent.soul)
        return len(self.swarm)


def _seed_skill(soul: Soul, domain: str, skill: float) -> None:
    """A new soul's skill in ``domain`` (keeping a strength it was given)."""
    rec = soul.domains.get(domain)
    if rec is None:
        soul.domains[domain] = DomainRecord(skill=skill)
    else:
        rec.skill = skill
