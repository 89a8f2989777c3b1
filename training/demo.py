"""The main job behind ``make demo``: the whole story, from data to agents.

1. curate the default training data (``experiments/curation.yaml``) → ``OUT/data``;
2. build the base model (tokenizer + ``tiny`` Llama, pretrained) → ``OUT/base``;
3. fine-tune it (``experiments/finetune_demo.yaml``) → ``OUT/finetune``;
4. ask the fine-tuned and the untuned base model about the expert's own states on
   held-out seeds (agreement with the expert);
5. run the swarm with the expert, the fine-tuned model, the untuned base model and
   random agents on the same seeds → ``OUT/swarm`` (table and plots: completion,
   conflicts, handoffs, XP);
6. the swarm-vs-single-agent benchmark (expert policy) → ``OUT/swarm_vs_single``;
7. the evaluation suite (``experiments/eval.yaml``): build the scenario dataset →
   ``OUT/eval/dataset`` and evaluate the fine-tuned model → ``OUT/eval/fine-tuned``;
8. the A/B test, fine-tuned model (20 % of agents) against the expert (control), with
   the Go/No-Go table → ``OUT/ab``.

Artefacts already built are reused (``rebuild=True`` builds them again). The seeds used
here are disjoint from the simulation seeds behind the training data (checked).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from swarm.io import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
CURATION = ROOT / "experiments" / "curation.yaml"
FINETUNE = ROOT / "experiments" / "finetune_demo.yaml"
EVAL = ROOT / "experiments" / "eval.yaml"

BASE_PRESET = "tiny"
BASE_STEPS = 200
SWARM = {"n_agents": 10, "steps": 100}
AGREEMENT = {"n_agents": 20, "steps": 60, "every": 3}
EVALUATION = {"episodes": 2, "ab_episodes": 8, "split": 0.2}


def _stage(out: Path, name: str, rebuild: bool) -> bool:
    """True when stage ``name`` must run (its marker file is missing, or rebuilding)."""
    return rebuild or not (out / name).exists()


def run_demo(
    out: str | Path,
    *,
    seed: int = 0,
    rebuild: bool = False,
    workers: int = 2,
    curation: str | Path = CURATION,
    finetune_config: str | Path = FINETUNE,
    base_steps: int = BASE_STEPS,
    swarm: dict[str, int] | None = None,
    agreement: dict[str, int] | None = None,
    bench_seeds: int = 10,
    eval_config: str | Path | dict = EVAL,
    evaluation: dict[str, Any] | None = None,
) -> Iterator[str]:
    """Run the pipeline into ``out``; yields lines saying what was done and where. The
    keyword arguments after ``workers`` size the stages (the defaults are the demo's)."""
    from swarm.config import load_yaml
    from training.base_model import build_base
    from training.data.config import load_curation
    from training.data.pipeline import curate
    from training.finetune.config import as_finetune
    from training.finetune.trainer import finetune

    out = Path(out)
    data, base, ft = out / "data", out / "base", out / "finetune"
    timings: dict[str, float] = {}
    seeds = (seed, seed + 1, seed + 2)

    cur = load_curation(curation)
    sim = cur.simulation
    train_seeds = range(sim.first_seed, sim.first_seed + sim.max_runs)
    clash = sorted(set(seeds) & set(train_seeds))
    if clash:
        raise ValueError(f"demo seeds {clash} overlap the training data's simulation seeds")

    t = time.perf_counter()
    if _stage(data, "stats.json", rebuild):
        yield f"1/8 curating training data ({Path(curation).name}) -> {data}"
        stats = curate(cur, data, progress=True)
    else:
        stats = json.loads((data / "stats.json").read_text())
        yield f"1/8 reusing curated data in {data}"
    timings["curate_s"] = time.perf_counter() - t
    yield f"    {stats['output']['train']} train / {stats['output']['eval']} eval examples"

    t = time.perf_counter()
    if _stage(base, "base_report.json", rebuild):
        yield f"2/8 building the base model ({BASE_PRESET}, {base_steps} steps) -> {base}"
        base_report = build_base(
            data, base, preset_name=BASE_PRESET, steps=base_steps, seed=seed, progress=True
        )
    else:
        base_report = json.loads((base / "base_report.json").read_text())
        yield f"2/8 reusing the base model in {base}"
    timings["base_s"] = time.perf_counter() - t
    yield (
        f"    {base_report['parameters']:,} parameters, pretraining loss "
        f"{base_report['first_loss']:.2f} -> {base_report['final_loss']:.2f}"
    )

    t = time.perf_counter()
    cfg = load_yaml(finetune_config)
    cfg.update(
        base_model=str(base),
        output_dir=str(ft),
        data={"train": str(data / "train.jsonl"), "eval": str(data / "eval.jsonl")},
        seed=seed,
    )
    cfg = as_finetune(cfg)
    if _stage(ft, "training_report.json", rebuild):
        yield f"3/8 fine-tuning ({Path(finetune_config).name}) -> {ft}"
        if rebuild and ft.exists():
            # the demo's own run, rebuilt on new data and a new base: its old checkpoints
            # are another run's, which the trainer (rightly) refuses to replace
            shutil.rmtree(ft)
        report = finetune(cfg, progress=True)
    else:
        report = json.loads((ft / "training_report.json").read_text())
        yield f"3/8 reusing the fine-tuned model in {ft}"
    timings["finetune_s"] = time.perf_counter() - t
    tuned = Path(report["output"])
    ev = report.get("eval") or {}
    yield (
        f"    {report['method']}, {report['steps']} steps, {report['tokens']:,} tokens; "
        f"eval loss {ev.get('eval_loss', float('nan')):.3f}, next-action accuracy "
        f"{ev.get('next_action_accuracy') or 0:.1%}"
    )

    sizes = {
        "swarm": swarm or SWARM,
        "agreement": agreement or AGREEMENT,
        "bench_seeds": bench_seeds,
    }
    summary: dict[str, Any] = {}
    yield from _closed_and_open_loop(
        out, tuned, base, seeds, timings, workers, report, sizes, summary
    )
    ev_cfg = dict(eval_config) if isinstance(eval_config, dict) else load_yaml(eval_config)
    ev_cfg["curation"] = str(curation)  # the seeds to avoid are this run's training seeds
    yield from _evaluation(out, tuned, data, ev_cfg, evaluation or EVALUATION, timings, summary)
    summary["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    yield (
        f"fine-tuned vs expert: agreement {summary['agreement_with_expert']['fine-tuned']:.1%} "
        f"(target 90 %), completion ratio "
        f"{summary['completion_ratio_fine_tuned_vs_expert']:.2f} (target 0.90); untuned "
        f"base: {summary['agreement_with_expert']['base (untuned)']:.1%}; A/B decision: "
        f"{summary['ab']['decision']}"
    )
    yield (
        f"summary: {out / 'summary.json'}; policy table and plots: {out}/swarm/comparison.*; "
        f"evaluation: {out}/eval/fine-tuned/report.md; A/B: {out}/ab/ab.md"
    )


def _closed_and_open_loop(
    out: Path,
    tuned: Path,
    base: Path,
    seeds: tuple[int, ...],
    timings: dict[str, float],
    workers: int,
    report: dict[str, Any],
    sizes: dict[str, Any],
    summary: dict[str, Any],
) -> Iterator[str]:
    from swarm.experiments.agreement import policy_agreement
    from swarm.experiments.policy_comparison import compare_policies
    from swarm.experiments.swarm_vs_single import BenchConfig, swarm_vs_single

    t = time.perf_counter()
    yield f"4/8 agreement with the expert on held-out seeds {list(seeds)}"
    agreement = {}
    for label, spec in (("fine-tuned", f"lm:{tuned}"), ("base (untuned)", f"lm:{base}")):
        agreement[label] = policy_agreement(spec, seeds=seeds, **sizes["agreement"])
        a = agreement[label]
        yield (
            f"    {label}: {a['agreement']:.1%} of {a['decisions']} decisions "
            f"(balanced over the expert's action kinds: {a['balanced_agreement']:.1%})"
        )
    timings["agreement_s"] = time.perf_counter() - t

    t = time.perf_counter()
    policies = {
        "expert": "heuristic",
        "fine-tuned": f"lm:{tuned}",
        "base (untuned)": f"lm:{base}",
        "random": "random",
    }
    swarm_out = out / "swarm"
    yield (
        f"5/8 the swarm with each policy: {', '.join(policies)} "
        f"({sizes['swarm']['n_agents']} agents, {sizes['swarm']['steps']} steps, "
        f"seeds {list(seeds)})"
    )
    table = compare_policies(
        swarm_out, policies=policies, seeds=seeds, souls_for="fine-tuned", **sizes["swarm"]
    )
    timings["swarm_s"] = time.perf_counter() - t
    yield (swarm_out / "comparison.md").read_text()
    rate = dict(zip(table["policy"], table["completion_rate"], strict=True))
    ratio = rate["fine-tuned"] / rate["expert"] if rate["expert"] else float("nan")

    t = time.perf_counter()
    bench = out / "swarm_vs_single"
    if sizes["bench_seeds"]:
        cfg = BenchConfig(seeds=sizes["bench_seeds"], first_seed=seeds[0])
        yield f"6/8 swarm vs single agent (expert policy, {cfg.seeds} seeds) -> {bench}"
        swarm_vs_single(bench, cfg, workers=workers)
        timings["swarm_vs_single_s"] = time.perf_counter() - t
        yield (bench / "table.md").read_text()
        lines = (bench / "paired.md").read_text().splitlines()
        yield "\n".join([*lines[:2], *(ln for ln in lines[2:] if "(primary)" in ln)])
    else:
        yield "6/8 swarm vs single agent: skipped (bench_seeds=0)"

    summary.update(
        {
            "agreement_with_expert": {k: v["agreement"] for k, v in agreement.items()},
            "balanced_agreement": {k: v["balanced_agreement"] for k, v in agreement.items()},
            "agreement_by_kind": {k: v["by_kind"] for k, v in agreement.items()},
            "completion_rate": rate,
            "completion_ratio_fine_tuned_vs_expert": ratio,
            "next_action_accuracy": (report.get("eval") or {}).get("next_action_accuracy"),
            "targets": {"agreement": 0.9, "completion_ratio": 0.9},
            "seeds": list(seeds),
        }
    )
    if sizes["bench_seeds"]:
        yield f"swarm vs single: {bench}/table.md, {bench}/bench_*.png"


def _evaluation(
    out: Path,
    tuned: Path,
    data: Path,
    eval_config: str | Path | dict,
    sizes: dict[str, Any],
    timings: dict[str, float],
    summary: dict[str, Any],
) -> Iterator[str]:
    from training.eval.ab import ab_test
    from training.eval.dataset import build_dataset
    from training.eval.report import evaluate

    t = time.perf_counter()
    dataset = out / "eval" / "dataset"
    yield f"7/8 evaluation: scenario dataset -> {dataset}; the fine-tuned model"
    manifest = build_dataset(dataset, eval_config, training_data=data, progress=True)
    yield (
        f"    {manifest['scenarios']} scenarios {manifest['counts']}, seeds "
        f"{manifest['seeds'][0]}..{manifest['seeds'][1]} (training seeds "
        f"{manifest['training_seed_range']} avoided)"
    )
    rep = evaluate(
        f"lm:{tuned}",
        dataset,
        out / "eval" / "fine-tuned",
        episodes=sizes["episodes"],
        config=eval_config,
        progress=True,
    )
    yield (out / "eval" / "fine-tuned" / "report.md").read_text()
    timings["evaluation_s"] = time.perf_counter() - t

    t = time.perf_counter()
    yield (
        f"8/8 A/B test: fine-tuned ({sizes['split']:.0%} of agents) vs expert (control), "
        f"{sizes['ab_episodes']} episodes -> {out / 'ab'}"
    )
    ab = ab_test(
        "heuristic",
        f"lm:{tuned}",
        out / "ab",
        split=sizes["split"],
        episodes=sizes["ab_episodes"],
        dataset=dataset,
        config=eval_config,
        progress=True,
    )
    timings["ab_s"] = time.perf_counter() - t
    yield (out / "ab" / "ab.md").read_text()
    summary["evaluation"] = {
        "oracle_accuracy": {
            k: v["value"] for k, v in rep["results"]["scores"][0]["by_category"].items()
        },
        "task_success": rep["results"]["closed_loop"]["task_success"]["value"],
    }
    summary["ab"] = {
        "decision": ab["decision"],
        "go_no_go": {g["criterion"]: g["pass"] for g in ab["go_no_go"]},
    }
