"""What a run measures, defined once: the step's events, the counters, each metric, the
DataCollector's reporters and tables, and the frames read back from them.

A step's events are its :class:`StepRecord` (``model.last_record`` after ``model.step()``, handed
to every :func:`swarm.rollout` recorder). The model's :class:`Counts` add them up, the
DataCollector reports from the counts, and the evaluation's per-arm meter adds up the same
events per arm, with the same metric functions, so the two cannot disagree.

The metrics (each a function of counts):

* :func:`completion_rate` = done / (done + failed), over the tasks that ended (NaN if
  none). The evaluation's *task success* is the same ratio over the tasks an arm's agents
  held.
* :func:`conflict_rate` = conflicts / takes. A *take* is a claim, a join or a direct
  handoff that the world processed; a *conflict* is a take that failed because another
  agent got there first (a claimed or full task, or a receiver that took something else
  this step). 0 with no takes.
* :func:`handoff_success_rate` = stages taken up / stages passed on. A stage is *passed on*
  when its agent hands it to another agent or releases it to the pool after finishing it;
  it is *taken up* when another agent receives it or claims it. NaN with none.
* ``throughput``: tasks completed in the step; ``mean_throughput``: per step so far.
* :func:`decision_quality` and :func:`novel_solution_rate`: over the synthesis votes.
* :func:`position_entropy` of the agents and :func:`field_entropy` of a trace channel.

Imports nothing of the model (it reads the model it is given).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mesa
import numpy as np
import pandas as pd

from swarm.interface.observation import Decision, Observations
from swarm.world.tasks import TASK_TYPES

# The metrics ---------------------------------------------------------------------------


def ratio(part: float, whole: float, empty: float = float("nan")) -> float:
    return part / whole if whole else empty


def completion_rate(done: int, failed: int) -> float:
    """Tasks finished among the tasks that ended (finished or failed); NaN if none."""
    return ratio(done, done + failed)


def conflict_rate(conflicts: int, takes: int) -> float:
    """Takes that conflicted among the takes processed; 0 with no takes."""
    return ratio(conflicts, takes, 0.0)


def handoff_success_rate(taken: int, offered: int) -> float:
    """Passed-on stages that another agent took up; NaN with none passed on."""
    return ratio(taken, offered)


def decision_quality(quality_sum: float, decisions: int) -> float:
    """Mean quality (share of components right) of the synthesis decisions."""
    return ratio(quality_sum, decisions)


def novel_solution_rate(novel: int, decisions: int) -> float:
    """Share of synthesis decisions better than the best member's own proposal."""
    return ratio(novel, decisions)


def _normalised_entropy(counts: np.ndarray, states: int) -> float:
    counts = counts[counts > 0]
    total = counts.sum()
    if total <= 0 or states < 2:
        return float("nan")
    p = counts / total
    return float(-(p * np.log2(p)).sum() / np.log2(states))


def position_entropy(xs: Any, ys: Any, width: int, height: int, bins: int = 6) -> float:
    """Entropy of agent positions over a ``bins × bins`` coarse grid, normalised by the
    largest it can be (``log2 min(agents, bins²)``): 1 spread out, towards 0 clustered."""
    xs, ys = np.asarray(xs), np.asarray(ys)
    bx = min(bins, width)
    by = min(bins, height)
    cell = (xs * bx // width) * by + ys * by // height
    counts = np.bincount(cell, minlength=bx * by).astype(float)
    return _normalised_entropy(counts, min(len(xs), bx * by))


def field_mass(values: Any) -> tuple[np.ndarray, int]:
    """The positive values of a field (the cells with mass) and its number of cells."""
    v = np.asarray(values, dtype=float).ravel()
    return v[v > 0], v.size


def field_concentration(values: Any, top: float = 0.05) -> float:
    """Share of a non-negative field's mass in its top ``top`` fraction of cells: about
    ``top`` when uniform, 1 when the mass sits in so few cells; NaN for an empty field."""
    return _concentration(*field_mass(values), top)


def _concentration(mass: np.ndarray, size: int, top: float = 0.05) -> float:
    total = mass.sum()
    if total <= 0:
        return float("nan")
    k = max(1, int(round(top * size)))
    if mass.size <= k:
        return 1.0
    return float(_top_sum(mass, k) / total)


def _top_sum(values: np.ndarray, k: int) -> float:
    """The sum of the ``k`` largest of ``values`` (``0 < k < len(values)``). A large array
    is first cut to the values at or above a bound read off an every-16th sample, so the
    selection sorts out little more than ``k`` values (the same ones: the bound is checked,
    and the whole array is used when it does not hold)."""
    n = values.size
    if n > 65_536:
        sample = values[::16]
        j = max(0, sample.size - 2 * (k // 16) - 64)  # a rank well below the k-th largest
        bound = np.partition(sample, j)[j]
        above = values[values >= bound]
        if above.size >= k:
            values, n = above, above.size
    return float(np.partition(values, n - k)[n - k :].sum())


def field_centre(values: Any, torus: bool) -> tuple[float, float]:
    """Centre of mass ``(x, y)`` of a non-negative ``width × height`` field, in cells; on
    a torus the circular mean along each axis. NaN for an empty field."""
    v = np.clip(np.asarray(values, dtype=float), 0.0, None)
    total = v.sum()
    if total <= 0:
        return float("nan"), float("nan")
    out = []
    for axis, n in ((1, v.shape[0]), (0, v.shape[1])):
        mass = v.sum(axis=axis)  # mass per column (x) or per row (y)
        pos = np.arange(n)
        if torus:
            angle = 2 * np.pi * pos / n
            mean = np.arctan2((mass * np.sin(angle)).sum(), (mass * np.cos(angle)).sum())
            out.append(float((mean % (2 * np.pi)) * n / (2 * np.pi)))
        else:
            out.append(float((mass * pos).sum() / total))
    return out[0], out[1]


def agent_clusters(xs: Any, ys: Any, width: int, height: int, torus: bool) -> int:
    """Groups of agents whose cells touch (Moore neighbourhood, wrapping on a torus): the
    connected components of the occupied cells (a compiled union-find,
    :func:`swarm.world.kernels.touching_groups`). 0 without agents."""
    from swarm.world.kernels import touching_groups  # numba: compiled on first use

    xs, ys = np.asarray(xs, dtype=np.int64), np.asarray(ys, dtype=np.int64)
    if len(xs) == 0:
        return 0
    keys = np.sort(xs * height + ys)
    cells = keys[np.r_[True, keys[1:] != keys[:-1]]]  # distinct, sorted (np.unique is slower)
    return int(touching_groups(cells, int(width), int(height), bool(torus)))


def field_entropy(values: Any) -> float:
    """Entropy of a non-negative field taken as a distribution over its cells, normalised
    by ``log2(cells)``: 1 uniform, towards 0 concentrated; NaN for an empty field."""
    return _entropy(*field_mass(values))


def _entropy(mass: np.ndarray, size: int) -> float:
    total = mass.sum()
    if total <= 0 or size < 2:
        return float("nan")
    # -sum p log2 p with p = m / total, as log2(total) - sum m log2 m / total (not np.dot:
    # a BLAS call on a large field leaves a thread spinning on the second core)
    xlogx = np.log2(mass)
    xlogx *= mass
    h = np.log2(total) - float(xlogx.sum()) / total
    return float(max(h, 0.0) / np.log2(size))


# Events and counts ---------------------------------------------------------------------


@dataclass
class StepRecord:
    """What happened in one step. Agents are named by their index in the model's arrays
    (``model.swarm[i]``); every list may name an agent more than once only where noted."""

    step: int  # the model's step count after this step
    observations: Observations
    decisions: list[Decision]
    illegal: list[int] = field(default_factory=list)  # actions that were not candidates
    takes: list[int] = field(default_factory=list)  # claims, joins, handoffs processed
    conflicts: list[int] = field(default_factory=list)  # takes that conflicted
    passed_on: list[int] = field(default_factory=list)  # givers of stages passed on
    taken_up: list[int] = field(default_factory=list)  # givers whose stage was taken up (a
    # giver may appear twice: a stage handed on directly and one claimed from the pool)
    completed: list[tuple[int, str, float]] = field(default_factory=list)  # id, type, quality
    failed: list[tuple[int, str]] = field(default_factory=list)  # task id, type
    votes: list[tuple[float, bool]] = field(default_factory=list)  # quality, novel

    @property
    def conflicted(self) -> set[int]:
        """Agents whose action conflicted this step."""
        return set(self.conflicts)

    @property
    def ended(self) -> list[tuple[int, str]]:
        """``(task id, "done" | "failed")`` for every task that ended this step."""
        return [(t, "done") for t, _, _ in self.completed] + [(t, "failed") for t, _ in self.failed]


@dataclass
class TaskCounts:
    """The counts behind the coordination metrics, and the metrics: tasks completed and
    failed, takes and the conflicts among them, stages passed on and taken up. A run's
    :class:`Counts` and the evaluation's per-arm statistics are both these."""

    completed: int = 0
    failed: int = 0
    takes: int = 0
    conflicts: int = 0
    handoffs: int = 0  # stages passed on
    handoffs_taken: int = 0  # ... and taken up by another agent

    @property
    def completion_rate(self) -> float:
        return completion_rate(self.completed, self.failed)

    @property
    def conflict_rate(self) -> float:
        return conflict_rate(self.conflicts, self.takes)

    @property
    def handoff_success_rate(self) -> float:
        return handoff_success_rate(self.handoffs_taken, self.handoffs)


@dataclass
class Counts(TaskCounts):
    """A run's counters: the step records added up (:meth:`add`)."""

    illegal_actions: int = 0
    quality_sum: float = 0.0
    decisions: int = 0  # synthesis votes
    novel_decisions: int = 0
    decision_quality_sum: float = 0.0
    throughput: int = 0  # tasks completed in the last step
    steps: int = 0
    completed_by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TASK_TYPES, 0))

    def add(self, r: StepRecord) -> None:
        self.steps = r.step
        self.completed += len(r.completed)
        self.throughput = len(r.completed)
        self.failed += len(r.failed)
        self.takes += len(r.takes)
        self.conflicts += len(r.conflicts)
        self.handoffs += len(r.passed_on)
        self.handoffs_taken += len(r.taken_up)
        self.illegal_actions += len(r.illegal)
        for _, task_type, quality in r.completed:
            self.quality_sum += quality
            self.completed_by_type[task_type] += 1
        for quality, novel in r.votes:
            self.decisions += 1
            self.novel_decisions += novel
            self.decision_quality_sum += quality

    @property
    def mean_quality(self) -> float:
        return ratio(self.quality_sum, self.completed)

    @property
    def mean_throughput(self) -> float:
        return ratio(self.completed, self.steps, 0.0)

    @property
    def decision_quality(self) -> float:
        return decision_quality(self.decision_quality_sum, self.decisions)

    @property
    def novel_solution_rate(self) -> float:
        return novel_solution_rate(self.novel_decisions, self.decisions)


# Reporters -----------------------------------------------------------------------------


def _count(name: str) -> Callable[[Any], Any]:
    def report(model) -> Any:
        return getattr(model.counts, name)

    report.__name__ = name
    return report


#: Model reporters: name -> function of the model. The counters and rates come from
#: ``model.counts``; the rest read the model's state.
MODEL_REPORTERS: dict[str, Callable[[Any], Any]] = {
    "completed": _count("completed"),
    "failed": _count("failed"),
    "throughput": _count("throughput"),
    "mean_throughput": _count("mean_throughput"),
    "conflicts": _count("conflicts"),
    "conflict_rate": _count("conflict_rate"),
    "handoffs": _count("handoffs"),
    "handoff_success_rate": _count("handoff_success_rate"),
    "mean_xp": lambda m: float(np.mean(m.xp)),
    "open_tasks": lambda m: len(m.board),
    "mean_quality": _count("mean_quality"),
    "completion_rate": _count("completion_rate"),
    "decisions": _count("decisions"),
    "decision_quality": _count("decision_quality"),
    "novel_solution_rate": _count("novel_solution_rate"),
    "position_entropy": lambda m: position_entropy(m.ax, m.ay, m.width, m.height),
    "agent_clusters": lambda m: agent_clusters(m.ax, m.ay, m.width, m.height, m.torus),
    "trace_centre_x": lambda m: m.trace_centre()[0],
    "trace_centre_y": lambda m: m.trace_centre()[1],
    "illegal_actions": _count("illegal_actions"),
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


def _work_domains(m) -> np.ndarray:
    out = np.full(len(m.swarm), "", dtype=object)
    for i in np.flatnonzero(m.holding >= 0).tolist():
        out[i] = m.swarm[i].work_domain
    return out


#: Agent reporters: name -> function of the model giving one value per agent (in the
#: order of ``model.swarm``), collected as arrays (one frame per report, not one Python
#: row per agent). Each matches the :class:`~swarm.agents.SwarmAgent` attribute of the
#: same name.
AGENT_REPORTERS: dict[str, Callable[[Any], np.ndarray]] = {
    "xp": lambda m: m.xp.copy(),
    "level": lambda m: np.array(m.level_names, dtype=object),
    "main_domain": lambda m: np.array(m.main_domains, dtype=object),
    "tasks_done": lambda m: m.tasks_done.copy(),
    "busy": lambda m: (m.holding >= 0).astype(np.int64),
    "x": lambda m: m.ax.copy(),
    "y": lambda m: m.ay.copy(),
    "work_domain": _work_domains,
    "near_hotspot": lambda m: m.near_hotspots().astype(np.int64),
}
#: Columns of the DataCollector tables: one row per task arrival (the world's task stream:
#: the same under every condition that does not change the world), one per synthesis
#: decision, and one per unit of work done (a coordination task, a handoff stage, a
#: synthesis slot).
TABLES: dict[str, list[str]] = {
    "arrivals": ["step", "task_id", "task_type", "x", "y", "difficulty", "deadline"],
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
        "recombined",
        "quality",
        "best_member_quality",
        "mean_member_quality",
        "expertise",
        "member_qualities",
    ],
    "work": ["step", "agent_id", "domain", "task_type", "quality"],
}


#: Per-channel reporters: ``<prefix><channel>`` for every trace channel.
#: Each is a function of a channel's mass (its positive values, :func:`field_mass`, found
#: once a step for both) and its number of cells.
CHANNEL_REPORTERS: dict[str, Callable[[np.ndarray, int], float]] = {
    "trace_entropy_": _entropy,
    "trace_concentration_": _concentration,
}


def is_metric(name: str) -> bool:
    """A model reporter's name (the per-channel ``trace_entropy_<channel>`` and
    ``trace_concentration_<channel>`` included)."""
    return name in MODEL_REPORTERS or any(name.startswith(p) for p in CHANNEL_REPORTERS)


def channel_reporter(prefix: str, channel: str) -> Callable[[Any], float]:
    fn = CHANNEL_REPORTERS[prefix]

    def report(model) -> float:
        return fn(*model.traces.mass(channel))

    report.__name__ = f"{prefix}{channel}"
    return report


class _AgentFrames(Mapping):
    """Mesa's ``_agent_records`` (step -> list of ``(step, agent_id, *values)`` rows) over
    per-step column arrays: rows are built only when something asks for them (Mesa's
    ``batch_run`` does)."""

    def __init__(self) -> None:
        self.frames: dict[int, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    def __getitem__(self, step: int) -> list[tuple]:
        ids, cols = self.frames[step]
        columns = (c.tolist() for c in cols.values())
        return list(zip([step] * len(ids), ids.tolist(), *columns, strict=True))

    def __iter__(self):
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)


class SwarmDataCollector(mesa.DataCollector):
    """Mesa's DataCollector with the agent reporters collected as arrays
    (:data:`AGENT_REPORTERS`: functions of the model), every ``agent_every`` steps
    (0: never)."""

    def __init__(self, *args, agent_reporters=None, agent_every: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.agent_reporters = dict(agent_reporters or {})
        self._agent_records = _AgentFrames()
        self.agent_every = agent_every

    def collect(self, model) -> None:
        reporters, self.agent_reporters = self.agent_reporters, {}
        try:
            super().collect(model)  # model reporters and tables
        finally:
            self.agent_reporters = reporters
        if reporters and self.agent_every and model.steps % self.agent_every == 0:
            cols = {name: np.asarray(fn(model)) for name, fn in reporters.items()}
            self._agent_records.frames[model.steps] = (model.agent_ids.copy(), cols)

    def add_table_rows(self, table_name: str, columns: dict[str, Sequence]) -> None:
        """Add several rows to a table at once, given as one sequence per column (every
        column of the table, the same length each)."""
        table = self.tables.get(table_name)
        if table is None:
            raise KeyError(f"no table {table_name!r}")
        if set(columns) != set(table):
            raise KeyError(f"table {table_name!r} has columns {list(table)}, got {list(columns)}")
        if len({len(v) for v in columns.values()}) > 1:
            raise ValueError(f"columns for table {table_name!r} differ in length")
        for name, values in columns.items():
            table[name].extend(values)

    def get_agent_vars_dataframe(self) -> pd.DataFrame:
        """One row per agent per recorded step, indexed ``(Step, AgentID)`` as Mesa's."""
        frames = self._agent_records.frames
        names = list(self.agent_reporters)
        if not frames:
            return pd.DataFrame(
                columns=names, index=pd.MultiIndex.from_arrays([[], []], names=["Step", "AgentID"])
            )
        steps = np.concatenate([np.full(len(ids), s) for s, (ids, _) in frames.items()])
        ids = np.concatenate([ids for ids, _ in frames.values()])
        data = {n: np.concatenate([cols[n] for _, cols in frames.values()]) for n in names}
        index = pd.MultiIndex.from_arrays([steps, ids], names=["Step", "AgentID"])
        return pd.DataFrame(data, index=index)


def datacollector(channels: tuple[str, ...], agent_every: int = 1) -> SwarmDataCollector:
    """The model's DataCollector: :data:`MODEL_REPORTERS`, a trace entropy per channel,
    :data:`AGENT_REPORTERS` and :data:`TABLES`."""
    reporters = dict(MODEL_REPORTERS)
    for prefix in CHANNEL_REPORTERS:
        for name in channels:
            reporters[f"{prefix}{name}"] = channel_reporter(prefix, name)
    return SwarmDataCollector(
        model_reporters=reporters,
        agent_reporters=AGENT_REPORTERS,
        tables={k: list(v) for k, v in TABLES.items()},
        agent_every=agent_every,
    )


# Frames --------------------------------------------------------------------------------


def model_frame(model) -> pd.DataFrame:
    """One row per step (``step`` 0 is the initial state), one column per reporter."""
    df = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    df.insert(0, "step", range(len(df)))
    return df


def agents_frame(model) -> pd.DataFrame:
    """One row per agent per recorded step: ``step``, ``agent_id``, the agent reporters."""
    df = model.datacollector.get_agent_vars_dataframe().reset_index()
    return df.rename(columns={"Step": "step", "AgentID": "agent_id"})


def table_frame(model, name: str) -> pd.DataFrame:
    """A DataCollector table (``decisions`` or ``work``) as a frame."""
    return model.datacollector.get_table_dataframe(name)


def final_metrics(model_df: pd.DataFrame, names) -> dict[str, float]:
    """The last row's value of each of ``names`` (a run's final metrics)."""
    last = model_df.iloc[-1]
    return {m: (last[m].item() if hasattr(last[m], "item") else last[m]) for m in names}
