"""The spec's Phase 2 loop, offline: a served teacher, its transcripts, a distilled
student, and the A/B test with the teacher as the control (``swarm distill``).

1. **Expert data**: the expert's curated decisions (``expert.curation``), reused from an
   earlier run (``expert.reuse``, e.g. ``runs/demo``) when it holds the same data;
2. **Teacher**: a base model of a larger preset than the student's, pretrained and
   fine-tuned on the expert data, then served on loopback by ``swarm serve``
   (:func:`swarm.apps.serve.make_app`) and driven over HTTP by the ``openai:`` policy,
   priced per token as a hosted API (``teacher.openai.price``: example prices). With
   ``teacher.openai.base_url`` set, the recipe uses that endpoint instead and trains and
   serves nothing: on a real deployment only that line changes;
3. **Transcripts**: the teacher's swarm on the curation's seeds with
   :class:`swarm.experiments.transcripts.TranscriptRecorder` on;
4. **Student data**: ``swarm data curate`` on the transcripts (decisions whose task
   failed, that conflicted or whose answer was unusable filtered out) mixed with the
   sources of ``student.curation``;
5. **Student**: the student preset's base model (pretrained on the expert corpus without
   its answers: every decision it learns is the teacher's) fine-tuned on that data, run in
   process with ``lm:``;
6. **Table**: teacher, student, expert and random on the same held-out worlds: agreement
   with the expert, closed-loop completion per paired episode with its 95 % interval and
   the paired difference from the teacher, and cost per task;
7. **A/B**: :func:`training.eval.ab.ab_test` with the teacher as control (over HTTP) and
   the student as test, paired scenarios too; the Go/No-Go table against the teacher.

Each stage's outputs are reused when present (``rebuild=True`` builds them again). The
episode and scenario seeds are disjoint from every training seed (checked).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from swarm.config import ConfigError, coerce, load_yaml
from swarm.io import atomic_write_text
from swarm.policies.chat import ChatSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Expert(_Strict):
    curation: str = "experiments/curation.yaml"
    reuse: str | None = Field(
        "runs/demo",
        description="a directory whose data/ and base/ (the demo's) are reused when they were "
        "built from the same curation config and the student's preset",
    )


class Teacher(_Strict):
    openai: ChatSettings = Field(
        default_factory=lambda: ChatSettings(model="teacher"),
        description="how agents reach the teacher (the openai: policy block); base_url null: "
        "train our own and serve it on loopback",
    )
    preset: str = "mini"
    base_steps: int = Field(200, ge=1)
    finetune: str | dict[str, Any] = "experiments/finetune_demo.yaml"


class Transcripts(_Strict):
    runs: int = Field(6, ge=1)
    n_agents: int = Field(20, ge=1)
    steps: int = Field(100, ge=1)
    every: int = Field(2, ge=1, description="record every this many steps")
    first_seed: int | None = Field(None, description="default: the curation's first seed")


class Student(_Strict):
    preset: str = "tiny"
    base_steps: int = Field(200, ge=1)
    finetune: str | dict[str, Any] = "experiments/finetune_demo.yaml"
    transcripts: dict[str, Any] = Field(
        default_factory=lambda: {"unknown_outcome": "keep"},
        description="settings of the teacher-transcripts source (a curation source)",
    )
    curation: dict[str, Any] = Field(
        default_factory=dict,
        description="the rest of the student's curation config: more sources, filters, ...",
    )


class Agreement(_Strict):
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    n_agents: int = Field(20, ge=1)
    steps: int = Field(60, ge=1)
    every: int = Field(3, ge=1)


class Evaluation(_Strict):
    config: str | dict[str, Any] = "experiments/eval.yaml"
    agreement: Agreement = Field(default_factory=Agreement)
    episodes: int = Field(6, ge=2, description="paired closed-loop episodes for the table")
    ab_episodes: int = Field(6, ge=1)
    split: float = Field(0.2, gt=0, lt=1)


class DistillConfig(_Strict):
    seed: int = 0
    expert: Expert = Field(default_factory=Expert)
    teacher: Teacher = Field(default_factory=Teacher)
    transcripts: Transcripts = Field(default_factory=Transcripts)
    student: Student = Field(default_factory=Student)
    evaluation: Evaluation = Field(default_factory=Evaluation)

    def student_curation(self, transcripts: Path):
        """The student's curation config: the teacher's transcripts first, then the rest."""
        from training.data.config import as_config

        rest = dict(self.student.curation)
        source = {
            "kind": "transcripts",
            "name": "teacher-transcripts",
            "path": str(transcripts / "seed-*.jsonl"),
            "format": "openai",
            **self.student.transcripts,
        }
        rest["sources"] = [source, *rest.get("sources", [])]
        rest.setdefault("seed", self.seed)
        return as_config(rest)


def as_distill(config) -> DistillConfig:
    return coerce(DistillConfig, config, "distill config")


#: Each stage's inputs, written beside its outputs: a stage whose inputs changed (or any
#: stage upstream of it) is built again, never silently reused.
STAGE_FILE = "recipe_inputs.json"


def _stale(where: Path, inputs: dict[str, Any], rebuild: bool) -> bool:
    """Whether the stage writing ``where`` must run: rebuilding, never built, or built
    from other inputs."""
    f = where / STAGE_FILE
    if rebuild or not f.is_file():
        return True
    try:
        return json.loads(f.read_text(encoding="utf-8")) != _plain(inputs)
    except ValueError:
        return True


def _built(where: Path, inputs: dict[str, Any]) -> None:
    atomic_write_text(where / STAGE_FILE, json.dumps(_plain(inputs), sort_keys=True))


def _plain(inputs: dict[str, Any]) -> Any:
    return json.loads(json.dumps(inputs, sort_keys=True, default=str))


def _finetune_config(spec, base: Path, data: Path, out: Path, seed: int):
    from training.finetune.config import as_finetune

    cfg = dict(spec) if isinstance(spec, dict) else load_yaml(spec)
    cfg.update(
        base_model=str(base),
        output_dir=str(out),
        data={"train": str(data / "train.jsonl"), "eval": str(data / "eval.jsonl")},
        seed=seed,
    )
    return as_finetune(cfg)


def _trained(spec, base: Path, data: Path, out: Path, seed: int, upstream, rebuild: bool):
    """The fine-tuned model directory, the stage's inputs and whether it was trained now
    (when stale)."""
    from training.finetune.trainer import finetune

    cfg = _finetune_config(spec, base, data, out, seed)
    inputs = {"upstream": upstream, "finetune": cfg.model_dump(mode="json")}
    stale = _stale(out, inputs, rebuild)
    if stale:
        if out.exists():
            shutil.rmtree(out)  # this recipe's own run, rebuilt on new data or a new base
        report = finetune(cfg, progress=True)
        _built(out, inputs)
    else:
        report = json.loads((out / "training_report.json").read_text())
    return Path(report["output"]), inputs, stale


def _base(data: Path, out: Path, preset: str, steps: int, seed: int, upstream, rebuild: bool):
    """The base model's report and the stage's inputs (built when stale)."""
    from training.base_model import build_base

    inputs = {"upstream": upstream, "preset": preset, "steps": steps, "seed": seed}
    if not _stale(out, inputs, rebuild):
        return json.loads((out / "base_report.json").read_text()), inputs
    report = build_base(data, out, preset_name=preset, steps=steps, seed=seed, progress=True)
    _built(out, inputs)
    return report, inputs


def _reused_data(cfg: DistillConfig, want: dict[str, Any]) -> Path | None:
    """``expert.reuse``/data when it was curated from the same config."""
    if cfg.expert.reuse is None:
        return None
    stats = Path(cfg.expert.reuse) / "data" / "stats.json"
    if stats.is_file() and json.loads(stats.read_text()).get("config") == want:
        return stats.parent
    return None


def _reused_base(cfg: DistillConfig, data: Path) -> Path | None:
    """``expert.reuse``/base when it was pretrained on ``data`` with the student's preset,
    steps and seed."""
    if cfg.expert.reuse is None:
        return None
    report = Path(cfg.expert.reuse) / "base" / "base_report.json"
    if not report.is_file():
        return None
    r = json.loads(report.read_text())
    same = (r.get("preset"), r.get("steps"), r.get("seed")) == (
        cfg.student.preset,
        cfg.student.base_steps,
        cfg.seed,
    )
    return report.parent if same and Path(r.get("data", "")).resolve() == data.resolve() else None


def run_distill(config, out: str | Path, *, rebuild: bool = False) -> Iterator[str]:
    """Run the recipe into ``out``; yields lines saying what was done and where; ends
    with the Go/No-Go table. ``summary.json`` holds the figures."""
    from training.data.config import load_curation
    from training.data.pipeline import curate

    cfg = as_distill(config)
    out = Path(out)
    timings: dict[str, float] = {}
    cur = load_curation(cfg.expert.curation)
    first = cfg.transcripts.first_seed
    first = cur.simulation.first_seed if first is None else first
    transcript_seeds = list(range(first, first + cfg.transcripts.runs))
    ev_cfg = _eval_config(cfg)
    _check_seeds(cfg, ev_cfg, transcript_seeds)
    hosted = cfg.teacher.openai.base_url is not None
    out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    expert_inputs = {"curation": cur.model_dump(mode="json")}
    data = None if rebuild else _reused_data(cfg, expert_inputs["curation"])
    if data is not None:
        yield f"1/8 expert data: reusing {data} (curated from the same config)"
    else:
        data = out / "expert_data"
        if _stale(data, expert_inputs, rebuild):
            yield f"1/8 curating the expert's data ({cfg.expert.curation}) -> {data}"
            curate(cur, data, progress=True)
            _built(data, expert_inputs)
        else:
            yield f"1/8 expert data: reusing {data}"
    timings["expert_data_s"] = time.perf_counter() - t

    t = time.perf_counter()
    teacher_dir, cache = None, out / "teacher" / "cache"
    if hosted:
        s = cfg.teacher.openai
        teacher_inputs: dict[str, Any] = {"hosted": s.model_dump(mode="json")}
        yield f"2/8 teacher: the hosted endpoint {s.base_url} (nothing trained)"
    else:
        tb, tf = out / "teacher" / "base", out / "teacher" / "finetune"
        yield f"2/8 teacher: a {cfg.teacher.preset} base -> {tb}, fine-tuned on the expert -> {tf}"
        p = cfg.teacher
        rep, base_inputs = _base(data, tb, p.preset, p.base_steps, cfg.seed, expert_inputs, rebuild)
        yield f"    {rep['parameters']:,} parameters (the student's preset: {cfg.student.preset})"
        teacher_dir, teacher_inputs, fresh = _trained(
            p.finetune, tb, data, tf, cfg.seed, base_inputs, rebuild
        )
        if fresh:  # an earlier teacher's answers must never replay
            shutil.rmtree(cache, ignore_errors=True)
        teacher_inputs = {"model": teacher_inputs, "model_id": p.openai.model}
    timings["teacher_s"] = time.perf_counter() - t

    summary: dict[str, Any] = {"teacher": cfg.teacher.openai.model}
    with _served(cfg, teacher_dir, cache) as teacher:
        t = time.perf_counter()
        trans = out / "transcripts"
        yield (
            f"3/8 the teacher's swarm on the curation's seeds {transcript_seeds[0]}.."
            f"{transcript_seeds[-1]} ({cfg.transcripts.n_agents} agents, "
            f"{cfg.transcripts.steps} steps), transcripts -> {trans}"
        )
        trans_inputs = {"teacher": teacher_inputs, "transcripts": cfg.transcripts.model_dump()}
        if _stale(trans, trans_inputs, rebuild):
            shutil.rmtree(trans, ignore_errors=True)
            yield from _transcripts(cfg, teacher, trans, transcript_seeds)
            _built(trans, trans_inputs)
        else:
            yield f"    reusing the {len(transcript_seeds)} recorded runs in {trans}"
        timings["transcripts_s"] = time.perf_counter() - t

        t = time.perf_counter()
        sdata = out / "student_data"
        scur = cfg.student_curation(trans)
        sdata_inputs = {"upstream": trans_inputs, "curation": scur.model_dump(mode="json")}
        if _stale(sdata, sdata_inputs, rebuild):
            yield f"4/8 curating the student's data (the teacher's transcripts) -> {sdata}"
            stats = curate(scur, sdata, progress=True)
            _built(sdata, sdata_inputs)
        else:
            stats = json.loads((sdata / "stats.json").read_text())
            yield f"4/8 student data: reusing {sdata}"
        src = stats["sources"]["teacher-transcripts"]
        yield (
            f"    {src['records_read']} teacher decisions read, {src['records_kept']} kept "
            f"({dict(src['record_reasons'])}); {stats['output']['train']} train / "
            f"{stats['output']['eval']} eval examples"
        )
        summary["student_data"] = {
            "decisions_read": src["records_read"],
            "decisions_kept": src["records_kept"],
            "reasons": src["record_reasons"],
            "train": stats["output"]["train"],
            "eval": stats["output"]["eval"],
        }
        timings["student_data_s"] = time.perf_counter() - t

        t = time.perf_counter()
        sbase = None if rebuild else _reused_base(cfg, data)
        st = cfg.student
        if sbase is not None:
            sbase_inputs: dict[str, Any] = {"reused": str(sbase)}
        else:
            sbase = out / "student" / "base"
            _, sbase_inputs = _base(
                data, sbase, st.preset, st.base_steps, cfg.seed, expert_inputs, rebuild
            )
        yield f"5/8 student: the {st.preset} base {sbase}, fine-tuned on the teacher's data"
        student, _, _ = _trained(
            st.finetune,
            sbase,
            sdata,
            out / "student" / "finetune",
            cfg.seed,
            {"base": sbase_inputs, "data": sdata_inputs},
            rebuild,
        )
        timings["student_s"] = time.perf_counter() - t

        t = time.perf_counter()
        policies = {
            "teacher": teacher,
            "student": f"lm:{student}",
            "expert": "heuristic",
            "random": "random",
        }
        yield (
            f"6/8 teacher, student, expert and random on {cfg.evaluation.episodes} paired "
            f"held-out episodes (seeds from {ev_cfg.episodes.first_seed}) and agreement "
            f"with the expert on seeds {cfg.evaluation.agreement.seeds}"
        )
        table = policy_table(policies, cfg, ev_cfg)
        atomic_write_text(out / "table.json", json.dumps(table, indent=2))
        atomic_write_text(out / "table.md", table_markdown(table))
        yield (out / "table.md").read_text()
        summary["table"] = table
        timings["table_s"] = time.perf_counter() - t

        t = time.perf_counter()
        yield from _ab(cfg, ev_cfg, teacher, student, sdata, out, summary)
        timings["ab_s"] = time.perf_counter() - t
        summary["teacher_stats"] = dict(teacher.stats)
    summary["timings_s"] = {k: round(v, 1) for k, v in timings.items()}
    summary["total_s"] = round(sum(timings.values()), 1)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    yield f"done in {summary['total_s']:.0f} s; {out}/table.md, {out}/ab/ab.md, {out}/summary.json"


def _eval_config(cfg: DistillConfig):
    from training.eval.config import as_eval_config

    ev = cfg.evaluation.config
    return as_eval_config(dict(ev) if isinstance(ev, dict) else load_yaml(ev))


def _check_seeds(cfg: DistillConfig, ev_cfg, transcript_seeds: list[int]) -> None:
    """Held-out seeds (agreement, episodes) must not be training seeds."""
    from training.data.config import load_curation

    sim = load_curation(cfg.expert.curation).simulation
    used = set(range(sim.first_seed, sim.first_seed + sim.max_runs)) | set(transcript_seeds)
    held = set(cfg.evaluation.agreement.seeds)
    first = ev_cfg.episodes.first_seed
    held |= set(range(first, first + max(cfg.evaluation.episodes, cfg.evaluation.ab_episodes)))
    clash = sorted(used & held)
    if clash:
        raise ConfigError(f"evaluation seeds {clash[:5]} are training seeds; choose others")


@contextlib.contextmanager
def _served(cfg: DistillConfig, teacher_dir: Path | None, cache: Path):
    """The teacher as an ``openai:`` policy: our own served on loopback for the block
    (its responses cached in ``cache``: a rerun replays them), or the hosted endpoint."""
    from swarm.policies.chat import ChatPolicy

    settings = cfg.teacher.openai
    with contextlib.ExitStack() as stack:
        if teacher_dir is not None:
            from swarm.apps.serve import make_app, running

            url = stack.enter_context(running(make_app(teacher_dir, name=settings.model)))
            own = {"base_url": url, "cache_dir": settings.cache_dir or str(cache)}
            settings = settings.model_copy(update=own)
        policy = ChatPolicy(settings)
        policy.check()
        try:
            yield policy
        finally:
            policy.close()


def _transcripts(cfg, teacher, out: Path, seeds: list[int]) -> Iterator[str]:
    from swarm import SwarmModel, rollout
    from swarm.experiments.transcripts import TranscriptRecorder
    from swarm.progress import Bars

    t = cfg.transcripts
    completed = failed = 0
    with Bars(True) as bars:
        for seed in bars.track(seeds, "teacher runs"):
            recorder = TranscriptRecorder(out / f"seed-{seed}.jsonl", every=t.every)
            model = SwarmModel(n_agents=t.n_agents, policy=teacher, agent_report_every=0, rng=seed)
            rollout(model, t.steps, [recorder])
            recorder.write()
            completed += model.counts.completed
            failed += model.counts.failed
    yield (
        f"    {len(seeds)} runs recorded: {completed} tasks completed, {failed} failed; "
        f"teacher fallbacks {teacher.stats['fallbacks']:.0f} of "
        f"{teacher.stats['decisions']:.0f} decisions"
    )


def policy_table(policies: dict[str, Any], cfg: DistillConfig, ev_cfg) -> dict[str, Any]:
    """Per policy: agreement with the expert, closed-loop completion on the same held-out
    episodes (mean of episodes with its 95 % t interval, and the paired difference from
    the teacher), conflicts and cost per task."""
    from swarm.analysis.paired import paired_difference
    from swarm.experiments.agreement import policy_agreement
    from swarm.policies import make_policy
    from swarm.progress import Bars
    from training.eval.episodes import Timed, run_episode, total

    ag = cfg.evaluation.agreement
    first = ev_cfg.episodes.first_seed
    seeds = list(range(first, first + cfg.evaluation.episodes))
    rows: dict[str, Any] = {}
    per_episode: dict[str, np.ndarray] = {}
    with Bars(True) as bars:
        for label, spec in bars.track(list(policies.items()), "policies"):
            policy = make_policy(spec)
            timed = Timed(policy)  # decision time metered for every policy (its cost)
            agree = policy_agreement(
                policy, seeds=ag.seeds, n_agents=ag.n_agents, steps=ag.steps, every=ag.every
            )
            eps = [
                run_episode(
                    timed, s, n_agents=ev_cfg.episodes.n_agents, steps=ev_cfg.episodes.steps
                )
                for s in seeds
            ]
            rate = np.array([e["all"].completion_rate for e in eps])
            per_episode[label] = rate
            tot = total(eps, "all")
            price = ev_cfg.price_of(policy)
            mean, lo, hi = _mean_ci(rate)
            rows[label] = {
                "policy": str(getattr(policy, "name", spec)),
                "agreement": agree["agreement"],
                "balanced_agreement": agree["balanced_agreement"],
                "agreement_decisions": agree["decisions"],
                "agreement_by_kind": agree["by_kind"],
                "completion_rate": mean,
                "completion_ci": [lo, hi],
                "completion_per_episode": [round(float(x), 4) for x in rate],
                "conflict_rate": tot.conflict_rate,
                "cost_per_task_usd": tot.cost_per_task(price),
                "tokens_in": tot.tokens_in,
                "tokens_out": tot.tokens_out,
                "decision_seconds": round(tot.seconds, 2),
            }
    ref = per_episode["teacher"]
    for label, rate in per_episode.items():
        d = paired_difference(rate - ref)
        rows[label]["diff_vs_teacher"] = d["mean_diff"]
        rows[label]["diff_ci"] = [d["ci_low"], d["ci_high"]]
    return {
        "episodes": seeds,
        "n_agents": ev_cfg.episodes.n_agents,
        "steps": ev_cfg.episodes.steps,
        "agreement_seeds": ag.seeds,
        "rows": rows,
    }


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and t interval of a rate over episodes, the interval clipped to [0, 1] (with
    few episodes a t interval reaches past what a rate can be)."""
    from scipy import stats

    x = x[np.isfinite(x)]
    if len(x) < 2:
        m = float(x.mean()) if len(x) else float("nan")
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    m = float(x.mean())
    return m, max(m - half, 0.0), min(m + half, 1.0)


def table_markdown(table: dict[str, Any]) -> str:
    def pct(v):
        return "n/a" if v is None or not np.isfinite(v) else f"{v:.1%}"

    def pp(v):
        return "n/a" if v is None or not np.isfinite(v) else f"{v * 100:+.1f}"

    lines = [
        f"Closed loop: {len(table['episodes'])} paired episodes (seeds {table['episodes'][0]}.."
        f"{table['episodes'][-1]}, the same worlds for every policy), {table['n_agents']} "
        f"agents, {table['steps']} steps; agreement with the expert on seeds "
        f"{table['agreement_seeds']}.",
        "",
        "| policy | agreement (balanced) | completion [95 % CI] | vs teacher, points [95 % CI] "
        "| conflicts | cost per task |",
        "|---|---|---|---|---|---|",
    ]
    for label, r in table["rows"].items():
        lo, hi = r["completion_ci"]
        dlo, dhi = r["diff_ci"]
        diff = (
            "(reference)"
            if label == "teacher"
            else f"{pp(r['diff_vs_teacher'])} [{pp(dlo)}, {pp(dhi)}]"
        )
        lines.append(
            f"| {label} (`{r['policy']}`) | {pct(r['agreement'])} ({pct(r['balanced_agreement'])}) "
            f"| {pct(r['completion_rate'])} [{pct(lo)}, {pct(hi)}] | {diff} "
            f"| {pct(r['conflict_rate'])} | ${r['cost_per_task_usd']:.3g} |"
        )
    return "\n".join(lines) + "\n"


def _ab(cfg, ev_cfg, teacher, student: Path, sdata: Path, out: Path, summary):
    from training.eval.ab import ab_test
    from training.eval.dataset import build_dataset

    dataset = out / "eval" / "dataset"
    yield f"7/8 the scenario dataset (seeds disjoint from the student's data) -> {dataset}"
    build_dataset(dataset, ev_cfg, training_data=sdata, progress=True)
    e = cfg.evaluation
    yield (
        f"8/8 A/B: the student (lm:, {e.split:.0%} of agents) vs the teacher (control, over "
        f"HTTP), {e.ab_episodes} episodes, paired scenarios -> {out / 'ab'}"
    )
    ab = ab_test(
        teacher,
        f"lm:{student}",
        out / "ab",
        split=e.split,
        episodes=e.ab_episodes,
        dataset=dataset,
        config=ev_cfg,
        progress=True,
    )
    summary["ab"] = {
        "decision": ab["decision"],
        "go_no_go": {g["criterion"]: g["pass"] for g in ab["go_no_go"]},
        "cost_per_task_usd": {
            arm: ab["arms"][arm]["cost"]["per_task_usd"] for arm in ("control", "test")
        },
        "task_success": {arm: ab["arms"][arm]["task_success"]["value"] for arm in ab["arms"]},
        "paired_scenarios": ab["paired"],
    }
    yield (out / "ab" / "ab.md").read_text()
