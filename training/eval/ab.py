"""``swarm ab``: an A/B test with a traffic split inside the same simulations, and the
spec's Go/No-Go table.

Each episode runs one swarm in which every agent is assigned to an arm by a seeded hash
of its id (:class:`swarm.policies.split.SplitPolicy`, default 80 % control, 20 % test;
the hash seed is the episode's seed). The meter (:mod:`training.eval.episodes`) accounts
each decision, conflict and task to its arm. The arms are compared on task success,
compliance, conflicts and errors (difference with a Newcombe interval and a pooled
z-test), latency (Welch interval and test, and Mann–Whitney, over per-step latencies) and
cost per task (Welch over per-episode values; the reduction from the pooled totals). With
a scenario dataset, both policies also answer every scenario: McNemar's exact test compares
the paired outcomes, and quality parity then needs non-inferiority on the scenarios
(paired difference) as well as on task success in the swarm.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as sps

from soul.files import exclusive_beside
from swarm.io import atomic_write_text, replace_outputs
from training import stats
from training.eval.config import EvalConfig, as_eval_config
from training.eval.episodes import Timed, run_episodes, total
from training.eval.report import (
    check_episode_seeds,
    closed_loop_metrics,
    decide_scenarios,
    episode_seeds,
)

ARMS = ("control", "test")
RATES = ("task_success", "compliance", "conflict_rate", "error_rate")


def _rate_diff(test: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    if not (test["n"] and control["n"]):
        return {"diff": float("nan"), "ci": [float("nan")] * 2, "p": float("nan")}
    d, lo, hi = stats.proportion_diff_ci(test["k"], test["n"], control["k"], control["n"])
    _, p = stats.two_proportion_ztest(test["k"], test["n"], control["k"], control["n"])
    return {"diff": d, "ci": [lo, hi], "p": p, "test": "two-proportion z; Newcombe CI"}


def _mean_diff(test: list[float], control: list[float]) -> dict[str, Any]:
    a, b = np.asarray(test, float), np.asarray(control, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return {"diff": float("nan"), "ci": [float("nan")] * 2, "p": float("nan")}
    res = sps.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    _, p_mw = stats.mann_whitney(a, b)
    return {
        "diff": float(a.mean() - b.mean()),
        "ci": [float(ci.low), float(ci.high)],
        "p": float(res.pvalue),
        "p_mann_whitney": p_mw,
        "test": "Welch t (CI), Mann-Whitney",
    }


def ab_test(
    control: str,
    test: str,
    out: str | Path,
    *,
    split: float = 0.2,
    episodes: int = 10,
    dataset: str | Path | None = None,
    config: str | Path | dict | EvalConfig | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run the A/B test; write ``ab.json`` and ``ab.md`` to ``out``; return the result."""
    from swarm.policies import check_policy, policy_label
    from swarm.policies.split import SplitPolicy
    from training.eval.dataset import load_dataset

    cfg = as_eval_config(config)
    for spec in (control, test):
        check_policy(spec)
    if not 0 < split < 1:
        raise ValueError(f"--split must lie strictly between 0 and 1, got {split}")
    seeds = episode_seeds(cfg, episodes)
    check_episode_seeds(cfg, seeds, dataset)
    ep = cfg.episodes
    tallies = run_episodes(
        lambda s: SplitPolicy(Timed(control), Timed(test), split=split, seed=s),
        seeds,
        n_agents=ep.n_agents,
        steps=ep.steps,
        progress=progress,
        label="A/B episodes",
    )
    specs = {"control": control, "test": test}
    prices = {arm: cfg.price_of(specs[arm]) for arm in ARMS}
    tot = {arm: total(tallies, arm) for arm in ARMS}
    arms = {arm: closed_loop_metrics(tot[arm], prices[arm]) for arm in ARMS}
    for arm in ARMS:
        arms[arm]["policy"] = policy_label(specs[arm])
    per_ep_cost = {
        arm: [t[arm].cost_per_task(prices[arm]) for t in tallies if arm in t] for arm in ARMS
    }
    comparison = {m: _rate_diff(arms["test"][m], arms["control"][m]) for m in RATES}
    comparison["latency_s"] = _mean_diff(tot["test"].step_latencies, tot["control"].step_latencies)
    comparison["cost_per_task_usd"] = _mean_diff(per_ep_cost["test"], per_ep_cost["control"])
    paired = None
    if dataset is not None:
        scenarios = load_dataset(dataset)
        rows = {arm: decide_scenarios(specs[arm], scenarios, cfg.seed) for arm in ARMS}
        both = list(zip(rows["control"], rows["test"], strict=True))
        b = sum(c["correct"] and not t["correct"] for c, t in both)
        c_ = sum(t["correct"] and not c["correct"] for c, t in both)
        diff, lo, hi = stats.paired_proportion_diff_ci(b, c_, len(both))
        paired = {
            "scenarios": len(both),
            "diff": diff,
            "ci": [lo, hi],
            "accuracy": {arm: float(np.mean([r["correct"] for r in rows[arm]])) for arm in ARMS},
            "only_control_correct": b,
            "only_test_correct": c_,
            "p_mcnemar": stats.mcnemar_exact(b, c_),
        }
    result = {
        "control": policy_label(control),
        "test": policy_label(test),
        "split": split,
        "episodes": episodes,
        "episode_seeds": [seeds[0], seeds[-1]],
        "n_agents": ep.n_agents,
        "steps": ep.steps,
        "arms": arms,
        "comparison": comparison,
        "paired": paired,
        "go_no_go": go_no_go(arms, comparison, paired, cfg),
    }
    result["decision"] = "GO" if all(r["pass"] for r in result["go_no_go"]) else "NO-GO"
    ctl = arms["control"]["task_success"]["value"]
    if 0 < ctl < 1:
        margin = cfg.thresholds.parity_margin
        result["tasks_per_arm_to_detect_margin"] = stats.sample_size_two_proportions(
            ctl, max(ctl - margin, 1e-6)
        )
    out = Path(out)

    def write(tmp: Path) -> None:
        atomic_write_text(tmp / "ab.json", json.dumps(result, indent=2))
        atomic_write_text(tmp / "ab.md", ab_markdown(result))

    with exclusive_beside(out, "the A/B directory"):
        replace_outputs(out, write, ("ab.json", "ab.md"), "swarm ab")
    return result


def _ev(p: dict[str, Any]) -> str:
    if not p["n"]:
        return "no trials"
    return f"{p['k']}/{p['n']} = {p['value']:.1%} [{p['ci_low']:.1%}, {p['ci_high']:.1%}]"


def go_no_go(arms, comparison, paired, cfg: EvalConfig) -> list[dict[str, Any]]:
    """The spec's criteria for the test arm, each with its evidence and PASS or FAIL."""
    th = cfg.thresholds
    t, c = arms["test"], arms["control"]
    cost_t, cost_c = t["cost"]["per_task_usd"], c["cost"]["per_task_usd"]
    reduction = 1 - cost_t / cost_c if cost_c and math.isfinite(cost_c) else float("nan")
    lat = t["latency_s"]["decision_p95"]
    ok, diff, lower = (False, float("nan"), float("nan"))
    ts, cs = t["task_success"], c["task_success"]
    if ts["n"] and cs["n"]:
        ok, diff, lower = stats.non_inferior(
            ts["k"], ts["n"], cs["k"], cs["n"], margin=th.parity_margin
        )
    parity = (
        f"success diff {diff:+.1%}, 95 % lower bound {lower:+.1%} vs margin -{th.parity_margin:.0%}"
    )
    if paired:  # parity must hold on the paired scenarios too
        ok = ok and paired["ci"][0] > -th.parity_margin
        parity += (
            f"; scenarios: test {paired['accuracy']['test']:.1%} vs control "
            f"{paired['accuracy']['control']:.1%}, diff {paired['diff']:+.1%} (lower bound "
            f"{paired['ci'][0]:+.1%}), McNemar p={paired['p_mcnemar']:.3g}"
        )

    def row(name, threshold, value, passed, evidence):
        passed = bool(passed) and not (isinstance(value, float) and math.isnan(value))
        return {
            "criterion": name,
            "threshold": threshold,
            "measured": value,
            "pass": passed,
            "evidence": evidence,
        }

    def rate_row(name, key, threshold, above=False):
        v = t[key]["value"]
        passed = v > threshold if above else v < threshold
        return row(name, f"{'>' if above else '<'} {threshold:.0%}", v, passed, _ev(t[key]))

    return [
        row(
            "task success",
            f"> {th.task_success:.0%}",
            ts["value"],
            ts["value"] > th.task_success,
            _ev(ts),
        ),
        rate_row("constitutional compliance", "compliance", th.compliance, above=True),
        rate_row("conflict rate", "conflict_rate", th.conflict_rate),
        row(
            "latency (p95 per decision)",
            f"< {th.latency_s:g} s",
            lat,
            lat < th.latency_s,
            f"p50 {t['latency_s']['decision_p50'] * 1e3:.2f} ms, p95 {lat * 1e3:.2f} ms",
        ),
        row(
            "cost per task",
            f"< ${th.cost_per_task:g}",
            cost_t,
            cost_t < th.cost_per_task,
            f"${cost_t:.3g} ({t['tasks_done']} tasks, {t['cost']['decision_seconds']:.1f} "
            f"decision-s, {t['cost']['input_tokens']:,} tokens)",
        ),
        row(
            "cost reduction vs control",
            f"> {th.cost_reduction:.0%}",
            reduction,
            reduction > th.cost_reduction,
            f"test ${cost_t:.3g} vs control ${cost_c:.3g} per task",
        ),
        rate_row("error rate", "error_rate", th.error_rate),
        row(
            "quality parity (non-inferiority)",
            f"margin {th.parity_margin:.0%}",
            diff,
            ok,
            parity,
        ),
    ]


def _fmt(v: float, pct: bool) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.1%}" if pct else f"{v:.3g}"


def ab_markdown(r: dict[str, Any]) -> str:
    """Arms side by side, the differences, and the Go/No-Go table."""
    a = r["arms"]
    lines = [
        f"# A/B test: `{r['test']}` (test, {r['split']:.0%}) vs `{r['control']}` (control)",
        "",
        f"{r['episodes']} episodes (seeds {r['episode_seeds']}), {r['n_agents']} agents, "
        f"{r['steps']} steps; agent-episodes per arm: control {a['control']['agents']}, "
        f"test {a['test']['agents']}. An arm's task success counts the tasks its agents "
        "took that were finished (rather than failed).",
        "",
        "| metric | control | test | test − control [95 % CI] | p |",
        "|---|---|---|---|---|",
    ]
    for m in ("task_success", "compliance", "conflict_rate", "error_rate"):
        d = r["comparison"][m]
        lines.append(
            f"| {m.replace('_', ' ')} | {_fmt(a['control'][m]['value'], True)} | "
            f"{_fmt(a['test'][m]['value'], True)} | {_fmt(d['diff'], True)} "
            f"[{_fmt(d['ci'][0], True)}, {_fmt(d['ci'][1], True)}] | {_fmt(d['p'], False)} |"
        )
    d = r["comparison"]["latency_s"]
    lines.append(
        f"| latency per decision (mean of steps, ms) | "
        f"{a['control']['latency_s']['decision_p50'] * 1e3:.3g} (p50) | "
        f"{a['test']['latency_s']['decision_p50'] * 1e3:.3g} (p50) | "
        f"{_fmt(d['diff'] * 1e3, False)} [{_fmt(d['ci'][0] * 1e3, False)}, "
        f"{_fmt(d['ci'][1] * 1e3, False)}] | {_fmt(d['p'], False)} |"
    )
    d = r["comparison"]["cost_per_task_usd"]
    lines.append(
        f"| cost per task ($) | {_fmt(a['control']['cost']['per_task_usd'], False)} | "
        f"{_fmt(a['test']['cost']['per_task_usd'], False)} | {_fmt(d['diff'], False)} "
        f"[{_fmt(d['ci'][0], False)}, {_fmt(d['ci'][1], False)}] | {_fmt(d['p'], False)} |"
    )
    if r["paired"]:
        p = r["paired"]
        lines += [
            "",
            f"Paired on {p['scenarios']} scenarios: control {p['accuracy']['control']:.1%}, "
            f"test {p['accuracy']['test']:.1%} acceptable; only control right "
            f"{p['only_control_correct']}, only test right {p['only_test_correct']}; "
            f"McNemar exact p = {p['p_mcnemar']:.3g}.",
        ]
    lines += [
        "",
        f"## Go/No-Go: **{r['decision']}**",
        "",
        "| criterion | threshold | measured | verdict | evidence |",
        "|---|---|---|---|---|",
    ]
    for g in r["go_no_go"]:
        v = g["measured"]
        shown = (
            f"${v:.3g}"
            if g["criterion"] == "cost per task"
            else _fmt(v, "latency" not in g["criterion"])
        )
        if "latency" in g["criterion"] and isinstance(v, float):
            shown = f"{v:.3g} s"
        lines.append(
            f"| {g['criterion']} | {g['threshold']} | {shown} | "
            f"{'PASS' if g['pass'] else 'FAIL'} | {g['evidence']} |"
        )
    return "\n".join(lines) + "\n"
