"""``swarm improve``: rounds of learning from the simulation's own outcomes.

Round 0 measures the supervised student. Each later round:

1. runs the current student in closed loop on the round's own training seeds
   (``labels.seeds``, shifted by one block per round) and labels its decisions by
   counterfactual rollout (:func:`training.counterfactual.label_run`: every candidate
   played and continued by ``labels.continuation`` for ``labels.horizon`` steps in
   ``labels.worlds`` futures; or, with ``labels.select: departures``,
   :func:`training.counterfactual.label_departures`: its departures from the expert and
   as many agreeing decisions, two candidates each) → ``round-R/labels.jsonl``,
   ``round-R/pairs.jsonl``;
2. trains on the pairs by DPO (:mod:`training.improve.dpo`) → ``round-R/dpo/student``;
3. evaluates that student and the expert on the same held-out worlds
   (:func:`paired_evaluation`) → ``round-R/eval.json``;
4. keeps it when its paired difference from the expert beats the best kept round's by
   more than ``evaluation.min_gain``; otherwise the next round starts again from the best
   kept student.

Last, the best round's student and the first student are measured on fresh
``evaluation.confirm`` worlds: the held-out worlds chose the best round, so their figure
for it is optimistic; the confirmation's is not. ``DIR/summary.json`` holds a row per
round (``completion_rate``, ``completion_rate_expert``, ``paired_diff``, ``ci_low``,
``ci_high``, ``conflict_rate``, ``agreement_with_expert``, ``kept`` and more), the
top-level ``best_round`` and ``confirm``.

A round whose ``round.json`` exists and whose inputs (the config's, and the student it
started from) are unchanged is reused; an interrupted round's DPO resumes from its last
checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from swarm.io import atomic_write_text
from training.improve.config import ImproveConfig, as_improve

SUMMARY = "summary.json"
ROUND_FILE = "round.json"


def paired_evaluation(
    student: Any,
    cfg: ImproveConfig,
    seeds: list[int],
    *,
    expert_episodes: list | None = None,
    agreement: bool = True,
) -> dict[str, Any]:
    """The student and the expert on the same worlds ``seeds`` (one closed-loop episode
    each): the mean completion rate of each over the episodes, the paired difference
    (student − expert) with its 95 % t interval, conflict rates, and the student's
    agreement with the expert on the expert's own states."""
    from swarm.analysis.paired import paired_difference
    from swarm.experiments.agreement import policy_agreement
    from training.eval.episodes import run_episode, total

    ep = cfg.episodes
    mine = [run_episode(student, s, n_agents=ep.n_agents, steps=ep.steps) for s in seeds]
    theirs = expert_episodes or [
        run_episode(cfg.expert, s, n_agents=ep.n_agents, steps=ep.steps) for s in seeds
    ]
    rate = np.array([e["all"].completion_rate for e in mine])
    ref = np.array([e["all"].completion_rate for e in theirs])
    d = paired_difference(rate - ref)
    out = {
        "seeds": list(seeds),
        "completion_rate": float(np.nanmean(rate)),
        "completion_rate_expert": float(np.nanmean(ref)),
        "paired_diff": d["mean_diff"],
        "ci_low": d["ci_low"],
        "ci_high": d["ci_high"],
        "p": d.get("p", float("nan")),
        "conflict_rate": total(mine, "all").conflict_rate,
        "conflict_rate_expert": total(theirs, "all").conflict_rate,
        "tasks_ended": int(sum(e["all"].completed + e["all"].failed for e in mine)),
        "per_episode": [round(float(x), 4) for x in rate],
        "per_episode_expert": [round(float(x), 4) for x in ref],
    }
    if agreement:
        ev = cfg.evaluation
        ag = policy_agreement(
            student,
            reference=cfg.expert,
            seeds=ev.agreement_seeds,
            n_agents=ep.n_agents,
            steps=ev.agreement_steps,
            every=ev.agreement_every,
        )
        out["agreement_with_expert"] = ag["agreement"]
        out["agreement_by_kind"] = ag["by_kind"]
    return out


def _hash_dir(path: Path) -> str:
    from training.finetune.trainer import _sample_sha256

    h = hashlib.sha256()
    for f in sorted(path.glob("*.safetensors")):
        h.update(f.name.encode() + _sample_sha256(f).encode())
    return h.hexdigest()


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _reusable(where: Path, inputs: dict[str, Any], rebuild: bool) -> dict[str, Any] | None:
    """The round record in ``where`` when it was built from ``inputs``."""
    if rebuild:
        return None
    row = _load_json(where / ROUND_FILE)
    if isinstance(row, dict) and row.get("inputs") == inputs:
        return row
    return None


def _student_dir(cfg: ImproveConfig, out: Path) -> Path:
    """The supervised student as a model directory (an adapter is merged first)."""
    src = cfg.student_dir()
    if not (src / "adapter_config.json").is_file():
        return src
    merged = out / "round-0" / "student"
    if not (merged / "config.json").is_file():
        from training.merge import merge

        merge(src, merged)
    return merged


def _row(evaluation: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "completion_rate",
        "completion_rate_expert",
        "paired_diff",
        "ci_low",
        "ci_high",
        "p",
        "conflict_rate",
        "conflict_rate_expert",
        "agreement_with_expert",
    )
    return {k: evaluation.get(k) for k in keys}


def run_improve(
    config, out: str | Path, *, rounds: int | None = None, rebuild: bool = False
) -> Iterator[str]:
    """Run the rounds into ``out`` (see the module docstring); yields what it did."""
    from swarm.policies import make_policy
    from training.counterfactual import (
        TeamReward,
        label_departures,
        label_run,
        preference_pairs,
        write_jsonl,
    )
    from training.eval.episodes import run_episode
    from training.improve.dpo import dpo_train

    cfg = as_improve(config)
    if rounds is not None:
        cfg = cfg.model_copy(update={"rounds": rounds})
    cfg.check_seeds()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = _student_dir(cfg, out)
    settings = cfg.model_dump(mode="json", exclude={"rounds"})
    ep = cfg.episodes
    heldout = cfg.evaluation.heldout.seeds()
    t0 = time.perf_counter()
    expert_eps = [run_episode(cfg.expert, s, n_agents=ep.n_agents, steps=ep.steps) for s in heldout]
    took = time.perf_counter() - t0
    yield f"expert ({cfg.expert}) on {len(heldout)} held-out worlds in {took:.0f} s"

    summary: dict[str, Any] = {"config": settings, "rounds": []}
    students = {0: first}

    where = out / "round-0"
    inputs = {"settings": settings, "student": _hash_dir(first)}
    row = _reusable(where, inputs, rebuild)
    if row is None:
        t0 = time.perf_counter()
        ev = paired_evaluation(make_policy(f"lm:{first}"), cfg, heldout, expert_episodes=expert_eps)
        row = {"round": 0, **_row(ev), "kept": True, "student": str(first), "inputs": inputs}
        row["wall_s"] = round(time.perf_counter() - t0, 1)
        where.mkdir(parents=True, exist_ok=True)
        atomic_write_text(where / "eval.json", json.dumps(ev, indent=2))
        atomic_write_text(where / ROUND_FILE, json.dumps(row, indent=2))
    yield _line(row)
    summary["rounds"].append(row)
    best = 0

    reward = TeamReward(**cfg.labels.reward.model_dump())
    lab = cfg.labels
    for r in range(1, cfg.rounds + 1):
        where = out / f"round-{r}"
        start = students[best]
        inputs = {"settings": settings, "student": _hash_dir(start), "round": r}
        row = _reusable(where, inputs, rebuild)
        if row is None:
            where.mkdir(parents=True, exist_ok=True)
            seeds = lab.seeds.seeds(r - 1)
            t0 = time.perf_counter()
            policy = make_policy(f"lm:{start}")
            labels = []
            common = {
                "steps": ep.steps,
                "horizon": lab.horizon,
                "continuation": lab.continuation,
                "reward": reward,
                "n_agents": ep.n_agents,
                "every": lab.every,
                "worlds": lab.worlds,
            }
            for seed in seeds:
                if lab.select == "departures":
                    labels += label_departures(
                        seed, policy, expert=cfg.expert, anchors=lab.anchors, **common
                    )
                else:
                    labels += label_run(seed, policy, per_step=lab.per_step, **common)
            pairs = preference_pairs(labels, margin=lab.margin, against=lab.pairs)
            write_jsonl(where / "labels.jsonl", [x.to_json() for x in labels])
            write_jsonl(where / "pairs.jsonl", pairs)
            label_s = time.perf_counter() - t0
            yield (
                f"round {r}: {len(labels)} decisions of the student labelled on seeds "
                f"{seeds[0]}..{seeds[-1]} -> {len(pairs)} pairs in {label_s:.0f} s"
            )
            if not pairs:  # nothing to learn: the round is the student it started from
                row = {
                    "round": r,
                    **dict.fromkeys(_row({})),
                    "student": str(start),
                    "started_from": str(start),
                    "label_seeds": seeds,
                    "labels": len(labels),
                    "pairs": 0,
                    "note": f"no pair reaches margin {lab.margin}",
                    "inputs": inputs,
                }
                atomic_write_text(where / ROUND_FILE, json.dumps(row, indent=2))
                row["kept"] = False
                students[r] = start
                summary["rounds"].append(row)
                yield f"round {r}: no pair reaches margin {lab.margin}; nothing to train"
                continue
            t0 = time.perf_counter()
            report = dpo_train(pairs, start, where / "dpo", cfg.dpo, seed=cfg.seed + r)
            train_s = time.perf_counter() - t0
            yield (
                f"round {r}: DPO {report['steps']} steps on {report['train_pairs']} pairs in "
                f"{train_s:.0f} s; eval reward accuracy "
                f"{report['eval'].get('eval_rewards/accuracies', float('nan')):.2f}"
            )
            t0 = time.perf_counter()
            trained = Path(report["output"])
            ev = paired_evaluation(
                make_policy(f"lm:{trained}"), cfg, heldout, expert_episodes=expert_eps
            )
            eval_s = time.perf_counter() - t0
            atomic_write_text(where / "eval.json", json.dumps(ev, indent=2))
            row = {
                "round": r,
                **_row(ev),
                "started_from": str(start),
                "student": str(trained),
                "label_seeds": seeds,
                "labels": len(labels),
                "pairs": len(pairs),
                "dpo_steps": report["steps"],
                "dpo_eval": report["eval"],
                "label_s": round(label_s, 1),
                "train_s": round(train_s, 1),
                "eval_s": round(eval_s, 1),
                "wall_s": round(label_s + train_s + eval_s, 1),
                "inputs": inputs,
            }
            atomic_write_text(where / ROUND_FILE, json.dumps(row, indent=2))
        bar = summary["rounds"][best]["paired_diff"] + cfg.evaluation.min_gain
        diff = row["paired_diff"]
        row["kept"] = bool(diff is not None and np.isfinite(diff) and diff > bar)
        students[r] = Path(row["student"])
        if row["kept"]:
            best = r
        summary["rounds"].append(row)
        yield _line(row)
        summary["best_round"] = best
        atomic_write_text(out / SUMMARY, json.dumps(_public(summary), indent=2))

    summary["best_round"] = best
    yield from _confirm(cfg, out, students, best, summary)
    yield from _departures(cfg, out, students, best, summary)
    atomic_write_text(out / SUMMARY, json.dumps(_public(summary), indent=2))
    yield f"wrote {out / SUMMARY} (best round {best})"


def _cached(path: Path, key: dict[str, Any], compute) -> dict[str, Any]:
    """``compute()``'s result, stored in ``path`` with ``key``; reused while ``key`` holds."""
    old = _load_json(path)
    if isinstance(old, dict) and old.get("key") == key:
        return old["result"]
    result = compute()
    atomic_write_text(path, json.dumps({"key": key, "result": result}, indent=2))
    return result


def _confirm(cfg: ImproveConfig, out: Path, students, best: int, summary) -> Iterator[str]:
    """The first and the best student against the expert on the fresh confirmation
    worlds, and the best's paired gain over the first there."""
    from swarm.analysis.paired import paired_difference
    from swarm.policies import make_policy
    from training.eval.episodes import run_episode

    ep = cfg.episodes
    confirm = cfg.evaluation.confirm.seeds()
    t0 = time.perf_counter()
    expert_conf: list = []
    summary["confirm"] = {}
    rates = {}
    for r in sorted({0, best}):
        key = {
            "student": _hash_dir(students[r]),
            "seeds": confirm,
            "episodes": ep.model_dump(),
            "expert": cfg.expert,
        }

        def compute(r=r):
            if not expert_conf:
                expert_conf.extend(
                    run_episode(cfg.expert, s, n_agents=ep.n_agents, steps=ep.steps)
                    for s in confirm
                )
            return paired_evaluation(
                make_policy(f"lm:{students[r]}"),
                cfg,
                confirm,
                expert_episodes=expert_conf,
                agreement=False,
            )

        ev = _cached(out / f"confirm-round-{r}.json", key, compute)
        rates[r] = np.array(ev["per_episode"])
        summary["confirm"][f"round_{r}"] = {k: ev[k] for k in (*_row(ev), "seeds") if k in ev}
        yield (
            f"confirm round {r} on {len(confirm)} fresh worlds ({confirm[0]}..{confirm[-1]}): "
            f"student {ev['completion_rate']:.1%} vs expert {ev['completion_rate_expert']:.1%}, "
            f"diff {ev['paired_diff']:+.1%} [{ev['ci_low']:+.1%}, {ev['ci_high']:+.1%}]"
        )
    if best != 0:
        d = paired_difference(rates[best] - rates[0])
        gain = {
            "mean": d["mean_diff"],
            "ci_low": d["ci_low"],
            "ci_high": d["ci_high"],
            "p": d.get("p"),
        }
        summary["confirm"]["best_minus_first"] = gain
        yield (
            f"confirm: round {best} minus round 0 {gain['mean']:+.1%} "
            f"[{gain['ci_low']:+.1%}, {gain['ci_high']:+.1%}]"
        )
    summary["confirm_s"] = round(time.perf_counter() - t0, 1)


def _departures(cfg: ImproveConfig, out: Path, students, best: int, summary) -> Iterator[str]:
    """Where the first and the best student depart from the expert, and what it brings
    (:func:`training.improve.departures.departures`) -> ``DIR/departures.json``."""
    from training.counterfactual import TeamReward
    from training.improve.departures import departures

    dep = cfg.departures
    result = {}
    for r in sorted({0, best}):
        key = {
            "student": _hash_dir(students[r]),
            **dep.model_dump(mode="json"),
            "episodes": cfg.episodes.model_dump(),
            "reward": cfg.labels.reward.model_dump(),
        }

        def compute(r=r):
            return departures(
                f"lm:{students[r]}",
                dep.seeds.seeds(),
                expert=cfg.expert,
                n_agents=cfg.episodes.n_agents,
                steps=cfg.episodes.steps,
                every=dep.every,
                sample=dep.sample,
                horizon=dep.horizon,
                worlds=dep.worlds,
                continuation=cfg.labels.continuation,
                reward=TeamReward(**cfg.labels.reward.model_dump()),
                seed=cfg.seed,
            )

        t0 = time.perf_counter()
        result[f"round_{r}"] = d = _cached(out / f"departures-round-{r}.json", key, compute)
        se = d["se"] if d["se"] is not None else float("nan")
        yield (
            f"departures of round {r}: {d['departures']} of {d['decisions']} decisions "
            f"differ from the expert; mean gain of {d['scored']} scored "
            f"{(d['mean_gain'] or 0):+.2f} ± {se:.2f} ({time.perf_counter() - t0:.0f} s)"
        )
    atomic_write_text(out / "departures.json", json.dumps(result, indent=2))


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without the rounds' input fingerprints."""
    rows = [{k: v for k, v in row.items() if k != "inputs"} for row in summary["rounds"]]
    return {**summary, "rounds": rows}


def _line(row: dict[str, Any]) -> str:
    def pct(x: Any) -> str:
        return "n/a" if x is None or not np.isfinite(x) else f"{x:+.1%}"

    kept = "kept" if row.get("kept") else "not kept"
    if row.get("completion_rate") is None:
        return f"round {row['round']}: {row.get('note', 'not evaluated')} ({kept})"
    return (
        f"round {row['round']}: student {row['completion_rate']:.1%} vs expert "
        f"{row['completion_rate_expert']:.1%}, paired diff {pct(row['paired_diff'])} "
        f"[{pct(row['ci_low'])}, {pct(row['ci_high'])}], conflicts "
        f"{row['conflict_rate']:.1%}, agreement {row.get('agreement_with_expert') or 0:.1%} "
        f"({kept})"
    )
