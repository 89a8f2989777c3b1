"""The task world: tasks that arrive in spatial hotspots, and a spatial index of them.

Three task types (the spec's ``task_type``):

* ``coordination``: one domain, one agent's work; the problem is allocation without two
  agents taking the same task (a *conflict*).
* ``handoff``: a sequence of stages in different domains; the agent that finishes a stage
  hands the task on (or releases it for someone to claim). Handoff success = the next
  stage is taken up before the deadline.
* ``synthesis``: several slots in different domains that must be filled at once; when the
  quorum is full the members work together, then choose an approach collectively.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np


class TaskType(StrEnum):
    """The three kinds of task, and the rules that set them apart (one place for each):

    * ``group``: taken by several agents at once, one per open slot (``join``), worked on
      together and released one member at a time; otherwise one holder (``claim``).
    * ``staged``: finished stage by stage, each stage passed on (handed off or released
      for another agent to claim).
    """

    COORDINATION = "coordination"
    HANDOFF = "handoff"
    SYNTHESIS = "synthesis"

    @property
    def group(self) -> bool:
        return self is TaskType.SYNTHESIS

    @property
    def staged(self) -> bool:
        return self is TaskType.HANDOFF

    def stages(self, domains: tuple[str, ...]) -> int:
        """Stages of a task needing ``domains``: one per domain when staged, else one."""
        return len(domains) if self.staged else 1

    def places(self, open_slots: tuple[str, ...]) -> int:
        """How many agents can take the task now: a group task's open slots, else one."""
        return len(open_slots) if self.group else 1

    def open_to_take(self, holder: int | None, open_slots: tuple[str, ...], free: bool) -> bool:
        """Nobody holds it, it is free (open, or a finished stage awaiting its next agent),
        and a group task has a slot left."""
        return free and holder is None and (not self.group or bool(open_slots))


TASK_TYPES: tuple[str, ...] = tuple(TaskType)


_TYPES = tuple(TaskType(t) for t in TASK_TYPES)


class TaskState(StrEnum):
    OPEN = "open"  # waiting for an agent (or, for synthesis, for its slots)
    HELD = "held"  # an agent is working on it
    DONE = "done"
    FAILED = "failed"


@dataclass(slots=True)
class Task:
    """One task. ``domains`` are the stages (handoff), the slots (synthesis), or the one
    domain (coordination)."""

    id: int
    task_type: TaskType
    x: int
    y: int
    domains: tuple[str, ...]
    difficulty: float
    work: float  # work units per stage (an agent does 0.5 + skill units per step)
    created: int
    deadline: int
    state: TaskState = TaskState.OPEN
    stage: int = 0
    progress: float = 0.0
    holder: int | None = None
    members: dict[str, int] = field(default_factory=dict)  # synthesis: slot domain -> agent
    qualities: list[float] = field(default_factory=list)
    last_holder: int | None = None  # who finished the previous stage (handoff credit)
    awaiting_handoff: bool = False  # a stage finished; the next one is not yet taken up
    approach: np.ndarray | None = None  # synthesis: the hidden best approach

    @property
    def pos(self) -> tuple[int, int]:
        return (self.x, self.y)

    @property
    def domain(self) -> str:
        """The domain needed now (the current stage's)."""
        return self.domains[min(self.stage, len(self.domains) - 1)]

    @property
    def open_slots(self) -> tuple[str, ...]:
        return tuple(d for d in self.domains if d not in self.members)

    @property
    def priority(self) -> float:
        """Signal strength for help: harder tasks call louder."""
        return 0.5 + self.difficulty

    @property
    def quality(self) -> float:
        return float(np.mean(self.qualities)) if self.qualities else 0.0

    @property
    def holders(self) -> list[int]:
        """The agent ids working on it: a group task's members, else its holder."""
        if self.task_type.group:
            return list(self.members.values())
        return [self.holder] if self.holder is not None else []


@dataclass(frozen=True)
class TaskMix:
    """How tasks are drawn."""

    rate: float  # expected arrivals per step (Poisson)
    type_weights: tuple[float, float, float] = (0.6, 0.25, 0.15)
    hotspots: int = 4
    spread: float = 2.5  # std. dev. of positions around a hotspot, in cells
    handoff_stages: tuple[int, int] = (2, 3)
    synthesis_slots: tuple[int, int] = (2, 3)
    base_work: float = 2.0
    work_per_difficulty: float = 6.0
    patience: int = 40  # steps to the deadline, per stage
    approach_components: int = 5
    approach_options: int = 3


class TaskBoard:
    """All live tasks plus ``task_at``, a ``(width, height)`` array of task ids (-1: none),
    and ``shown``, the same as a byte per cell (1: a task shows there; small enough to
    stay in cache when every agent looks around it).

    Arrivals are Poisson with rate ``mix.rate`` per step, placed around fixed hotspots
    (drawn once from ``rng``, the world's stream), so finding work pays off for those who
    know where others found it. The draws never depend on the state of the board: the same
    stream gives the same tasks (ids included) whatever the agents do. A task that arrives
    on a cell that already has one waits under it, unseen (its deadline running), and
    shows in ``task_at`` when the cells' earlier tasks are gone.
    """

    def __init__(
        self,
        width: int,
        height: int,
        domains: tuple[str, ...],
        mix: TaskMix,
        rng: np.random.Generator,
        *,
        torus: bool = True,
    ) -> None:
        self.width, self.height, self.torus = width, height, torus
        self.domains = domains
        self.mix = mix
        self.rng = rng
        self.tasks: dict[int, Task] = {}
        self.task_at = np.full((width, height), -1, dtype=np.int64)
        self.shown = np.zeros((width, height), dtype=np.uint8)
        self._next_id = 0
        # unseen tasks under a cell's task, by cell, in order of arrival (id -> task)
        self._waiting: dict[tuple[int, int], dict[int, Task]] = {}
        self._deadlines: list[tuple[int, int]] = []  # a heap of (deadline, id), live or not
        self.hotspots = np.column_stack(
            [rng.integers(0, width, mix.hotspots), rng.integers(0, height, mix.hotspots)]
        )

    def __len__(self) -> int:
        return len(self.tasks)

    def get(self, task_id: int) -> Task | None:
        return self.tasks.get(task_id)

    def arrive(self, now: int) -> list[Task]:
        """Draw this step's arrivals."""
        mix, rng = self.mix, self.rng
        n = int(rng.poisson(mix.rate))
        if n == 0:
            return []
        centres = self.hotspots[rng.integers(0, len(self.hotspots), n)]
        offsets = np.rint(rng.normal(0.0, mix.spread, (n, 2))).astype(np.int64)
        pos = centres + offsets
        if self.torus:
            pos[:, 0] %= self.width
            pos[:, 1] %= self.height
        else:
            pos[:, 0] = np.clip(pos[:, 0], 0, self.width - 1)
            pos[:, 1] = np.clip(pos[:, 1], 0, self.height - 1)
        types = rng.choice(
            len(TASK_TYPES), size=n, p=np.asarray(mix.type_weights) / sum(mix.type_weights)
        )
        difficulty = rng.uniform(0.1, 1.0, n)
        # every task's draws at once (one draw per quantity per step, not per task)
        stage_counts = rng.integers(mix.handoff_stages[0], mix.handoff_stages[1] + 1, n)
        slot_counts = rng.integers(mix.synthesis_slots[0], mix.synthesis_slots[1] + 1, n)
        domain_order = np.argsort(rng.random((n, len(self.domains))), axis=1)  # a shuffle each
        approaches = rng.integers(0, mix.approach_options, (n, mix.approach_components))
        born = []
        order = domain_order.tolist()
        cols = zip(
            pos[:, 0].tolist(),
            pos[:, 1].tolist(),
            types.tolist(),
            difficulty.tolist(),
            stage_counts.tolist(),
            slot_counts.tolist(),
            strict=True,
        )
        for i, (x, y, kind, d, stages_k, slots_k) in enumerate(cols):
            task_type = _TYPES[kind]
            if task_type.staged:
                k = stages_k
            elif task_type.group:
                k = slots_k
            else:
                k = 1
            doms = tuple(self.domains[j] for j in order[i][:k])
            approach = approaches[i].copy() if task_type.group else None
            stages = task_type.stages(doms)
            task = Task(
                id=self._next_id,
                task_type=task_type,
                x=x,
                y=y,
                domains=doms,
                difficulty=d,
                work=mix.base_work + mix.work_per_difficulty * d,
                created=now,
                deadline=now + mix.patience * stages,
                approach=approach,
            )
            self._next_id += 1
            self.tasks[task.id] = task
            heapq.heappush(self._deadlines, (task.deadline, task.id))
            if self.task_at[x, y] >= 0:
                self._waiting.setdefault((x, y), {})[task.id] = task
            else:
                self.task_at[x, y] = task.id
                self.shown[x, y] = 1
            born.append(task)
        return born

    def waiting(self) -> int:
        """How many tasks wait unseen under another task."""
        return sum(len(q) for q in self._waiting.values())

    def remove(self, task: Task) -> None:
        """Take a finished or failed task off the board (the next one waiting on its cell,
        if any, shows)."""
        del self.tasks[task.id]
        cell = (task.x, task.y)
        queue = self._waiting.get(cell)
        if self.task_at[cell] == task.id:
            self.task_at[cell] = queue.pop(next(iter(queue))).id if queue else -1
            self.shown[cell] = self.task_at[cell] >= 0
        elif queue:
            queue.pop(task.id, None)
        if queue is not None and not queue:
            del self._waiting[cell]

    def expired(self, now: int) -> list[Task]:
        """The live tasks whose deadline is ``now`` or earlier, by id."""
        heap, out = self._deadlines, []
        while heap and heap[0][0] <= now:
            task = self.tasks.get(heapq.heappop(heap)[1])
            if task is not None:
                out.append(task)
        out.sort(key=lambda t: t.id)
        return out
