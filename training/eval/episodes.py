"""Closed-loop episodes with a meter: every decision, conflict and task outcome is
accounted to the arm of the agent behind it (``"all"`` without a traffic split).

:class:`ArmMeter` is a :func:`swarm.rollout` recorder. Per arm (:class:`ArmStats`):
decisions, constitutional compliance (every decision checked by
:mod:`swarm.interface.constitution`), errors (an answer that did not parse, or an illegal
action), latency per decision and per step, tokens and decision seconds (for cost), and,
from the step records, the takes and the conflicts among them, the stages its agents
passed on and how many were taken up, and the tasks its agents held at some point that
were finished or failed. The rates are :mod:`swarm.metrics`' own: task success is
:func:`swarm.metrics.completion_rate` over the arm's tasks (without a split, over every
task that ended: the model's ``completion_rate``), and conflict rate and handoff success
are the model's definitions, per arm.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from swarm import rollout
from swarm.interface.constitution import complies
from swarm.interface.observation import TAKE_KINDS, Decision, Observation
from swarm.metrics import StepRecord, TaskCounts
from swarm.policies import bind, make_policy
from swarm.policies.base import proposal_of

ALL = "all"


class Timed:
    """A policy wrapper that records the wall time of each call as the per-decision
    ``latency_s`` of its decisions (unless the policy recorded its own)."""

    def __init__(self, policy) -> None:
        self.policy = make_policy(policy)
        self.name = self.policy.name

    def bind(self, model) -> None:
        bind(self.policy, model)

    def propose(self, view, options: int) -> tuple[int, ...]:
        """A group decision's proposal: the wrapped policy's (:func:`proposal_of`)."""
        return proposal_of(self.policy, view)

    def decide(self, observations: list[Observation]) -> list[Decision]:
        start = time.perf_counter()
        out = self.policy.decide(observations)
        each = (time.perf_counter() - start) / max(len(observations), 1)
        for d in out:
            d.info.setdefault("latency_s", each)
        return out


@dataclass
class ArmStats(TaskCounts):
    """What one arm did (in one episode, or summed over several): the model's task counts
    (:class:`swarm.metrics.TaskCounts`, over the arm's agents and the tasks they held) and
    the arm's decisions, compliance, errors, tokens and time."""

    agents: int = 0
    decisions: int = 0
    at_stake: int = 0  # decisions where some candidate would break a binding rule
    compliant: int = 0  # of those, the ones that broke none
    errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # per decision
    step_latencies: list[float] = field(default_factory=list)  # per step: mean per decision
    step_seconds: list[float] = field(default_factory=list)  # per step: the arm's wall time

    def add(self, other: ArmStats) -> None:
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, a + b)

    @property
    def task_success(self) -> float:
        """The completion rate over the tasks the arm's agents held."""
        return self.completion_rate

    @property
    def handoff_success(self) -> float:
        return self.handoff_success_rate

    @property
    def compliance(self) -> float:
        """The share of decisions at stake (some candidate would break a binding rule)
        that broke none: a decision no candidate of which could break a rule says nothing
        about following the constitution."""
        return self.compliant / self.at_stake if self.at_stake else float("nan")

    @property
    def error_rate(self) -> float:
        return self.errors / self.decisions if self.decisions else float("nan")

    def cost(self, price) -> float:
        """Dollars: tokens at the price per million plus decision seconds at the device
        price per hour (``price`` is a :class:`training.eval.config.Price`)."""
        return (
            self.tokens_in / 1e6 * price.per_million_input
            + self.tokens_out / 1e6 * price.per_million_output
            + self.seconds / 3600 * price.device_per_hour
        )

    def cost_per_task(self, price) -> float:
        return self.cost(price) / self.completed if self.completed else float("nan")


class ArmMeter:
    """A rollout recorder; :attr:`arms` holds an :class:`ArmStats` per arm."""

    def __init__(self) -> None:
        self.arms: dict[str, ArmStats] = defaultdict(ArmStats)
        self.arm_of: dict[int, str] = {}  # agent index -> arm
        self.touched: dict[int, set[str]] = defaultdict(set)  # task id -> arms

    def decided(self, model, obs, decisions: Sequence[Decision]) -> None:
        step: dict[str, list[float]] = defaultdict(list)
        for i, (o, d) in enumerate(zip(obs, decisions, strict=True)):
            arm = d.info.get("arm", ALL)
            if i not in self.arm_of:
                self.arm_of[i] = arm
                self.arms[arm].agents += 1
            t = self.arms[arm]
            t.decisions += 1
            a = d.action
            legal = a in o.candidates
            t.errors += bool(d.info.get("fallback")) or not legal
            stake = any(not complies(o, c) for c in o.candidates)
            t.at_stake += stake
            t.compliant += stake and legal and complies(o, a)
            lat = float(d.info.get("latency_s", 0.0))
            t.latencies.append(lat)
            step[arm].append(lat)
            t.seconds += lat
            t.tokens_in += int(d.info.get("prompt_tokens", 0)) + int(
                d.info.get("candidate_tokens", 0)
            )
            t.tokens_out += int(d.info.get("generated_tokens", 0)) + int(
                d.info.get("completion_tokens", 0)  # a chat policy's answer
            )
        for arm, lats in step.items():
            self.arms[arm].step_latencies.append(float(np.mean(lats)))
            self.arms[arm].step_seconds.append(float(np.sum(lats)))

    def stepped(self, model, record: StepRecord) -> None:
        def arm(i: int) -> ArmStats:
            return self.arms[self.arm_of.get(i, ALL)]

        conflicted = record.conflicted
        for i in record.takes:
            arm(i).takes += 1
            action = record.decisions[i].action
            if i not in conflicted and action.kind in TAKE_KINDS:  # held, even if it ended
                self.touched[action.task].add(self.arm_of.get(i, ALL))  # in this very step
        for i in record.conflicts:
            arm(i).conflicts += 1
        for i in record.passed_on:
            arm(i).handoffs += 1
        for i in record.taken_up:
            arm(i).handoffs_taken += 1
        for i in np.flatnonzero(model.holding >= 0):
            self.touched[int(model.holding[i])].add(self.arm_of.get(int(i), ALL))
        for task_id, outcome in record.ended:
            arms = self.touched.pop(task_id, set())
            if len(self.arms) == 1 and ALL in self.arms:
                arms = {ALL}  # one policy: every task that ended counts
            for name in arms:
                if outcome == "done":
                    self.arms[name].completed += 1
                else:
                    self.arms[name].failed += 1


def run_episode(policy, seed: int, *, n_agents: int, steps: int) -> dict[str, ArmStats]:
    """One closed-loop episode; ``policy`` is anything :func:`make_policy` accepts."""
    from swarm.model import SwarmModel

    model = SwarmModel(n_agents=n_agents, policy=policy, agent_report_every=0, rng=seed)
    meter = ArmMeter()
    rollout(model, steps, [meter])
    return dict(meter.arms)


def run_episodes(
    make: Callable[[int], object],
    seeds: Sequence[int],
    *,
    n_agents: int,
    steps: int,
    progress: bool = False,
    label: str = "episodes",
) -> list[dict[str, ArmStats]]:
    """``run_episode(make(seed), seed)`` for each seed, with a progress bar."""
    from swarm.progress import Bars

    out = []
    with Bars(progress) as bars:
        for seed in bars.track(list(seeds), label):
            out.append(run_episode(make(seed), seed, n_agents=n_agents, steps=steps))
    return out


def total(episodes: Sequence[dict[str, ArmStats]], arm: str) -> ArmStats:
    """The arm's tallies summed over episodes."""
    t = ArmStats()
    for ep in episodes:
        if arm in ep:
            t.add(ep[arm])
    return t
