"""The evaluation dataset: scenarios frozen from expert simulations (``swarm eval build``).

Expert swarms run on seeds ``first_seed, first_seed + 1, ...``; every ``every``-th step,
each agent's observation is judged by the oracle (:mod:`training.eval.oracle`), and
scenarios are drawn per category (at most ``per_run`` from one run, so a category is not
one episode's story) until the configured counts are met. Each scenario line holds the
observation (complete, so any policy can decide on it again), its chat rendering, the
candidates, the acceptable actions, the rules it tests and the expert's own choice.

The seeds are checked against the simulation seeds of the curation config and, when a
curated data directory is given, against every seed its records name.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from soul.files import exclusive_beside
from swarm import SwarmModel, rollout
from swarm.interface.observation import NearbyAgent, Observation, TaskView
from swarm.interface.text import parse_action, render_action, render_observation
from swarm.io import atomic_write_text, check_outputs_dir, replace_outputs
from swarm.world.tasks import TaskType
from training.eval.config import CATEGORIES, EvalConfig, as_eval_config
from training.eval.oracle import judge

SCENARIOS = "scenarios.jsonl"
MANIFEST = "manifest.json"


# Freezing observations -----------------------------------------------------------------


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """Numpy scalars as Python ones (JSON cannot hold them)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in d.items()}


def freeze(obs: Observation) -> dict[str, Any]:
    """``obs`` as plain JSON data (actions as their canonical text)."""
    traces = [[None if math.isnan(v) else float(v) for v in row] for row in obs.traces]
    return {
        "agent_id": int(obs.agent_id),
        "step": int(obs.step),
        "x": int(obs.x),
        "y": int(obs.y),
        "level": obs.level,
        "domains": list(obs.domains),
        "skills": [float(s) for s in obs.skills],
        "channels": list(obs.channels),
        "traces": traces,
        "candidates": [render_action(c) for c in obs.candidates],
        "task": None if obs.task is None else _plain(asdict(obs.task)),
        "tasks": [_plain(asdict(t)) for t in obs.tasks],
        "agents": [_plain(asdict(a)) for a in obs.agents],
        "prefers": list(obs.prefers),
        "strengths": list(obs.strengths),
        "avoids": list(obs.avoids),
    }


def _view(d: dict[str, Any]) -> TaskView:
    return TaskView(
        **{**d, "task_type": TaskType(d["task_type"]), "open_slots": tuple(d["open_slots"])}
    )


def thaw(d: dict[str, Any]) -> Observation:
    """The observation :func:`freeze` wrote."""
    traces = np.array(
        [[np.nan if v is None else v for v in row] for row in d["traces"]], dtype=float
    )
    return Observation(
        agent_id=int(d["agent_id"]),
        step=int(d["step"]),
        x=int(d["x"]),
        y=int(d["y"]),
        level=d["level"],
        domains=tuple(d["domains"]),
        skills=np.array(d["skills"], dtype=float),
        channels=tuple(d["channels"]),
        traces=traces,
        candidates=tuple(parse_action(c) for c in d["candidates"]),
        task=None if d["task"] is None else _view(d["task"]),
        tasks=tuple(_view(t) for t in d["tasks"]),
        agents=tuple(NearbyAgent(**a) for a in d["agents"]),
        prefers=tuple(d.get("prefers", ())),
        strengths=tuple(d.get("strengths", ())),
        avoids=tuple(d.get("avoids", ())),
    )


# Seeds ---------------------------------------------------------------------------------

_SEED_PATTERNS = (re.compile(r"simulation:seed=(\d+)"), re.compile(r'"simulation_seed":\s*(\d+)'))


def training_seeds(cfg: EvalConfig, training_data: str | Path | None = None) -> set[int]:
    """Simulation seeds behind the training data: the curation config's range, plus every
    seed named in the JSONL files of ``training_data`` (a curated directory)."""
    seeds: set[int] = set()
    if cfg.curation:
        from training.data.config import load_curation

        sim = load_curation(cfg.curation).simulation
        seeds.update(range(sim.first_seed, sim.first_seed + sim.max_runs))
    if training_data is not None:
        files = sorted(Path(training_data).glob("*.jsonl"))
        if not files:
            raise ValueError(f"{training_data}: no JSONL files to read training seeds from")
        for f in files:
            text = f.read_text(encoding="utf-8")
            for pattern in _SEED_PATTERNS:
                seeds.update(int(s) for s in pattern.findall(text))
    return seeds


def check_disjoint(name: str, seeds: range, used: set[int]) -> None:
    clash = sorted(used.intersection(seeds))
    if clash:
        raise ValueError(
            f"{name} seeds {clash[0]}..{clash[-1]} overlap the training data's simulation "
            "seeds; move first_seed"
        )


# Building ------------------------------------------------------------------------------


def build_dataset(
    out: str | Path,
    config: str | Path | dict | EvalConfig | None = None,
    *,
    training_data: str | Path | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Write ``scenarios.jsonl`` and ``manifest.json`` to ``out``; return the manifest."""
    from swarm.progress import Bars

    cfg = as_eval_config(config)
    check_outputs_dir(out, (SCENARIOS, MANIFEST), "swarm eval build")  # before simulating
    spec = cfg.dataset
    seeds = range(spec.first_seed, spec.first_seed + spec.max_runs)
    used = training_seeds(cfg, training_data)
    check_disjoint("evaluation dataset", seeds, used)

    want = {c: spec.counts.get(c, 0) for c in CATEGORIES}
    got: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: dict[str, int] = defaultdict(int)
    runs = 0
    rng = np.random.default_rng(cfg.seed)
    with Bars(progress) as bars:
        advance = bars.add("scenarios", spec.max_runs)
        for seed in seeds:
            if all(len(got[c]) >= n for c, n in want.items()):
                break
            pool = _situations(seed, spec)
            runs += 1
            for cat in CATEGORIES:
                seen[cat] += len(pool[cat])
                room = min(spec.per_run, want[cat] - len(got[cat]))
                if room <= 0 or not pool[cat]:
                    continue
                pick = rng.permutation(len(pool[cat]))[:room]
                got[cat].extend(pool[cat][i] for i in sorted(pick))
            advance(note=" ".join(f"{c[:5]} {len(got[c])}/{want[c]}" for c in CATEGORIES))
    short = {c: (len(got[c]), n) for c, n in want.items() if len(got[c]) < n}
    if short:
        c, (have, need) = next(iter(short.items()))
        raise ValueError(
            f"only {have} of {need} {c} scenarios in {spec.max_runs} runs; raise "
            "dataset.max_runs or dataset.per_run"
        )
    lines = []
    for cat in CATEGORIES:
        for k, rec in enumerate(got[cat]):
            rec["id"] = f"{cat}-{k:03d}"
            lines.append(json.dumps(rec, sort_keys=True))
    text = "\n".join(lines) + "\n"
    out = Path(out)
    manifest = {
        "scenarios": len(lines),
        "counts": {c: len(got[c]) for c in CATEGORIES},
        "candidate_situations_seen": dict(seen),
        "runs": runs,
        "seeds": [spec.first_seed, spec.first_seed + runs - 1],
        "training_seeds_checked": len(used),
        "training_seed_range": [min(used), max(used)] if used else None,
        "expert_acceptable": {
            c: round(float(np.mean([r["expert_acceptable"] for r in got[c]])), 4)
            for c in CATEGORIES
            if got[c]
        },
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "config": cfg.model_dump(mode="json"),
    }

    def write(tmp: Path) -> None:
        atomic_write_text(tmp / SCENARIOS, text)
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2))

    with exclusive_beside(out, "the dataset directory"):
        replace_outputs(out, write, (SCENARIOS, MANIFEST), "swarm eval build")  # both or neither
    return manifest


class ScenarioRecorder:
    """A rollout recorder that judges every agent's observation every ``spec.every``-th
    step with the oracle, before the world acts, and pools the situations per category."""

    def __init__(self, seed: int, spec) -> None:
        self.seed, self.every = seed, spec.every
        self.pool: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def decided(self, model, obs, decisions) -> None:
        if model.steps % self.every:
            return
        for o, d in zip(obs, decisions, strict=True):
            if obs.simple is not None and obs.simple[o.index]:
                continue  # idle with nothing in view: only trace-following, judged by no one
            for j in judge(o):
                self.pool[j.category].append(
                    {
                        "category": j.category,
                        "seed": self.seed,
                        "step": model.steps,
                        "observation": freeze(o),
                        "messages": render_observation(o),
                        "acceptable": sorted(render_action(a) for a in j.acceptable),
                        "rules": list(j.rules),
                        "expert": render_action(d.action),
                        "expert_acceptable": bool(d.action in j.acceptable),
                    }
                )


def _situations(seed: int, spec) -> dict[str, list[dict[str, Any]]]:
    """Every judged situation of one expert run, per category."""
    model = SwarmModel(n_agents=spec.n_agents, policy="heuristic", agent_report_every=0, rng=seed)
    recorder = ScenarioRecorder(seed, spec)
    rollout(model, spec.steps, [recorder])
    return recorder.pool


# Loading -------------------------------------------------------------------------------


class Scenario:
    """One scenario: its record, the thawed observation and the acceptable actions."""

    __slots__ = ("acceptable", "category", "id", "observation", "record")

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.id = record["id"]
        self.category = record["category"]
        self.observation = thaw(record["observation"])
        self.acceptable = frozenset(parse_action(a) for a in record["acceptable"])


def read_manifest(directory: str | Path) -> dict[str, Any] | None:
    """A dataset directory's ``manifest.json`` (None if it has none); a file that is not a
    manifest is a one-line ValueError."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, OSError):
        raise ValueError(f"{path}: not a dataset manifest") from None
    seeds = data.get("seeds") if isinstance(data, dict) else None
    if not (isinstance(seeds, list) and len(seeds) == 2 and all(isinstance(s, int) for s in seeds)):
        raise ValueError(f"{path}: not a dataset manifest (no seeds range)")
    return data


def load_dataset(path: str | Path) -> list[Scenario]:
    """The scenarios in ``path`` (a dataset directory or its ``scenarios.jsonl``); a bad
    line is a one-line ValueError naming file and line."""
    path = Path(path)
    f = path / SCENARIOS if path.is_dir() else path
    if not f.exists():
        raise ValueError(f"{f}: no such file (build one with `swarm eval build`)")
    try:
        text = f.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{f}: not UTF-8 text: not a scenarios file") from None
    manifest = read_manifest(f.parent)
    if manifest is not None:
        want = manifest.get("sha256")
        got = hashlib.sha256(text.encode()).hexdigest()
        if want != got:
            raise ValueError(
                f"{f}: does not match its manifest (sha256 {got[:12]}…, the manifest says "
                f"{str(want)[:12]}…); rebuild it with `swarm eval build`"
            )
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if rec.get("category") not in CATEGORIES:
                raise ValueError(f"unknown category {rec.get('category')!r}")
            out.append(Scenario(rec))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise ValueError(f"{f}:{n}: not a scenario ({why})") from None
        except RecursionError:
            raise ValueError(f"{f}:{n}: not a scenario (nested too deeply)") from None
    if not out:
        raise ValueError(f"{f}: no scenarios")
    return out
