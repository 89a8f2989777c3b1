"""A transcript recorder: every decision of a run as a conversation, with the outcome of
the task it served, as JSONL that ``swarm data curate`` reads (a ``transcripts`` source).

Each record is one decision: ``messages`` (the system prompt, the observation as the user
turn, and the answer: a chat policy's own text, else the rendered action), then
``simulation_seed`` (the run's seed), ``agent_id``, ``step``, ``action`` (its canonical
text) and ``kind``, ``policy``, ``latency_s``, ``prompt_tokens``, ``completion_tokens``,
``fallback`` (why a chat policy's answer was not used, if so), ``conflict`` (the take
collided with another agent's), ``task`` (``"task N"``: the task the decision served, the
one it names or the one its agent held) and its ``task_type``, and, when that task ended
during the run, ``success`` (finished or failed) and ``success_score`` (the task's
quality; 0 when it failed). Decisions that served no task, or whose task was still open
at the end, carry no outcome
(the curation's ``unknown_outcome`` policy decides what to do with them).

>>> rec = TranscriptRecorder("runs/t/transcripts.jsonl")        # doctest: +SKIP
>>> rollout(SwarmModel(n_agents=5, rng=0), 50, [rec]); rec.write()  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swarm.interface.text import render_action, render_observation
from swarm.io import atomic_write_text


class TranscriptRecorder:
    """A rollout recorder (``decided`` and ``stepped``); :meth:`write` saves the JSONL."""

    def __init__(self, path: str | Path, every: int = 1) -> None:
        self.path = Path(path)
        self.every = every
        self.records: list[dict[str, Any]] = []
        self._by_task: dict[int, list[int]] = {}  # task id -> record indices
        self._this_step: dict[int, int] = {}  # agent index -> record index, this step

    def decided(self, model, observations, decisions) -> None:
        self._this_step = {}
        if model.steps % self.every:
            return
        policy = str(getattr(model.policy, "name", type(model.policy).__name__))
        for i, (obs, d) in enumerate(zip(observations, decisions, strict=True)):
            task = d.action.task if d.action.task is not None else getattr(obs.task, "id", None)
            views = {t.id: t for t in obs.tasks} | ({obs.task.id: obs.task} if obs.task else {})
            info = d.info or {}
            answer = info.get("answer") or render_action(d.action)
            rec = {
                "messages": [*render_observation(obs), {"role": "assistant", "content": answer}],
                "simulation_seed": model.stream_seed,
                "agent_id": obs.agent_id,
                "step": obs.step,
                "action": render_action(d.action),
                "kind": d.action.kind.value,
                "policy": policy,
                "latency_s": float(info.get("latency_s", 0.0)),
                "prompt_tokens": int(info.get("prompt_tokens", 0)),
                "completion_tokens": int(info.get("completion_tokens", 0)),
                "fallback": info.get("fallback"),  # why a chat answer was not used, if so
                "conflict": False,
            }
            if task is not None:
                rec["task"] = f"task {task}"
                if task in views:
                    rec["task_type"] = str(views[task].task_type)
                self._by_task.setdefault(int(task), []).append(len(self.records))
            self._this_step[i] = len(self.records)
            self.records.append(rec)

    def stepped(self, model, record) -> None:
        for i in record.conflicts:
            if i in self._this_step:
                self.records[self._this_step[i]]["conflict"] = True
        for task_id, _type, quality in record.completed:
            self._resolve(task_id, True, float(quality))
        for task_id, _type in record.failed:
            self._resolve(task_id, False, 0.0)

    def _resolve(self, task_id: int, success: bool, score: float) -> None:
        for k in self._by_task.pop(int(task_id), []):
            self.records[k]["success"] = success
            self.records[k]["success_score"] = score

    def write(self) -> Path:
        """Write every record (atomically); returns the path."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.records))
        return self.path
