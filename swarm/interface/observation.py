"""What an agent sees (:class:`Observation`) and what a policy returns (:class:`Decision`).

Plain value types: this module imports nothing of the model (only the world's action and
task vocabularies), so policies, the text format, the curation and the evaluation can use
them without a simulation. The model builds them in :mod:`swarm.observe`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from swarm.world.actions import DIRECTIONS, MOVES, Action, ActionKind
from swarm.world.tasks import TaskType

#: Neighbour offsets in DIRECTION_NAMES order, then the centre: row k of a trace reading.
OFFSETS: tuple[tuple[int, int], ...] = (*DIRECTIONS.values(), (0, 0))
#: The pull of a neighbouring cell on an agent with nothing to do, per trace channel: help
#: and success draw it, claims and recent searches push it off (the expert's rule 6, whose
#: default weights these are: :class:`swarm.policies.heuristic.ExpertWeights`). The cell
#: that pulls most leads, where its pull beats :data:`PULL_MIN`
#: (:meth:`Observation.trace_lead`).
PULL: tuple[tuple[str, float], ...] = (
    ("help", 1.0),
    ("success", 0.5),
    ("explored", -0.8),
    ("claim", -1.0),
)
PULL_MIN = 0.05
_K1, _K2, _K3 = 2654435761, 40503, 2246822519
_MASK = (1 << 32) - 1


def tie_noise(agent_id: int, step: int, k: int) -> float:
    """A deterministic pseudo-random number in [0, 1e-6) that breaks ties between
    neighbours, the same in numpy and Python (and in the compiled kernel)."""
    return ((agent_id * _K1 + step * _K2 + k * _K3) & _MASK) / 2**32 * 1e-6


#: The actions that take a task: a claim, or a join of a synthesis.
TAKE_KINDS = (ActionKind.CLAIM, ActionKind.JOIN)
#: The behaviours a soul's ``avoidPatterns`` can name, and what each means. The expert
#: (:mod:`swarm.policies.heuristic`) avoids them; the prompt shows them. Other patterns
#: are kept as a record and change nothing.
AVOIDABLE: dict[str, str] = {
    "rushed decisions": "taking a task with too little time left to finish it at one's skill",
    "crowding": "going for a task that idle agents nearer to it will take",
}


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as one agent sees it (positions relative to the agent)."""

    id: int
    task_type: TaskType
    dx: int
    dy: int
    domain: str  # the domain needed now
    difficulty: float
    state: str  # "open", "held", "awaiting handoff", or "mine"
    open_slots: tuple[str, ...]
    steps_left: int
    progress: float  # fraction of the current stage done
    stage: int
    stages: int
    holder: int | None
    members: int
    awaiting: bool = False  # a handoff stage is finished and not yet taken up
    work: float = 0.0  # work units per stage (an agent does 0.5 + skill units a step)

    def __post_init__(self) -> None:
        if not isinstance(self.task_type, TaskType):  # e.g. read back from JSON
            object.__setattr__(self, "task_type", TaskType(self.task_type))

    @property
    def distance(self) -> int:
        return max(abs(self.dx), abs(self.dy))

    @property
    def open_to_take(self) -> bool:
        """Nobody holds it and it has room: open, awaiting its next stage, or a synthesis
        with an open slot."""
        free = self.state in ("open", "awaiting handoff")
        return self.task_type.open_to_take(self.holder, self.open_slots, free)

    @property
    def places(self) -> int:
        """How many agents can take it now: a synthesis' open slots, else one."""
        return self.task_type.places(self.open_slots)


@dataclass(frozen=True, slots=True)
class NearbyAgent:
    id: int
    dx: int
    dy: int
    idle: bool
    main_domain: str | None


@dataclass(slots=True)
class Observation:
    """What one agent sees this step, and the legal candidate actions.

    ``traces`` has one row per channel (``channels`` names them) and one column per
    :data:`OFFSETS` entry (the 8 neighbours in compass order, then the agent's cell).
    ``skills`` is aligned with ``domains``.
    """

    agent_id: int
    step: int
    x: int
    y: int
    level: str
    domains: tuple[str, ...]
    skills: np.ndarray
    channels: tuple[str, ...]
    traces: np.ndarray
    candidates: tuple[Action, ...]
    task: TaskView | None = None
    tasks: tuple[TaskView, ...] = ()
    agents: tuple[NearbyAgent, ...] = ()
    index: int = 0  # row in the batch this observation came from
    defer: bool = True  # the world's convention: nearer idle agents take first
    prefers: tuple[str, ...] = ()  # the soul's preferredTaskTypes
    strengths: tuple[str, ...] = ()  # its strengthDomains
    avoids: tuple[str, ...] = ()  # its avoidPatterns (see AVOIDABLE)

    def skill(self, domain: str) -> float:
        return float(self.skills[self.domains.index(domain)])

    def trace(self, channel: str) -> np.ndarray:
        return self.traces[self.channels.index(channel)]

    def trace_lead(self) -> Action | None:
        """The move to the neighbour whose :data:`PULL` is strongest (ties broken by
        :func:`tie_noise`), where that pull beats :data:`PULL_MIN` and the move is a
        candidate; else None. Channels this world has not got count as zero."""
        pull = np.zeros(8)
        for name, weight in PULL:
            if name in self.channels:
                pull = pull + weight * np.asarray(self.trace(name)[:8], dtype=float)
        pull = pull + np.array([tie_noise(self.agent_id, self.step, k) for k in range(8)])
        pull[np.isnan(pull)] = -np.inf
        k = int(np.argmax(pull))
        return MOVES[k] if pull[k] > PULL_MIN and MOVES[k] in self.candidates else None

    def takes(self) -> dict[Action, TaskView]:
        """The claims and joins among the candidates, each with the task it takes."""
        views = {t.id: t for t in self.tasks}
        return {c: views[c.task] for c in self.candidates if c.kind in TAKE_KINDS}

    def place_in_line(self, t: TaskView) -> int:
        """This agent's place (1 = first) among the idle agents in view, by distance to
        ``t``, ties to the lower id: the convention that keeps two agents from taking
        the same task (the first ``t.places`` in line take it). In a world without the
        convention (``defer`` false) every agent is first."""
        if not self.defer:
            return 1
        mine = t.distance
        ahead = 0
        for a in self.agents:
            if a.idle:
                d = _apart(t, a)
                ahead += d < mine or (d == mine and a.id < self.agent_id)
        return ahead + 1

    def skill_for(self, t: TaskView) -> float | None:
        """This agent's skill in what ``t`` needs now: its domain, or for a synthesis the
        best of its open slots (None when it has none)."""
        domains = t.open_slots if t.task_type.group else (t.domain,)
        return max((self.skill(d) for d in domains), default=None)

    def steps_needed(self, t: TaskView) -> int:
        """Steps this agent needs to reach ``t`` and finish its current stage at its skill
        (for a synthesis, its best open slot's)."""
        skill = self.skill_for(t) or 0.0
        return t.distance + math.ceil((1.0 - t.progress) * t.work / (0.5 + skill))

    def avoids_taking(self, t: TaskView) -> bool:
        """Taking (or going for) ``t`` is a behaviour this agent's soul avoids: a
        ``rushed decision`` (fewer steps left than :meth:`steps_needed`) or ``crowding``
        (it is not :meth:`placed` to take it)."""
        if "rushed decisions" in self.avoids and t.steps_left < self.steps_needed(t):
            return True
        return "crowding" in self.avoids and not self.placed(t)

    def placed(self, t: TaskView) -> bool:
        """This agent is placed to take ``t``: its place in line is within its places."""
        return self.place_in_line(t) <= t.places

    def in_contest(self) -> bool:
        """Idle, with a task it could take now (a claim or join among its candidates)
        that another idle agent in view could take now too (is within reach of it)."""
        if self.task is not None:
            return False
        return any(a.idle and _apart(t, a) <= 1 for t in self.takes().values() for a in self.agents)


def _apart(t: TaskView, a: NearbyAgent) -> int:
    """How many moves agent ``a`` is from task ``t`` (both relative to the observer)."""
    return max(abs(t.dx - a.dx), abs(t.dy - a.dy))


@dataclass(frozen=True, slots=True)
class ProposalView:
    """What a member of a synthesis sees when its group chooses the task's approach.

    The approach has ``len(reading)`` components of ``options`` options each. ``reading``
    is this member's own view of each component: the options ranked by how good they
    look to it, best first (a noisy view, right more often the higher its ``skill`` in
    its slot's ``domain``). A policy's proposal is one option per component
    (:meth:`swarm.policies.base.Proposer.propose`).
    """

    agent_id: int
    step: int
    task_id: int
    domain: str
    skill: float
    level: str
    options: int
    reading: tuple[tuple[int, ...], ...]

    @property
    def components(self) -> int:
        return len(self.reading)

    @property
    def first_choices(self) -> tuple[int, ...]:
        """The best-looking option of each component: the proposal its reading makes."""
        return tuple(r[0] for r in self.reading)


@dataclass(slots=True)
class Decision:
    """A policy's choice; ``probs`` (aligned with the candidates) where it has them."""

    action: Action
    probs: tuple[float, ...] | None = None
    info: dict = field(default_factory=dict)


#: The move codes of :class:`Decisions`: 0-7 the moves in compass order, 8 explore.
EXPLORE_CODE = 8


class LazyList(Sequence):
    """A list whose missing items are built the first time they are read, by
    ``self._build(i)``: reading, iterating, slicing, ``len`` and ``list(...)`` behave as
    for a list; ``x[i] = item`` sets one."""

    _items: list

    def _build(self, i: int):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        item = self._items[i]
        if item is None:
            item = self._items[i] = self._build(i % len(self._items))
        return item

    def __setitem__(self, i: int, item) -> None:
        self._items[i] = item

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # mutable, like a list


class Decisions(LazyList):
    """A policy's decisions, read like a list, plus ``codes``: per agent, the move it
    decided as a code (0-7: ``MOVES[code]``, 8: explore), or -1 where the decision is
    something else. The act phase moves the coded agents all at once from ``codes``; a
    coded agent's :class:`Decision` is built only if something reads it."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes
        self._items: list[Decision | None] = [None] * len(codes)

    def _build(self, i: int) -> Decision:
        from swarm.world.actions import EXPLORE, MOVES

        code = int(self.codes[i])
        if code < 0:
            raise RuntimeError(f"decision {i} was never made")
        return Decision(MOVES[code] if code < EXPLORE_CODE else EXPLORE)

    def __repr__(self) -> str:
        return f"Decisions(n={len(self)})"


class Observations(LazyList):
    """The observations of one step, in agent order, plus the arrays they were cut from
    (for array policies).

    Items may be built lazily: ``lazy(i)`` builds observation ``i`` the first time it is
    read (the model builds every observation this way, from a snapshot taken when it
    observed, so a step of an array policy builds only those it reads). For the agents
    holding a task, ``held`` has the task as each sees it and :meth:`candidates_of` their
    candidates without building the rest of their observations.
    """

    def __init__(
        self,
        items: Sequence[Observation] = (),
        *,
        traces: np.ndarray | None = None,
        agent_ids: np.ndarray | None = None,
        step: int = 0,
        simple: np.ndarray | None = None,
        lazy: Callable[[int], Observation] | None = None,
        n: int | None = None,
        skills: np.ndarray | None = None,
        domains: tuple[str, ...] = (),
        channels: tuple[str, ...] = (),
    ) -> None:
        self._items: list[Observation | None] = list(items) if n is None else [None] * n
        self._lazy = lazy
        self.traces = traces  # (n, channels, 9)
        self.agent_ids = agent_ids  # (n,)
        self.step = step
        self.simple = simple  # (n,) bool: idle, nothing in view, shared candidates
        self.skills = skills  # (n, domains), aligned with ``domains``
        self.domains = domains
        self.channels = channels  # the rows of each agent's ``traces``
        self.held: dict[int, TaskView] = {}  # agent row -> the task it holds, as it sees it
        self.cands: dict[int, tuple[Action, ...]] = {}  # agent row -> its candidates

    def _build(self, i: int) -> Observation:
        return self._lazy(i)

    def built(self, i: int) -> bool:
        """Whether observation ``i`` has been built (read)."""
        return self._items[i] is not None

    def candidates_of(self, i: int) -> tuple[Action, ...]:
        """Agent ``i``'s candidate actions (``self[i].candidates``, without building the
        observation where they are known without it)."""
        if self._items[i] is None and i in self.cands:
            return self.cands[i]
        return self[i].candidates

    def append(self, obs: Observation) -> None:
        self._items.append(obs)

    def __repr__(self) -> str:
        return f"Observations(step={self.step}, n={len(self)})"
