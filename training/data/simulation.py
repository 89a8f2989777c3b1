"""Examples generated from simulation runs of the expert policy.

The curation's :class:`~training.data.pipeline.SimulationRuns` runs expert swarms on seeds
``first_seed, first_seed + 1, ...`` and
collects, per run, every agent's observation and decision, the synthesis decisions, and
each task's outcome. From them:

* **checkpoints**: expert decisions in episodes whose task completed (the task the agent
  holds, or, while it searches, the next task it takes), rendered with :mod:`swarm.interface.text`:
  exactly the prompt the language-model policy will get;
* **constitutional**: for each constitution rule, states where it binds on the expert's
  (compliant) action, edge cases first (states where another candidate would break it);
* **reasoning**: synthesis decisions: the members' proposals and weights, the vote per
  component, and the synthesised approach;
* **chats**: group chats written from the agents' coordination (claims, joins, help
  signals, handoffs, outcomes), saved as OpenAI-style JSONL and read back through the
  transcript extractor, where no real transcripts are given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from swarm import StepRecord, SwarmModel, rollout
from swarm.interface.constitution import check, constitution_text
from swarm.interface.observation import TAKE_KINDS, Observation
from swarm.interface.text import render_action, render_user
from swarm.metrics import table_frame
from swarm.world.actions import ActionKind
from swarm.world.tasks import TaskType
from training.data.config import Simulation
from training.data.schema import TrainingExample, make_example


@dataclass
class Step:
    obs: Observation
    action: Any
    step: int
    conflict: bool = False  # the action conflicted (a contested claim, a refused handoff)


@dataclass
class Run:
    seed: int
    trajectories: dict[int, list[Step]] = field(default_factory=dict)  # agent index -> steps
    outcomes: dict[int, str] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)


class TrajectoryRecorder:
    """A rollout recorder that fills a :class:`Run`: every agent's observation and
    decision (flagged when it conflicted), each task's type, domains and difficulty, and
    each task's outcome."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def stepped(self, model: SwarmModel, record: StepRecord) -> None:
        run, conflicted = self.run, record.conflicted
        for o, d in zip(record.observations, record.decisions, strict=True):
            step = Step(o, d.action, record.step, conflict=o.index in conflicted)
            run.trajectories.setdefault(o.index, []).append(step)
        run.outcomes.update(record.ended)
        for t in model.board.tasks.values():
            if t.id not in run.tasks:
                run.tasks[t.id] = {
                    "type": t.task_type.value,
                    "domains": list(t.domains),
                    "difficulty": round(t.difficulty, 2),
                }


def simulate_expert(seed: int, sim: Simulation) -> Run:
    """Run the expert swarm on ``seed`` and record what the generators need."""
    run = Run(seed)
    model = SwarmModel(n_agents=sim.n_agents, agent_report_every=0, rng=seed)
    rollout(model, sim.steps, [TrajectoryRecorder(run)])
    run.decisions = table_frame(model, "decisions").to_dict("records")
    return run


def _task_type(step: Step, tasks: dict[int, dict[str, Any]]) -> str:
    if step.obs.task is not None:
        return str(step.obs.task.task_type)
    tid = step.action.task
    return tasks.get(tid, {}).get("type", "coordination") if tid is not None else "coordination"


def _example(step: Step, run: Run, kind: str, **extra) -> TrainingExample:
    return make_example(
        constitution_text(),
        render_user(step.obs),
        render_action(step.action),
        task_type=_task_type(step, run.tasks),
        success_score=1.0,
        source=kind,
        source_file=f"simulation:seed={run.seed}",
        line=step.step * 100_000 + step.obs.agent_id,
        action=step.action.kind.value,
        **({"conflict": True} if step.conflict else {}),
        **extra,
    )


def checkpoints(
    run: Run,
    rng: np.random.Generator,
    limit: int | None = None,
    weights: dict[str, float] | None = None,
    contested_only: bool = False,
) -> list[TrainingExample]:
    """Expert decisions of episodes whose task completed, in a seeded random order; only
    the first ``limit`` are rendered. ``weights`` (action kind -> relative weight,
    default 1) makes it a weighted sample without replacement (Efraimidis-Spirakis keys
    ``u ** (1 / w)``): routine decisions can be thinned and rare ones favoured; weight 0
    leaves a kind out. ``contested_only`` keeps only decisions where another idle agent
    could take the same task (``Observation.in_contest``)."""
    out = []
    for steps in run.trajectories.values():
        upcoming: int | None = None  # the next task this agent holds, walking backwards
        for st in reversed(steps):
            held = st.obs.task.id if st.obs.task is not None else None
            if held is not None:
                upcoming = held
            elif st.action.kind in TAKE_KINDS:
                upcoming = st.action.task
            tid = held if held is not None else upcoming
            if tid is not None and run.outcomes.get(tid) == "done":
                out.append(st)
    w = np.array([(weights or {}).get(st.action.kind.value, 1.0) for st in out])
    if contested_only:
        w *= [st.obs.in_contest() for st in out]
    keys = rng.random(len(out)) ** (1 / np.maximum(w, 1e-12))
    keys[w == 0] = -1.0
    order = np.argsort(-keys, kind="stable")[: min(limit or len(out), int((w > 0).sum()))]
    return [_example(out[i], run, "checkpoints") for i in order]


def constitutional(run: Run, rng: np.random.Generator) -> dict[int, list[TrainingExample]]:
    """Per rule: compliant expert actions in states where the rule binds, edge cases first."""
    edge: dict[int, list[TrainingExample]] = defaultdict(list)
    plain: dict[int, list[TrainingExample]] = defaultdict(list)
    every = [st for steps in run.trajectories.values() for st in steps]
    for i in rng.permutation(len(every)):
        st = every[i]
        verdicts = check(st.obs, st.action)
        for rule, ok in verdicts.items():
            if not ok:
                continue
            is_edge = any(
                check(st.obs, c).get(rule) is False for c in st.obs.candidates if c != st.action
            )
            bucket = edge if is_edge else plain
            if len(bucket[rule]) < 400:
                bucket[rule].append(
                    _example(st, run, "constitutional", rule=rule, edge_case=is_edge)
                )
    return {r: edge[r] + plain[r] for r in set(edge) | set(plain)}


def _approach(code: str) -> str:
    return " ".join(code)


def reasoning(run: Run) -> list[TrainingExample]:
    """Synthesis decisions as worked examples of a vote per component."""
    out = []
    for d in run.decisions:
        members = list(zip(d["agents"], d["domains"], d["proposals"], d["weights"], strict=True))
        lines = [
            f"Synthesis task {d['task_id']}: choose an approach of {len(d['best'])} components, "
            f"options 0-2 each. Voting rule: {d['rule']}.",
            "Proposals:",
        ]
        lines += [
            f"- agent {a} ({dom}, weight {w:.2f}): {_approach(p)}" for a, dom, p, w in members
        ]
        lines.append("Combine the proposals component by component.")
        steps = []
        for k, chosen in enumerate(d["winner"]):
            totals: dict[str, float] = defaultdict(float)
            for _, _, p, w in members:
                totals[p[k]] += w
            tally = ", ".join(f"{o}: {v:.2f}" for o, v in sorted(totals.items()))
            steps.append(f"component {k + 1}: {tally} -> {chosen}")
        novel = " (a new combination)" if d.get("recombined", d["novel"]) else ""
        answer = "\n".join(steps) + f"\napproach: {_approach(d['winner'])}{novel}"
        out.append(
            make_example(
                constitution_text(),
                "\n".join(lines),
                answer,
                task_type=TaskType.SYNTHESIS.value,
                success_score=float(d["quality"]),
                source="reasoning",
                source_file=f"simulation:seed={run.seed}",
                line=int(d["task_id"]),
                rule=d["rule"],
                novel=bool(d["novel"]),
            )
        )
    return out


# Simulated group chats --------------------------------------------------------------------


def chats(run: Run) -> Iterator[dict[str, Any]]:
    """One OpenAI-style conversation per finished task, written from what agents did."""
    events: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    last_work: dict[tuple[int, int], int] = {}
    for steps in run.trajectories.values():
        for st in steps:
            a, tid, kind = st.obs.agent_id, st.action.task, st.action.kind
            if tid is None or tid not in run.tasks:
                continue
            info = run.tasks[tid]
            if kind is ActionKind.CLAIM:
                text = f"I'll take task {tid} ({info['type']}, needs {', '.join(info['domains'])})."
            elif kind is ActionKind.JOIN:
                text = f"Joining task {tid}; I can cover one of {', '.join(info['domains'])}."
            elif kind is ActionKind.HELP:
                text = f"Task {tid} still has open slots. Can anyone with the right domain help?"
            elif kind is ActionKind.HANDOFF:
                text = f"My stage of task {tid} is done; handing off to agent {st.action.agent}."
            elif kind is ActionKind.RELEASE:
                text = f"Releasing task {tid}; passing it on to someone in the next domain."
            elif kind is ActionKind.WORK:
                if st.step - last_work.get((a, tid), -99) < 5:
                    continue
                last_work[(a, tid)] = st.step
                p = st.obs.task.progress if st.obs.task is not None else 0.0
                text = f"Working on task {tid}; progress {p:.1f}."
            else:
                continue
            if st.conflict:
                text = f"Tried task {tid}, but it was already taken: a conflict."
            events[tid].append((st.step, a, text))
    for tid, evs in sorted(events.items()):
        outcome = run.outcomes.get(tid)
        if outcome is None:
            continue
        info = run.tasks[tid]
        msgs = [
            {
                "role": "user",
                "content": f"Task {tid}: a {info['type']} task needing "
                f"{', '.join(info['domains'])}, difficulty {info['difficulty']}.",
            }
        ]
        for _, a, text in sorted(evs):
            msgs.append({"role": "assistant", "name": f"agent_{a}", "content": text})
        last = msgs[-1]["name"] if len(msgs) > 1 else "agent_0"
        end = "Task complete. TERMINATE" if outcome == "done" else "Deadline missed. TASK FAILED"
        msgs.append({"role": "assistant", "name": last, "content": end})
        yield {
            "messages": msgs,
            "metadata": {"task": msgs[0]["content"], "simulation_seed": run.seed},
        }
