"""The curation pipeline: sources → extract → filter → dedup → split → augment → dedup →
validate → write. Every input record and every example is accounted for: per source,
``read = kept + rejected`` (records), and every extracted example ends in train, eval or
the rejects with a stage and a reason.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from soul.files import exclusive_beside
from swarm.config import ConfigError
from swarm.interface.constitution import constitution_text
from swarm.interface.text import special_token_in
from swarm.io import atomic_write_text, replace_outputs
from swarm.progress import Bars
from swarm.world.actions import ActionKind
from training.data import simulation as sim
from training.data.config import CurationConfig, Source, as_config
from training.data.schema import Reject, TrainingExample, make_example
from training.data.stages import Deduplicator, apply_filters, augment, is_eval, reason_key
from training.data.transcripts import (
    NON_AGENTS,
    RecordError,
    agent_turns,
    context,
    iter_records,
    judge_outcome,
    label_turns,
)

OUTPUTS = (
    "train.jsonl",
    "eval.jsonl",
    "rejects.jsonl",
    "stats.json",
    "review.jsonl",
    "review.csv",
    "datacard.md",
)


class SourceCounts:
    """Counts per source: records read / kept / rejected (with reasons), and examples."""

    def __init__(self) -> None:
        self.sources: dict[str, dict[str, Any]] = {}

    def source(self, name: str) -> dict[str, Any]:
        return self.sources.setdefault(
            name,
            {
                "records_read": 0,
                "records_kept": 0,
                "records_rejected": 0,
                "examples": 0,
                "reasons": Counter(),
                "files": {},
            },
        )


def _files(src: Source) -> list[Path]:
    p = Path(src.path)
    if any(ch in src.path for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(src.path, recursive=True) if Path(f).is_file())
        if not files:
            raise ConfigError(f"source {src.label!r}: no files match {src.path!r}")
        return files
    if p.is_dir():
        return sorted(f for f in p.rglob("*") if f.is_file())
    if not p.exists():
        raise ConfigError(f"source {src.label!r}: no such file or directory: {src.path}")
    return [p]


def _judge_record(rec, src: Source):
    """Why a conversation is rejected (None: kept), its outcome
    (:func:`training.data.transcripts.judge_outcome`), and its agent turns."""
    reason = None
    texts = [t.text for t in rec.turns] + [rec.task or ""]
    token = next((tok for tok in map(special_token_in, texts) if tok), None)
    if token is not None:
        reason = f"chat special token in content ({token})"
    roles = [t.role for t in rec.turns]
    if "system" in roles[1:]:
        reason = f"broken role order: system message at position {roles.index('system', 1)}"
    if is_decision_record(rec):  # a swarm decision from swarm's transcript recorder
        keep = src.action_weights.get(rec.meta["kind"], 1.0)
        if rec.meta.get("conflict") is True:
            reason = "conflict (the take collided with another agent's)"
        elif rec.meta.get("fallback"):
            reason = f"the policy's answer was unusable ({rec.meta['fallback']})"
        elif keep < 1 and _uniform(rec) >= keep:
            reason = f"thinned (action_weights: {rec.meta['kind']} kept with p = {keep:g})"
    outcome = judge_outcome(rec, src)
    turns = agent_turns(rec)
    if reason is None and outcome.label == "failure":
        reason = f"failed conversation ({outcome.evidence})"
    elif reason is None and outcome.score is None:
        reason = outcome.evidence
    elif reason is None and not turns:
        reason = "no agent turns after the first message"
    elif reason is None and src.system == "original" and rec.system is None:
        reason = "no system prompt of its own (system: original)"
    return reason, outcome, turns


def _file_row(fmt: str) -> dict[str, Any]:
    return {
        "format": fmt,
        "records": 0,
        "turns_read": 0,
        "turns_kept": 0,
        "turns_rejected": 0,
        "reasons": Counter(),
        "outcomes": Counter(),
    }


def _turn_reasons(rec, made, turns: list[int], reason: str | None):
    """Why each turn of ``rec`` that made no example made none (``made``: the turns that
    did, and why the others among ``turns`` did not)."""
    made_lines, skipped = made
    out = Counter()
    chosen = set(turns)
    for i, t in enumerate(rec.turns):
        if reason is not None:
            out[reason_key(reason)] += 1
        elif i in chosen:
            if i not in made_lines:
                out[skipped.get(i, "empty assistant turn")] += 1
        elif t.role == "system":
            out["the system prompt"] += 1
        elif t.role in ("user", "tool") or t.speaker.lower() in NON_AGENTS:
            out["not an agent's turn (user, tool)"] += 1
        else:
            out["the opening message (the task)"] += 1
    return out


def _transcripts(
    src: Source,
    files: list[Path],
    fmt: str,
    cfg: CurationConfig,
    ledger: SourceCounts,
    rejects: list[Reject],
    root: Path | None = None,
) -> list[TrainingExample]:
    """Examples from transcript files; provenance names each file (relative to ``root``
    when given, so outputs do not depend on where they were written). Per file, the
    ledger counts dialogue turns read = turns kept (examples) + turns rejected (with
    reasons), and the outcomes with their evidence."""
    led = ledger.source(src.label)
    out: list[TrainingExample] = []
    for file in files:
        path = Path(file.relative_to(root)) if root is not None else file
        row = led["files"].setdefault(str(path), _file_row(fmt))
        for line, rec in iter_records(file, fmt, src, cfg.max_record_bytes):
            led["records_read"] += 1
            row["records"] += 1
            reason = None
            made: list[TrainingExample] = []
            if isinstance(rec, RecordError):
                reason = str(rec)
                row["outcomes"][f"unread: {reason_key(reason)}"] += 1
            else:
                row["format"] = rec.meta.get("format", row["format"])
                try:
                    reason, outcome, turns = _judge_record(rec, src)
                    ev = outcome.evidence
                    row["outcomes"][
                        ev if ev.startswith(outcome.label) else f"{outcome.label}: {ev}"
                    ] += 1
                    made_at: tuple = (set(), {})
                    if reason is None:
                        made, empty, made_at = _record_examples(
                            rec, turns, outcome, src, cfg, path, line
                        )
                    row["turns_read"] += len(rec.turns)
                    row["turns_kept"] += len(made)
                    why = _turn_reasons(rec, made_at, turns, reason)
                    row["turns_rejected"] += sum(why.values())
                    row["reasons"].update(why)
                except Exception as exc:  # an unforeseen record: rejected, never a crash
                    reason = f"unreadable record ({type(exc).__name__}: {exc})"[:200]
                    made = []
                    row["turns_read"] += len(rec.turns)
                    row["turns_rejected"] += len(rec.turns)
                    row["reasons"][reason_key(reason)] += len(rec.turns)
                    row["outcomes"][f"unread: {reason_key(reason)}"] += 1
            if reason is not None:
                led["records_rejected"] += 1
                led["reasons"][reason_key(reason)] += 1
                rejects.append(
                    Reject(
                        stage="extract",
                        reason=reason,
                        source=src.label,
                        source_file=str(path),
                        line=line,
                    )
                )
                continue
            led["records_kept"] += 1
            led["examples"] += len(empty)
            rejects.extend(empty)
            out.extend(made)
    led["examples"] += len(out)
    return out


def _uniform(rec) -> float:
    """A uniform draw in [0, 1) fixed by the record's file and line: thinning is seeded by
    where a record is, not by the order records are read in."""
    import hashlib

    h = hashlib.sha256(f"{rec.source_file}:{rec.line}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def is_decision_record(rec) -> bool:
    """Whether a conversation is one recorded swarm decision
    (:class:`swarm.experiments.transcripts.TranscriptRecorder`): system, observation,
    answer, with the decision's ``action`` and ``kind``."""
    return (
        isinstance(rec.meta.get("action"), str)
        and rec.meta.get("kind") in _KINDS
        and [t.role for t in rec.turns] == ["system", "user", "agent"]
    )


_KINDS = {k.value for k in ActionKind}


def _decision_example(rec, score, how, src: Source, path: Path, line) -> TrainingExample:
    """A recorded decision as the language-model policy sees it: the observation as the
    user turn, the answer as the assistant turn (the checkpoints' format)."""
    system, user, answer = (t.text for t in rec.turns)
    task_type = rec.meta.get("task_type")
    return make_example(
        system,
        user,
        answer.strip(),
        task_type=task_type
        if task_type in ("coordination", "handoff", "synthesis")
        else "coordination",
        success_score=score,
        source=src.label,
        source_file=str(path),
        line=line,
        action=rec.meta["kind"],
        outcome_from=how,
        policy=str(rec.meta.get("policy", "")),
        **(
            {"simulation_seed": seed}
            if isinstance(seed := rec.meta.get("simulation_seed"), int)
            else {}
        ),
    )


def _system_prompt(rec, turn, src: Source) -> str:
    """The system turn of a transcript example: the constitution (``system:
    constitution``, the default), the conversation's own (``original``: the speaker's own
    prompt where the log shows one per role, as ChatDev's does, else the conversation's),
    or the text given."""
    if src.system == "constitution":
        return constitution_text()
    if src.system == "original":
        return turn.system or rec.system
    return src.system


def _record_examples(rec, turns, outcome, src: Source, cfg, path: Path, line):
    """One example per agent turn of a kept conversation (one for a recorded decision),
    the rejects of the turns the schema cannot hold (empty ones), and which turns made
    an example."""
    score, how = outcome.score, outcome.evidence
    if is_decision_record(rec) and rec.turns[2].text.strip():
        return [_decision_example(rec, score, how, src, path, line)], [], ({2}, {})
    labels = label_turns(rec)
    made: list[TrainingExample] = []
    made_at: set[int | None] = set()
    skipped: dict[int, str] = {}
    empty: list[Reject] = []
    for i in turns:
        turn = rec.turns[i]
        where = line if line is not None else (turn.line or i)
        why = None
        if not turn.text.strip():  # the schema cannot hold it: rejected here
            why = "empty assistant turn"
        elif _marker_only(turn.text, src):
            why = "a termination marker only, not a message"
        if why is not None:
            skipped[i] = why
            empty.append(
                Reject(
                    stage="filter",
                    reason=why,
                    source=src.label,
                    source_file=str(path),
                    line=where,
                )
            )
            continue
        made_at.add(i)
        made.append(
            make_example(
                _system_prompt(rec, turn, src),
                context(rec, i, cfg.context_chars),
                turn.text.strip(),
                task_type=labels[i],
                success_score=score,
                source=src.label,
                source_file=str(path),
                line=where,
                speaker=turn.speaker,
                outcome_from=how,
            )
        )
    return made, empty, (made_at, skipped)


_LABELS = re.compile(
    r"^\s*(?:Instruction|Input|Solution(?:&Action)?|Output)\s*:\s*$|^\s*None\s*$", re.M
)


def _marker_only(text: str, src: Source) -> bool:
    """A turn that says nothing but a success marker (``TERMINATE``; CAMEL's
    ``Instruction: CAMEL_TASK_DONE`` / ``Input: None``): the protocol, not a message."""
    rest = text
    for m in src.success_markers:
        rest = rest.replace(m, "")
    return bool(rest != text) and not _LABELS.sub("", rest).strip()


class SimulationRuns:
    """Simulation runs shared by the generated sources (seeded, created on demand)."""

    def __init__(self, cfg: CurationConfig, on_run=None) -> None:
        self.cfg = cfg
        self.runs: list[sim.Run] = []
        self.on_run = on_run or (lambda: None)

    def run(self, i: int) -> sim.Run | None:
        while len(self.runs) <= i:
            if len(self.runs) >= self.cfg.simulation.max_runs:
                return None
            self.runs.append(
                sim.simulate_expert(
                    self.cfg.simulation.first_seed + len(self.runs), self.cfg.simulation
                )
            )
            self.on_run()
        return self.runs[i]

    def collect(self, make, count: int) -> list[TrainingExample]:
        out: list[TrainingExample] = []
        i = 0
        while len(out) < count and (run := self.run(i)) is not None:
            out.extend(make(run))
            i += 1
        return out[:count]


def _generated(
    src: Source,
    cfg: CurationConfig,
    runs: SimulationRuns,
    rng: np.random.Generator,
    ledger: SourceCounts,
) -> list[TrainingExample]:
    count = src.count or 0
    if src.kind == "checkpoints":
        out = runs.collect(
            lambda r: sim.checkpoints(
                r, rng, max(1, count // 4), src.action_weights, src.contested_only
            ),
            count,
        )
    elif src.kind == "reasoning":
        out = runs.collect(sim.reasoning, count)
    else:  # constitutional: round-robin over the rules
        per_rule: dict[int, list[TrainingExample]] = defaultdict(list)
        i = 0
        while sum(len(v) for v in per_rule.values()) < 4 * count and (run := runs.run(i)):
            for rule, exs in sim.constitutional(run, rng).items():
                per_rule[rule].extend(exs)
            i += 1
        out = []
        queues = [per_rule[r] for r in sorted(per_rule)]
        while len(out) < count and any(queues):
            for q in queues:
                if q and len(out) < count:
                    out.append(q.pop(0))
    led = ledger.source(src.label)
    led["records_read"] += len(out)
    led["records_kept"] += len(out)
    led["examples"] += len(out)
    return out


def _extract(
    cfg: CurationConfig,
    out: Path,
    ledger: SourceCounts,
    rejects: list[Reject],
    rng: np.random.Generator,
    bars: Bars,
) -> list[TrainingExample]:
    runs = SimulationRuns(cfg, on_run=bars.add("simulation"))
    examples: list[TrainingExample] = []
    for src in cfg.sources:
        if src.kind == "transcripts" and src.path is not None:
            files = list(bars.track(_files(src), "transcripts"))
            examples += _transcripts(src, files, src.format, cfg, ledger, rejects)
        elif src.kind == "transcripts":  # simulated group chats, read like real ones
            path = out / "simulated" / "chats.jsonl"
            lines: list[str] = []
            i = 0
            while len(lines) < (src.count or 0) and (run := runs.run(i)) is not None:
                lines += [json.dumps(conv) for conv in sim.chats(run)]
                i += 1
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, "".join(line + "\n" for line in lines[: src.count]))
            examples += _transcripts(src, [path], "openai", cfg, ledger, rejects, root=out)
        else:
            examples += _generated(src, cfg, runs, rng, ledger)
    return examples


def curate(config, out: str | Path, *, progress: bool = False) -> dict[str, Any]:
    """Run the pipeline; write the outputs (:data:`OUTPUTS`) to ``out``; return the stats.

    The dataset is built in a temporary directory beside ``out`` and put in its place
    whole (:func:`soul.files.atomic_write_dir`): a kill leaves the old dataset or the new
    one, never a mix. So ``out`` must be new, empty, or an earlier dataset."""
    cfg = as_config(config)
    out = Path(out)
    result: dict[str, Any] = {}
    with exclusive_beside(out, "the dataset"):
        try:
            replace_outputs(
                out,
                lambda tmp: result.update(_curate(cfg, tmp, progress)),
                (*OUTPUTS, "simulated"),
                "swarm data curate",
            )
        except ValueError as exc:  # not a dataset directory
            raise ConfigError(f"--out {exc}") from None
    return result


def _curate(cfg: CurationConfig, out: Path, progress: bool) -> dict[str, Any]:
    rng = np.random.default_rng(cfg.seed)
    ledger = SourceCounts()
    rejects: list[Reject] = []
    stages: dict[str, int] = {}

    with Bars(progress) as bars:
        extracted = _extract(cfg, out, ledger, rejects, rng, bars)
        stages["extracted"] = len(extracted) + sum(r.stage == "filter" for r in rejects)
        kept, rej = apply_filters(extracted, cfg.filters)
        rejects += rej
        stages["after_filter"] = len(kept)
        dedup = Deduplicator(cfg.dedup)
        kept, rej = dedup.run(bars.track(kept, "dedup"))
        rejects += rej
        stages["after_dedup"] = len(kept)
        train = [e for e in kept if not is_eval(e.id, cfg.eval_fraction, cfg.seed)]
        evals = [e for e in kept if is_eval(e.id, cfg.eval_fraction, cfg.seed)]
        synthetic = augment(train, cfg.augment, rng, bars.add("augment", cfg.augment.count))
        stages["synthetic_made"] = len(synthetic)
        synthetic, rej = dedup.run(bars.track(synthetic, "dedup again"), stage="augment-dedup")
        rejects += rej
    stages["synthetic_kept"] = len(synthetic)
    train += synthetic

    train, rej_t = _validated(train, out / "train.jsonl")
    evals, rej_e = _validated(evals, out / "eval.jsonl")
    rejects += rej_t + rej_e
    stages["train"], stages["eval"] = len(train), len(evals)
    atomic_write_text(
        out / "rejects.jsonl", "".join(r.model_dump_json(exclude_none=True) + "\n" for r in rejects)
    )
    review = _review_sample(train + evals, cfg, rng)
    _write_review(review, out)

    stats = _stats(cfg, ledger, rejects, stages, train, evals, len(review))
    atomic_write_text(out / "stats.json", json.dumps(stats, indent=2))
    atomic_write_text(out / "datacard.md", datacard(stats, cfg))
    return stats


def _validated(
    examples: list[TrainingExample], path: Path
) -> tuple[list[TrainingExample], list[Reject]]:
    """Write JSONL, then schema-check every line as read back."""
    text = "".join(e.to_json() + "\n" for e in examples)
    good, rejects = [], []
    lines = text.split("\n")[:-1]  # JSONL: only "\n" ends a line (not U+0085 and kin)
    for e, line in zip(examples, lines, strict=True):
        try:
            TrainingExample.model_validate_json(line)
            good.append(e)
        except ValueError as exc:
            rejects.append(
                Reject(
                    stage="validate",
                    reason=f"schema: {exc}".splitlines()[0],
                    source=e.metadata.source,
                    id=e.id,
                )
            )
    if rejects:
        text = "".join(e.to_json() + "\n" for e in good)
    atomic_write_text(path, text)
    return good, rejects


def _review_sample(
    examples: list[TrainingExample], cfg: CurationConfig, rng: np.random.Generator
) -> list[TrainingExample]:
    strata: dict[tuple[str, str], list[TrainingExample]] = defaultdict(list)
    for e in examples:
        strata[(e.task_type, e.metadata.source)].append(e)
    out = []
    for key in sorted(strata):
        group = strata[key]
        k = min(len(group), math.ceil(cfg.review.fraction * len(group)))
        out += [group[i] for i in sorted(rng.choice(len(group), k, replace=False))]
    return out


def _write_review(review: list[TrainingExample], out: Path) -> None:
    atomic_write_text(
        out / "review.jsonl",
        "".join(
            json.dumps({"id": e.id, "label": "", "note": "", "example": json.loads(e.to_json())})
            + "\n"
            for e in review
        ),
    )
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "task_type", "source", "user", "assistant", "label", "note"])
    for e in review:
        w.writerow(
            [e.id, e.task_type, e.metadata.source, e.text("user"), e.text("assistant"), "", ""]
        )
    atomic_write_text(out / "review.csv", buf.getvalue())


def _stats(cfg, ledger, rejects, stages, train, evals, review_n) -> dict[str, Any]:
    by_stage = Counter(r.stage for r in rejects)
    reasons: dict[str, Counter] = defaultdict(Counter)
    for r in rejects:
        reasons[r.stage][reason_key(r.reason)] += 1
    sources = {}
    for name, led in ledger.sources.items():
        dropped = Counter(r.stage for r in rejects if r.source == name and r.stage != "extract")
        sources[name] = {
            **{k: v for k, v in led.items() if k not in ("reasons", "files")},
            "record_reasons": dict(led["reasons"]),
            "examples_rejected": dict(dropped),
            "files": {
                f: {**row, "reasons": dict(row["reasons"]), "outcomes": dict(row["outcomes"])}
                for f, row in led["files"].items()
            },
        }
    final = train + evals
    return {
        "seed": cfg.seed,
        "sources": sources,
        "stages": stages,
        "rejected": dict(by_stage),
        "reasons": {k: dict(v) for k, v in reasons.items()},
        "output": {
            "train": len(train),
            "eval": len(evals),
            "total": len(final),
            "review": review_n,
        },
        "mix": {
            "source": dict(Counter(e.metadata.source for e in final)),
            "task_type": dict(Counter(e.task_type for e in final)),
        },
        "approved": None,
        "review_threshold": cfg.review.max_bad_rate,
        "config": cfg.model_dump(mode="json"),  # what built it (a rerun can reuse it)
    }


def _counts(c: dict[str, int]) -> str:
    """``a 3; b 1`` (most first), or ``-``; pipes escaped for Markdown tables."""
    if not c:
        return "-"
    items = sorted(c.items(), key=lambda p: (-p[1], p[0]))
    return "; ".join(f"{k} {v}" if v > 1 else k for k, v in items).replace("|", "\\|")


def datacard(stats: dict[str, Any], cfg: CurationConfig) -> str:
    """A Markdown data card: what is in the set, the mix, the filters, the numbers."""
    lines = [
        "# Data card",
        "",
        f"Curated by `swarm data curate` with seed {stats['seed']}. Chat examples: "
        "system = the swarm constitution, user = the coordination context, assistant = "
        "one agent turn or action.",
        "",
        f"**{stats['output']['total']} examples**: {stats['output']['train']} train, "
        f"{stats['output']['eval']} eval (split by parent before augmentation), "
        f"{stats['output']['review']} sampled for review.",
        "",
        "## Mix",
        "",
        "| source | examples |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(stats["mix"]["source"].items())]
    lines += ["", "| task_type | examples |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(stats["mix"]["task_type"].items())]
    lines += [
        "",
        "## Sources (records)",
        "",
        "| source | read | kept | rejected | examples |",
        "|---|---|---|---|---|",
    ]
    for name, s in stats["sources"].items():
        lines.append(
            f"| {name} | {s['records_read']} | {s['records_kept']} | "
            f"{s['records_rejected']} | {s['examples']} |"
        )
    files = [
        (name, f, row) for name, s in stats["sources"].items() for f, row in s["files"].items()
    ]
    if files:
        lines += [
            "",
            "## Transcript files (dialogue turns)",
            "",
            "| source | file | format | turns read | kept | rejected (reasons) "
            "| outcome (evidence) |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, f, row in files:
            lines.append(
                f"| {name} | {f} | {row['format']} | {row['turns_read']} | {row['turns_kept']} | "
                f"{row['turns_rejected']} ({_counts(row['reasons'])}) | "
                f"{_counts(row['outcomes'])} |"
            )
    f = cfg.filters
    lines += [
        "",
        "## Filters and dedup",
        "",
        f"- success_score >= {f.min_success_score}; no conflicts; non-empty assistant "
        f"turn of {f.min_assistant_chars}-{f.max_assistant_chars} chars; context <= "
        f"{f.max_user_chars} chars; repeated words <= {f.max_repetition:.0%}.",
        f"- exact dedup on normalised messages; near-dup MinHash LSH (Jaccard >= "
        f"{cfg.dedup.near_threshold}, {cfg.dedup.num_perm} permutations, "
        f"{cfg.dedup.shingle}-word shingles).",
        f"- augmentation: {cfg.augment.count} requested ({', '.join(cfg.augment.strategies)}).",
        "",
        "## Stages",
        "",
        "| stage | count |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in stats["stages"].items()]
    lines += ["", "## Rejected", "", "| stage | reason | count |", "|---|---|---|"]
    for stage, rs in stats["reasons"].items():
        lines += [f"| {stage} | {r} | {n} |" for r, n in sorted(rs.items(), key=lambda p: -p[1])]
    return "\n".join(lines) + "\n"
