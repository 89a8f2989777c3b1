"""``swarm eval run``: one policy on the frozen scenarios and in closed-loop episodes.

Writes to ``out``:

* ``report.json``, shaped like an inspect_ai eval log: ``eval`` (task, dataset, model,
  config), ``plan`` (the solver steps), ``results`` (scores with accuracy, stderr and
  95 % Wilson intervals, overall and per category; the closed-loop metrics), ``stats``
  (timestamps, model usage in tokens, latency, cost) and ``samples`` (each scenario's
  input, target, output and scores: ``C`` correct / ``I`` incorrect);
* ``report.md``, the same as tables;
* ``accuracy.png`` (per category, with intervals) and ``latency.png``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from soul.files import exclusive_beside
from swarm.interface.constitution import complies
from swarm.interface.text import render_action
from swarm.io import atomic_write_text, replace_outputs
from swarm.policies import make_policy
from training.eval.config import CATEGORIES, EvalConfig, as_eval_config
from training.eval.dataset import Scenario, load_dataset, read_manifest
from training.eval.episodes import ALL, ArmStats, Timed, run_episodes, total
from training.stats import wilson_ci

BATCH = 64
#: The files of a report directory (``swarm eval run --out``).
REPORT_OUTPUTS = ("report.json", "report.md", "accuracy.png", "latency.png")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def seeded_policy(spec, seed: int):
    """``make_policy(spec)`` with its random generator (if it has one) seeded."""
    policy = make_policy(spec)
    if hasattr(policy, "rng"):
        policy.rng = np.random.default_rng(seed)
    return policy


def decide_scenarios(
    spec, scenarios: list[Scenario], seed: int = 0, *, critique: bool = False
) -> list[dict[str, Any]]:
    """The policy's decision on every scenario: action, correct (acceptable to the
    oracle), compliant (no binding rule broken), latency and tokens."""
    from training.eval.critique import critique_and_revise

    policy = seeded_policy(spec, seed)
    if critique and not hasattr(policy, "lm"):
        raise ValueError("--critique needs a language-model policy (lm:PATH)")
    out = []
    for a in range(0, len(scenarios), BATCH):
        chunk = scenarios[a : a + BATCH]
        start = time.perf_counter()
        decisions = policy.decide([s.observation for s in chunk])
        each = (time.perf_counter() - start) / len(chunk)
        for s, d in zip(chunk, decisions, strict=True):
            row = {
                "id": s.id,
                "category": s.category,
                "action": render_action(d.action),
                "correct": d.action in s.acceptable,
                "compliant": complies(s.observation, d.action),
                # some candidate would break a binding rule: compliance counts only these
                "at_stake": any(not complies(s.observation, c) for c in s.observation.candidates),
                "latency_s": float(d.info.get("latency_s", each)),
                "input_tokens": int(d.info.get("prompt_tokens", 0))
                + int(d.info.get("candidate_tokens", 0)),
                "output_tokens": int(d.info.get("generated_tokens", 0))
                + int(d.info.get("completion_tokens", 0)),
            }
            if critique:
                row["critique"] = critique_and_revise(policy, s.observation, d)
            out.append(row)
    return out


def proportion(k: int, n: int, value: float | None = None) -> dict[str, float]:
    """A share with its standard error and 95 % Wilson interval; ``value`` (default
    ``k / n``) is the metric's own value where it defines the empty case."""
    p = k / n if n else float("nan")
    lo, hi = wilson_ci(k, n)
    se = math.sqrt(p * (1 - p) / n) if n else float("nan")
    p = p if value is None else value
    return {"value": p, "stderr": se, "ci_low": lo, "ci_high": hi, "n": n, "k": k}


def _q(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def closed_loop_metrics(t: ArmStats, price) -> dict[str, Any]:
    """Task success, compliance, coordination, latency and cost of one arm's tally."""
    return {
        "task_success": proportion(t.completed, t.completed + t.failed, t.task_success),
        "compliance": proportion(t.compliant, t.at_stake),
        "conflict_rate": proportion(t.conflicts, t.takes, t.conflict_rate),
        "handoff_success": proportion(t.handoffs_taken, t.handoffs, t.handoff_success),
        "error_rate": proportion(t.errors, t.decisions),
        "latency_s": {
            "decision_p50": _q(t.latencies, 0.5),
            "decision_p95": _q(t.latencies, 0.95),
            "step_p50": _q(t.step_seconds, 0.5),
            "step_p95": _q(t.step_seconds, 0.95),
        },
        "cost": {
            "total_usd": t.cost(price),
            "per_task_usd": t.cost_per_task(price),
            "decision_seconds": t.seconds,
            "input_tokens": t.tokens_in,
            "output_tokens": t.tokens_out,
        },
        "agents": t.agents,
        "decisions": t.decisions,
        "tasks_done": t.completed,
        "tasks_failed": t.failed,
    }


def episode_seeds(cfg: EvalConfig, episodes: int) -> range:
    return range(cfg.episodes.first_seed, cfg.episodes.first_seed + episodes)


def check_episode_seeds(cfg: EvalConfig, seeds: range, dataset: str | Path | None) -> None:
    """Episodes must not replay the training data's or the dataset's simulations."""
    from training.eval.dataset import check_disjoint, training_seeds

    used = training_seeds(cfg)
    manifest = read_manifest(dataset) if dataset is not None and Path(dataset).is_dir() else None
    if manifest is not None:
        lo, hi = manifest["seeds"]
        used |= set(range(lo, hi + 1))
    check_disjoint("closed-loop episode", seeds, used)


def evaluate(
    policy: str,
    dataset: str | Path,
    out: str | Path,
    *,
    episodes: int = 5,
    config: str | Path | dict | EvalConfig | None = None,
    critique: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate ``policy`` (a name or ``lm:PATH``); write the report files; return the
    report (see the module docstring)."""
    from swarm.policies import check_policy

    cfg = as_eval_config(config)
    check_policy(policy)
    scenarios = load_dataset(dataset)
    seeds = episode_seeds(cfg, episodes)
    check_episode_seeds(cfg, seeds, dataset)
    started = _now()
    rows = decide_scenarios(policy, scenarios, cfg.seed, critique=critique)
    ep = cfg.episodes
    tallies = run_episodes(
        lambda s: Timed(policy), seeds, n_agents=ep.n_agents, steps=ep.steps, progress=progress
    )
    summed = total(tallies, ALL)
    loop = closed_loop_metrics(summed, cfg.price_of(policy))
    loop["per_episode_task_success"] = [t[ALL].task_success for t in tallies]
    report = _report(policy, dataset, scenarios, rows, loop, cfg, episodes, critique, started)
    out = Path(out)

    def write(tmp: Path) -> None:
        atomic_write_text(tmp / "report.json", json.dumps(report, indent=2, allow_nan=True))
        atomic_write_text(tmp / "report.md", report_markdown(report))
        _plots(report, summed, tmp)

    with exclusive_beside(out, "the report directory"):
        replace_outputs(out, write, REPORT_OUTPUTS, "swarm eval run")
    return report


def _scores(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    by: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        by[r["category"]].append(bool(r[key]))
    out = {"overall": proportion(sum(r[key] for r in rows), len(rows))}
    for c in CATEGORIES:
        if by[c]:
            out[c] = proportion(sum(by[c]), len(by[c]))
    return out


def _score(name: str, scorer: str, p: dict[str, float], **extra: Any) -> dict[str, Any]:
    """One entry of ``results.scores``, in inspect_ai's shape, plus our CI and extras."""
    return {
        "name": name,
        "scorer": scorer,
        "metrics": {
            "accuracy": {"name": "accuracy", "value": p["value"]},
            "stderr": {"name": "stderr", "value": p["stderr"]},
        },
        "ci": [p["ci_low"], p["ci_high"]],
        **extra,
    }


def _report(policy, dataset, scenarios, rows, loop, cfg, episodes, critique, started):
    from swarm.policies import policy_label

    policy = policy_label(policy)  # a spec, or a policy object's name
    ds = Path(dataset)
    manifest = (read_manifest(ds) if ds.is_dir() else None) or {}
    accuracy = _scores(rows, "correct")
    compliance = _scores([r for r in rows if r.get("at_stake", True)], "compliant")
    scores = [
        _score("oracle_accuracy", "oracle", accuracy["overall"], by_category=accuracy),
        _score(
            "constitutional_compliance",
            "swarm.interface.constitution",
            compliance["overall"],
            by_category=compliance,
        ),
    ]
    plan = [{"solver": "decide", "params": {"policy": policy, "batch": BATCH}}]
    if critique:
        crit = [r["critique"] for r in rows]
        after = proportion(sum(c["compliant_after"] for c in crit), len(crit))
        flagged = [c for c in crit if c["flagged_rule"] is not None]
        broken = [c for c in crit if not c["compliant_before"]]
        scores.append(
            _score(
                "self_critique_compliance",
                "critique_and_revise",
                after,
                flag_rate=len(flagged) / len(crit),
                flag_precision=(
                    sum(not c["compliant_before"] for c in flagged) / len(flagged)
                    if flagged
                    else float("nan")
                ),
                flag_recall=(
                    sum(c["flagged_rule"] is not None for c in broken) / len(broken)
                    if broken
                    else float("nan")
                ),
            )
        )
        plan.append({"solver": "critique_and_revise", "params": {"answers": "none | rule N"}})
    tokens_in = sum(r["input_tokens"] for r in rows) + loop["cost"]["input_tokens"]
    tokens_out = sum(r["output_tokens"] for r in rows) + loop["cost"]["output_tokens"]
    lat = [r["latency_s"] for r in rows]
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "run_id": hashlib.sha256(f"{policy}|{started}".encode()).hexdigest()[:16],
            "created": started,
            "task": "swarm/decisions",
            "task_id": manifest.get("sha256", "")[:16],
            "dataset": {
                "name": "swarm-eval",
                "location": str(ds),
                "samples": len(scenarios),
                "sample_ids": [s.id for s in scenarios],
                "counts": manifest.get("counts"),
                "sha256": manifest.get("sha256"),
                "verified": bool(manifest),  # checked against its manifest when loaded
            },
            "model": policy,
            "config": {
                "episodes": episodes,
                "episode_seeds": [cfg.episodes.first_seed, cfg.episodes.first_seed + episodes - 1],
                "n_agents": cfg.episodes.n_agents,
                "steps": cfg.episodes.steps,
                "seed": cfg.seed,
                "critique": critique,
                "price": cfg.price_of(policy).model_dump(),
            },
        },
        "plan": {"name": "plan", "steps": plan, "config": {}},
        "results": {
            "total_samples": len(scenarios),
            "completed_samples": len(rows),
            "scores": scores,
            "closed_loop": loop,
        },
        "stats": {
            "started_at": started,
            "completed_at": _now(),
            "model_usage": {
                policy: {
                    "input_tokens": tokens_in,
                    "output_tokens": tokens_out,
                    "total_tokens": tokens_in + tokens_out,
                }
            },
            "scenario_latency_s": {"p50": _q(lat, 0.5), "p95": _q(lat, 0.95)},
        },
        "samples": [
            {
                "id": s.id,
                "epoch": 1,
                "input": s.record["messages"],
                "target": s.record["acceptable"],
                "output": {"completion": r["action"]},
                "scores": {
                    "oracle": {"value": "C" if r["correct"] else "I", "answer": r["action"]},
                    "constitution": {"value": "C" if r["compliant"] else "I"},
                    **({"critique": r["critique"]} if "critique" in r else {}),
                },
                "metadata": {
                    "category": s.category,
                    "seed": s.record["seed"],
                    "step": s.record["step"],
                    "rules": s.record["rules"],
                    "expert": s.record["expert"],
                    "latency_s": r["latency_s"],
                },
            }
            for s, r in zip(scenarios, rows, strict=True)
        ],
    }


def _pct(p: dict[str, float]) -> str:
    if p["n"] == 0:
        return "n/a"
    return f"{p['value']:.1%} [{p['ci_low']:.1%}, {p['ci_high']:.1%}] (n={p['n']})"


def report_markdown(report: dict[str, Any]) -> str:
    """The report's tables: accuracy and compliance per category, closed-loop metrics."""
    res = report["results"]
    acc, comp = res["scores"][0]["by_category"], res["scores"][1]["by_category"]
    lines = [
        f"# Evaluation of `{report['eval']['model']}`",
        "",
        f"Dataset: {report['eval']['dataset']['location']} "
        f"({report['eval']['dataset']['samples']} scenarios); "
        f"{report['eval']['config']['episodes']} closed-loop episodes "
        f"(seeds {report['eval']['config']['episode_seeds']}).",
        "",
        "| category | oracle accuracy [95 % CI] | compliance, decisions at stake [95 % CI] |",
        "|---|---|---|",
    ]
    for c in ("overall", *CATEGORIES):
        if c in acc:
            at_stake = _pct(comp[c]) if c in comp else "n/a (no decision at stake)"
            lines.append(f"| {c} | {_pct(acc[c])} | {at_stake} |")
    loop = res["closed_loop"]
    lat, cost = loop["latency_s"], loop["cost"]
    lines += [
        "",
        "| closed loop | value |",
        "|---|---|",
        f"| task success | {_pct(loop['task_success'])} |",
        f"| compliance | {_pct(loop['compliance'])} |",
        f"| conflict rate | {_pct(loop['conflict_rate'])} |",
        f"| handoff success | {_pct(loop['handoff_success'])} |",
        f"| error rate | {_pct(loop['error_rate'])} |",
        f"| latency per decision p50 / p95 | {lat['decision_p50'] * 1e3:.3f} / "
        f"{lat['decision_p95'] * 1e3:.3f} ms |",
        f"| latency per step p50 / p95 | {lat['step_p50'] * 1e3:.2f} / "
        f"{lat['step_p95'] * 1e3:.2f} ms |",
        f"| cost per task | ${cost['per_task_usd']:.2e} |",
        f"| tokens in / out | {cost['input_tokens']:,} / {cost['output_tokens']:,} |",
    ]
    for s in res["scores"][2:]:
        lines += [
            "",
            f"Self-critique: flags {s['flag_rate']:.1%} of decisions (precision "
            f"{s['flag_precision']:.1%}, recall {s['flag_recall']:.1%} against the rule "
            f"checks); compliance after revision {s['metrics']['accuracy']['value']:.1%}.",
        ]
    return "\n".join(lines) + "\n"


def _plots(report: dict[str, Any], tally: ArmStats, out: Path) -> None:
    import matplotlib.pyplot as plt

    from swarm.analysis.plots import save_figure

    acc = report["results"]["scores"][0]["by_category"]
    cats = [c for c in ("overall", *CATEGORIES) if c in acc]
    v = np.array([acc[c]["value"] for c in cats])
    lo = np.array([acc[c]["ci_low"] for c in cats])
    hi = np.array([acc[c]["ci_high"] for c in cats])
    err = np.clip(np.stack([v - lo, hi - v]), 0, None)  # rounding can put v a hair outside
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(cats, v, yerr=err, capsize=4, color="#4c72b0")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("oracle accuracy (95 % CI)")
    ax.set_title(report["eval"]["model"], fontsize=9)
    save_figure(fig, out / "accuracy.png")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    lat = np.array(tally.latencies) * 1e3
    ax.hist(lat[lat > 0] if (lat > 0).any() else lat, bins=40, color="#55a868")
    ax.set_xlabel("latency per decision (ms), closed loop")
    ax.set_ylabel("decisions")
    save_figure(fig, out / "latency.png")
