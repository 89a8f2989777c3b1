"""The swarm model: observe → decide (one batched call) → act → world → collect.

>>> from swarm import SwarmModel
>>> model = SwarmModel(n_agents=10, rng=42)
>>> for _ in range(50):
...     model.step()
>>> df = model.datacollector.get_model_vars_dataframe()
>>> list(df.columns)[:4]
['completed', 'failed', 'throughput', 'conflicts']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import mesa
import numpy as np
from mesa.discrete_space import OrthogonalMooreGrid

from soul import (
    DayEnded,
    DomainRecord,
    HelpedAgent,
    LearnedPattern,
    LearningRules,
    Rules,
    Soul,
    SoulStore,
    TaskCompleted,
    TaskFailed,
)
from swarm.actions import DIRECTIONS, ActionKind, step_towards
from swarm.agents import SwarmAgent
from swarm.emergence import field_entropy, spatial_entropy
from swarm.observation import (
    Decision,
    NearbyAgent,
    Observations,
    build_observations,
    build_observations_naive,
)
from swarm.policies import Policy, bind, make_policy
from swarm.tasks import Task, TaskBoard, TaskMix, TaskState
from swarm.traces import DEFAULT_CHANNELS, ChannelSpec, TraceGrid
from swarm.voting import RULES as VOTING_RULES
from swarm.voting import collective_decision

DEFAULT_DOMAINS: tuple[str, ...] = (
    "technical",
    "research",
    "philosophy",
    "writing",
    "operations",
    "design",
)
_DIR_LIST = list(DIRECTIONS.values())

#: Model reporters (name -> attribute or function of the model).
MODEL_REPORTERS: dict[str, str | Callable[[Any], Any]] = {
    "completed": "completed",
    "failed": "failed",
    "throughput": "throughput",
    "mean_throughput": "mean_throughput",
    "conflicts": "conflicts",
    "conflict_rate": "conflict_rate",
    "handoffs": "handoffs",
    "handoff_success_rate": "handoff_success_rate",
    "mean_xp": "mean_xp",
    "open_tasks": "open_tasks",
    "mean_quality": "mean_quality",
    "completion_rate": "completion_rate",
    "decisions": "decisions",
    "decision_quality": "decision_quality",
    "novel_solution_rate": "novel_solution_rate",
    "position_entropy": "position_entropy",
    "illegal_actions": "illegal_actions",
}
#: Columns of the DataCollector tables: one row per synthesis decision, and one per unit
#: of work done (a coordination task, a handoff stage, a synthesis slot).
TABLES: dict[str, list[str]] = {
    "decisions": [
        "step",
        "task_id",
        "rule",
        "agents",
        "domains",
        "proposals",
        "weights",
        "winner",
        "best",
        "novel",
        "quality",
        "best_member_quality",
        "mean_member_quality",
    ],
    "work": ["step", "agent_id", "domain", "task_type", "quality"],
}
#: The headline metrics a run's summary table shows.
SUMMARY_METRICS: tuple[str, ...] = (
    "completed",
    "failed",
    "conflicts",
    "conflict_rate",
    "handoffs",
    "handoff_success_rate",
    "mean_xp",
    "open_tasks",
)
AGENT_REPORTERS = {
    "xp": "xp",
    "level": "level",
    "main_domain": "main_domain",
    "tasks_done": "tasks_done",
    "busy": "busy",
}


class SwarmDataCollector(mesa.DataCollector):
    """Mesa's DataCollector, recording agent rows only every ``agent_every`` steps
    (0: never). Per-agent reporters dominate a step at 10,000 agents."""

    def __init__(self, *args, agent_every: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.agent_every = agent_every

    def collect(self, model) -> None:
        due = self.agent_every and model.steps % self.agent_every == 0
        if due:
            super().collect(model)
            return
        reporters, self.agent_reporters = self.agent_reporters, {}
        try:
            super().collect(model)
        finally:
            self.agent_reporters = reporters


class SwarmModel(mesa.Model):
    """A swarm of agents with souls, coordinating on tasks through traces.

    Args:
        n_agents: number of agents.
        width, height: grid size; torus: whether the grid wraps.
        policy: a policy name (``heuristic``, ``no-traces``, ``random``, …) or object.
        task_rate: expected task arrivals per step (default ``0.04 * n_agents``).
        domains: the skill domains (default six).
        channels: trace channel settings, ``{name: ChannelSpec | dict}``; the model needs
            ``claim``, ``help``, ``success`` and ``explored``.
        view_radius: how far (Chebyshev) agents see tasks and other agents.
        steps_per_day: souls end a day every this many steps.
        souls: a :class:`soul.SoulStore` directory to load souls from and save them to.
        learn: souls learn (False: the "souls that do not learn" ablation).
        voting: how a synthesis group picks its approach (:data:`swarm.voting.RULES`:
            ``plurality``, ``weighted``, ``log_odds``, ``borda``, or ``dictator`` for no
            vote).
        trace_decay, trace_diffusion: override every channel's decay / diffusion.
        stigmergy: False drops every deposit, so traces stay empty whatever the policy
            (the "no traces" ablation for any policy).
        alone: keep only agent number ``alone`` of the ``n_agents`` drawn (the same agent
            as in the full swarm, working alone; the "agents alone" baseline).
        observe: ``"arrays"`` (fast) or ``"cells"`` (per-cell Mesa reads; a baseline).
        agent_report_every: record agent reporters every this many steps (0: never).
        seed, rng: as in ``mesa.Model``.
    """

    def __init__(
        self,
        *,
        n_agents: int = 20,
        width: int = 30,
        height: int = 30,
        torus: bool = True,
        policy: str | Policy = "heuristic",
        task_rate: float | None = None,
        domains: Sequence[str] = DEFAULT_DOMAINS,
        channels: Mapping[str, ChannelSpec | Mapping[str, Any]] | None = None,
        view_radius: int = 2,
        steps_per_day: int = 50,
        souls: str | Path | None = None,
        learn: bool = True,
        hotspots: int = 4,
        voting: str = "weighted",
        trace_decay: float | None = None,
        trace_diffusion: float | None = None,
        stigmergy: bool = True,
        alone: int | None = None,
        observe: Literal["arrays", "cells"] = "arrays",
        agent_report_every: int = 1,
        seed: int | None = None,
        rng: Any = None,
    ) -> None:
        super().__init__(seed=seed, rng=rng)
        if n_agents < 1:
            raise ValueError(f"n_agents must be >= 1, got {n_agents}")
        if view_radius < 1:
            raise ValueError(f"view_radius must be >= 1, got {view_radius}")
        if steps_per_day < 1:
            raise ValueError(f"steps_per_day must be >= 1, got {steps_per_day}")
        if voting not in VOTING_RULES:
            raise ValueError(f"voting must be one of {', '.join(VOTING_RULES)}, got {voting!r}")
        if alone is not None and not 0 <= alone < n_agents:
            raise ValueError(f"alone must be in [0, n_agents), got {alone}")
        if observe not in ("arrays", "cells"):
            raise ValueError(f"observe must be 'arrays' or 'cells', got {observe!r}")
        self.width, self.height, self.torus = int(width), int(height), bool(torus)
        self.domains = tuple(domains)
        if len(set(self.domains)) != len(self.domains) or len(self.domains) < 3:
            raise ValueError("domains must be at least 3 distinct names")
        self.domain_index = {d: k for k, d in enumerate(self.domains)}
        self.view_radius = int(view_radius)
        self.steps_per_day = int(steps_per_day)
        self.voting = voting
        self.observe_mode = observe
        self.rules = Rules() if learn else Rules(learning=LearningRules(skill_step=0.0))

        self.grid = OrthogonalMooreGrid(
            (self.width, self.height), torus=self.torus, random=self.random
        )
        self._cells = self.grid._cells  # coordinate -> cell, for the hot move path
        channels = _override_channels(channels, trace_decay, trace_diffusion)
        self.traces = TraceGrid.on_grid(self.grid, channels)
        missing = {"claim", "help", "success", "explored"} - set(self.traces.channels)
        if missing:
            raise ValueError(f"channels must include {sorted(missing)}")
        self.traces.muted = not stigmergy
        self.channel_names = tuple(self.traces.channels)
        task_layer = self.grid.create_property_layer("task", default_value=-1, dtype=int)
        rate = 0.04 * n_agents if task_rate is None else float(task_rate)
        if rate < 0:
            raise ValueError(f"task_rate must be >= 0, got {rate}")
        self.board = TaskBoard(
            self.width,
            self.height,
            self.domains,
            TaskMix(rate=rate, hotspots=hotspots),
            self.rng,
            torus=self.torus,
        )
        self.board.task_at = task_layer.data  # the task index is a Mesa property layer

        self.store = SoulStore(souls) if souls is not None else None
        self._place_agents(n_agents, alone)

        self.policy = make_policy(policy)
        bind(self.policy, self)
        self.on_decisions: list[Callable[[SwarmModel, Observations, list[Decision]], None]] = []

        # Counters behind the reporters.
        self.completed = self.failed = self.conflicts = self.claims = 0
        self.handoffs = self.handoffs_taken = self.illegal_actions = 0
        self.throughput = 0
        self.quality_sum = 0.0
        self.completed_by_type = dict.fromkeys(("coordination", "handoff", "synthesis"), 0)
        self.outcomes: dict[int, str] = {}  # task id -> "done" | "failed"
        self.conflicted: set[int] = set()  # agent indices whose action this step conflicted
        self.decisions = self.novel_decisions = 0
        self.decision_quality_sum = 0.0
        reporters = dict(MODEL_REPORTERS)
        for name in self.channel_names:
            reporters[f"trace_entropy_{name}"] = _trace_entropy_reporter(name)
        self.datacollector = SwarmDataCollector(
            model_reporters=reporters,
            agent_reporters=AGENT_REPORTERS,
            tables={k: list(v) for k, v in TABLES.items()},
            agent_every=agent_report_every,
        )
        self.datacollector.collect(self)

    # Set-up -------------------------------------------------------------------------------

    def _place_agents(self, n: int, alone: int | None = None) -> None:
        rng = self.rng
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
                soul.domains[self.domains[home[i]]] = DomainRecord(skill=float(home_skill[i]))
                if has_second[i]:
                    soul.domains[self.domains[second[i]]] = DomainRecord(
                        skill=float(second_skill[i])
                    )
            agent = SwarmAgent(self, soul, row)
            agent.cell = self.grid[(int(xs[row]), int(ys[row]))]
            self.swarm.append(agent)
        self.ax = xs.astype(np.int64)
        self.ay = ys.astype(np.int64)
        self.agent_ids = np.array([a.unique_id for a in self.swarm], dtype=np.int64)
        self.index_of = {int(a.unique_id): a.index for a in self.swarm}
        n = len(keep)
        self.holding = np.full(n, -1, dtype=np.int64)
        self.skills = np.zeros((n, len(self.domains)))
        self.level_names = [""] * n
        for i in range(n):
            self._refresh(i)

    def _refresh(self, i: int) -> None:
        soul = self.swarm[i].soul
        self.skills[i] = [soul.skill(d, self.rules) for d in self.domains]
        self.level_names[i] = soul.level.value

    # Queries ------------------------------------------------------------------------------

    def cell_at(self, x: int, y: int):
        """The Mesa cell at (x, y), wrapping on a torus; None off a bounded grid."""
        if self.torus:
            return self.grid[(x % self.width, y % self.height)]
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.grid[(x, y)]
        return None

    def nearby_agents(self, i: int) -> tuple[NearbyAgent, ...]:
        """Other agents within the view radius of agent ``i`` (sorted by id)."""
        me = self.swarm[i]
        x, y = int(self.ax[i]), int(self.ay[i])
        out = []
        for cell in me.cell.get_neighborhood(radius=self.view_radius, include_center=True):
            for other in cell.agents:
                if other is me:
                    continue
                j = other.index
                dx, dy = int(self.ax[j]) - x, int(self.ay[j]) - y
                if self.torus:
                    dx = (dx + self.width // 2) % self.width - self.width // 2
                    dy = (dy + self.height // 2) % self.height - self.height // 2
                out.append(
                    NearbyAgent(
                        int(other.unique_id), dx, dy, self.holding[j] < 0, other.soul.main_domain
                    )
                )
        out.sort(key=lambda a: a.id)
        return tuple(out)

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / self.claims if self.claims else 0.0

    @property
    def handoff_success_rate(self) -> float:
        return self.handoffs_taken / self.handoffs if self.handoffs else float("nan")

    @property
    def mean_xp(self) -> float:
        return float(np.mean([a.soul.xp for a in self.swarm]))

    @property
    def open_tasks(self) -> int:
        return len(self.board)

    @property
    def mean_quality(self) -> float:
        return self.quality_sum / self.completed if self.completed else float("nan")

    @property
    def mean_throughput(self) -> float:
        """Tasks completed per step so far."""
        return self.completed / self.steps if self.steps else 0.0

    @property
    def completion_rate(self) -> float:
        done = self.completed + self.failed
        return self.completed / done if done else float("nan")

    @property
    def decision_quality(self) -> float:
        return self.decision_quality_sum / self.decisions if self.decisions else float("nan")

    @property
    def novel_solution_rate(self) -> float:
        return self.novel_decisions / self.decisions if self.decisions else float("nan")

    @property
    def position_entropy(self) -> float:
        return spatial_entropy(self.ax, self.ay, self.width, self.height)

    def draw_quality(self, skill: float) -> float:
        """Quality of a piece of work by an agent of ``skill`` (noisy, in [0, 1])."""
        return float(np.clip(0.35 + 0.6 * skill + self.rng.normal(0.0, 0.08), 0.0, 1.0))

    # The step -----------------------------------------------------------------------------

    def observe(self) -> Observations:
        """Observations of every agent (step 1)."""
        if self.observe_mode == "cells":
            return build_observations_naive(self)
        return build_observations(self)

    def step(self) -> None:
        """observe → decide → act → world → collect."""
        obs = self.observe()
        decisions = self.policy.decide(obs)
        if len(decisions) != len(obs):
            raise RuntimeError(
                f"policy {self.policy!r} returned {len(decisions)} decisions "
                f"for {len(obs)} observations"
            )
        for hook in self.on_decisions:
            hook(self, obs, decisions)
        self.throughput = 0
        self.conflicted = set()
        self._act(obs, decisions)
        self._world()
        self.datacollector.collect(self)

    # Act ----------------------------------------------------------------------------------

    def _act(self, obs: Observations, decisions: list[Decision]) -> None:
        order = list(range(len(self.swarm)))
        self.random.shuffle(order)
        moved: list[int] = []
        received: set[int] = set()
        for i in order:
            action = decisions[i].action
            if i in received:
                continue  # took a task handed over this step; its own plan is stale
            if action not in obs[i].candidates:
                self.illegal_actions += 1
                continue
            kind = action.kind
            if kind is ActionKind.MOVE:
                self._move(i, DIRECTIONS[action.direction])
                moved.append(i)
            elif kind is ActionKind.APPROACH:
                view = next(t for t in obs[i].tasks if t.id == action.task)
                self._move(i, step_towards(view.dx, view.dy))
                moved.append(i)
            elif kind is ActionKind.EXPLORE:
                if self.torus:
                    self._move(i, _DIR_LIST[self.random.randrange(8)])
                    moved.append(i)
                    continue
                legal = [m for m in obs[i].candidates if m.kind is ActionKind.MOVE]
                if legal:
                    self._move(i, DIRECTIONS[legal[self.random.randrange(len(legal))].direction])
                    moved.append(i)
            elif kind is ActionKind.CLAIM:
                self._claim(i, self.board.get(action.task))
            elif kind is ActionKind.JOIN:
                self._join(i, self.board.get(action.task))
            else:
                task = self.board.get(action.task)
                if task is None or self.holding[i] != action.task:
                    continue  # finished by a fellow member earlier this step
                if kind is ActionKind.WORK:
                    self._work(i, task)
                elif kind is ActionKind.RELEASE:
                    self._release(i, task)
                elif kind is ActionKind.HANDOFF:
                    j = self.index_of[action.agent]
                    if self._handoff(i, task, j):
                        received.add(j)
                elif kind is ActionKind.HELP:
                    self.traces.deposit("help", task.pos, task.priority)
        if moved:
            idx = np.array(moved)
            self.traces.deposit_many("explored", self.ax[idx], self.ay[idx], 1.0)

    def _move(self, i: int, d: tuple[int, int]) -> None:
        x, y = int(self.ax[i]) + d[0], int(self.ay[i]) + d[1]
        if self.torus:
            x, y = x % self.width, y % self.height
        self.ax[i], self.ay[i] = x, y
        self.swarm[i].cell = self._cells[(x, y)]

    def _take(self, i: int, task: Task) -> None:
        self.holding[i] = task.id
        self.swarm[i].task = task.id

    def _drop(self, i: int) -> None:
        self.holding[i] = -1
        self.swarm[i].task = None

    def _claim(self, i: int, task: Task | None) -> None:
        self.claims += 1
        if task is None or task.holder is not None:
            self._conflict(i)
            return
        task.holder = self.swarm[i].unique_id
        task.state = TaskState.HELD
        self._take(i, task)
        if task.awaiting_handoff:  # a released stage taken up by someone else
            task.awaiting_handoff = False
            if task.last_holder is not None and task.last_holder != task.holder:
                self.handoffs_taken += 1
                self._soul(i, HelpedAgent(agent_id=task.last_holder))

    def _join(self, i: int, task: Task | None) -> None:
        self.claims += 1
        if task is None or not task.open_slots:
            self._conflict(i)
            return
        skills = self.skills[i]
        slot = max(task.open_slots, key=lambda d: (skills[self.domain_index[d]], d))
        task.members[slot] = int(self.swarm[i].unique_id)
        self._take(i, task)
        if not task.open_slots:
            task.state = TaskState.HELD

    def _conflict(self, i: int) -> None:
        self.conflicts += 1
        self.conflicted.add(i)
        self._soul(i, LearnedPattern(pattern="claiming a contested task", avoid=True))

    def _work(self, i: int, task: Task) -> None:
        if task.task_type == "synthesis":
            members = [self.index_of[a] for a in task.members.values()]
            speed = 0.5 + self.skills[i, self.domain_index[self._slot_of(task, i)]]
            task.progress += speed / len(task.domains)
            if task.progress >= task.work:
                q = self._synthesise(task, members)
                for d, j in zip(task.members, members, strict=True):
                    self._stage_done(j, task, d, q)
                self._finish(task, members, q)
            return
        task.awaiting_handoff = False
        task.progress += 0.5 + self.skills[i, self.domain_index[task.domain]]
        if task.progress < task.work:
            return
        q = self.draw_quality(self.skills[i, self.domain_index[task.domain]])
        task.qualities.append(q)
        self._stage_done(i, task, task.domain, q)
        if task.task_type == "handoff" and task.stage + 1 < len(task.domains):
            task.stage += 1
            task.progress = 0.0
            task.awaiting_handoff = True
            task.last_holder = int(self.swarm[i].unique_id)
        else:
            self._finish(task, [i], task.quality)

    def _synthesise(self, task: Task, members: Sequence[int]) -> float:
        """The synthesis protocol: members propose, the group votes component by component
        (see :mod:`swarm.voting`); the decision is recorded and its quality returned."""
        slots = list(task.members)
        skills = [self.skills[j, self.domain_index[d]] for d, j in zip(slots, members, strict=True)]
        expertise = [
            self.swarm[j].soul.expertise(d, self.rules) for d, j in zip(slots, members, strict=True)
        ]
        options = self.board.mix.approach_options
        dec = collective_decision(task.approach, skills, expertise, self.voting, options, self.rng)
        self.decisions += 1
        self.novel_decisions += dec.novel
        self.decision_quality_sum += dec.quality
        self.datacollector.add_table_row(
            "decisions",
            {
                "step": self.steps,
                "task_id": task.id,
                "rule": self.voting,
                "agents": [int(self.swarm[j].unique_id) for j in members],
                "domains": slots,
                "proposals": ["".join(map(str, p)) for p in dec.proposals],
                "weights": [float(w) for w in dec.weights],
                "winner": "".join(map(str, dec.winner)),
                "best": "".join(map(str, task.approach)),
                "novel": dec.novel,
                "quality": dec.quality,
                "best_member_quality": float(dec.member_qualities.max()),
                "mean_member_quality": float(dec.member_qualities.mean()),
            },
        )
        return dec.quality

    def _slot_of(self, task: Task, i: int) -> str:
        uid = int(self.swarm[i].unique_id)
        return next(d for d, a in task.members.items() if a == uid)

    def _stage_done(self, i: int, task: Task, domain: str, quality: float) -> None:
        self.swarm[i].tasks_done += 1
        self.datacollector.add_table_row(
            "work",
            {
                "step": self.steps,
                "agent_id": int(self.swarm[i].unique_id),
                "domain": domain,
                "task_type": task.task_type,
                "quality": quality,
            },
        )
        self._soul(
            i,
            TaskCompleted(
                domain=domain, task_type=task.task_type, difficulty=task.difficulty, quality=quality
            ),
        )

    def _finish(self, task: Task, members: Sequence[int], quality: float) -> None:
        task.state = TaskState.DONE
        self.outcomes[task.id] = "done"
        self.completed += 1
        self.throughput += 1
        self.quality_sum += quality
        self.completed_by_type[task.task_type] += 1
        self.traces.deposit("success", task.pos, 1.0 + task.difficulty)
        for j in members:
            self._drop(j)
        self.board.remove(task)

    def _release(self, i: int, task: Task) -> None:
        if task.task_type == "synthesis":
            del task.members[self._slot_of(task, i)]
            task.state = TaskState.OPEN
            task.progress = 0.0
        else:
            task.holder = None
            task.state = TaskState.OPEN
            if task.awaiting_handoff:  # passed on through the pool
                self.handoffs += 1
                self.traces.deposit("help", task.pos, task.priority)
        self._drop(i)

    def _handoff(self, i: int, task: Task, j: int) -> bool:
        self.handoffs += 1
        giver = int(self.swarm[i].unique_id)
        self._drop(i)
        if self.holding[j] >= 0:  # the receiver took something else this step
            self.conflicts += 1
            self.conflicted.add(i)
            task.holder = None
            task.state = TaskState.OPEN
            self.traces.deposit("help", task.pos, task.priority)
            return False
        task.holder = int(self.swarm[j].unique_id)
        task.awaiting_handoff = False
        self._take(j, task)
        self.handoffs_taken += 1
        self._soul(j, HelpedAgent(agent_id=giver))
        self._soul(i, LearnedPattern(pattern="hand off stages outside my domains"))
        return True

    # World --------------------------------------------------------------------------------

    def _world(self) -> None:
        held = [t for t in self.board.tasks.values() if t.state is TaskState.HELD]
        if held:
            self.traces.deposit_many("claim", [t.x for t in held], [t.y for t in held], 1.0)
        self.traces.step()
        now = self.steps
        for task in self.board.expired(now):
            self._expire(task)
        self.board.arrive(now)
        if now % self.steps_per_day == 0:
            day = now // self.steps_per_day - 1
            for i in range(len(self.swarm)):
                self._soul(i, DayEnded(day=day))

    def _expire(self, task: Task) -> None:
        task.state = TaskState.FAILED
        self.outcomes[task.id] = "failed"
        self.failed += 1
        uids = (
            list(task.members.values())
            if task.task_type == "synthesis"
            else ([task.holder] if task.holder is not None else [])
        )
        for uid in uids:
            j = self.index_of[uid]
            self._soul(
                j,
                TaskFailed(
                    domain=task.domain, task_type=task.task_type, reason="missed the deadline"
                ),
            )
            self._drop(j)
        self.board.remove(task)

    def _soul(self, i: int, event) -> None:
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


def _override_channels(
    channels: Mapping[str, ChannelSpec | Mapping[str, Any]] | None,
    decay: float | None,
    diffusion: float | None,
) -> Mapping[str, ChannelSpec | Mapping[str, Any]] | None:
    """Channel settings with every channel's decay and/or diffusion replaced."""
    if decay is None and diffusion is None:
        return channels
    update = {k: v for k, v in (("decay", decay), ("diffusion", diffusion)) if v is not None}
    specs = DEFAULT_CHANNELS if channels is None else channels
    return {
        name: ChannelSpec.model_validate(
            (spec.model_dump() if isinstance(spec, ChannelSpec) else dict(spec)) | update
        )
        for name, spec in specs.items()
    }


def _trace_entropy_reporter(channel: str) -> Callable[[SwarmModel], float]:
    def report(model: SwarmModel) -> float:
        return field_entropy(model.traces.values(channel))

    report.__name__ = f"trace_entropy_{channel}"
    return report
