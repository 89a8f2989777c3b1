"""Human review: apply the labels of ``review.csv`` / ``review.jsonl`` to a dataset.

Labels are ``good`` or ``bad`` (empty: not reviewed). Bad examples leave ``train.jsonl`` /
``eval.jsonl`` (and go to ``rejects.jsonl`` with stage ``review``); the dataset is marked
approved in ``stats.json`` only if the bad rate among labelled examples is under the
threshold.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from soul.files import exclusive_beside
from swarm.config import ConfigError
from swarm.io import replace_outputs
from training.data.schema import Reject, TrainingExample

LABELS = ("good", "bad")


def read_labels(path: Path) -> dict[str, tuple[str, str]]:
    """``{example id: (label, note)}`` from a review CSV or JSONL; bad rows are errors
    naming the row."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    rows: list[dict[str, Any]] = []
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        else:
            for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:
                        raise ConfigError(f"{path}: line {n} is not valid JSON") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    out: dict[str, tuple[str, str]] = {}
    for n, row in enumerate(rows, start=2 if path.suffix == ".csv" else 1):
        if not isinstance(row, dict) or "id" not in row or "label" not in row:
            raise ConfigError(f"{path}: row {n} needs 'id' and 'label'")
        if not isinstance(row["id"], str | int) or isinstance(row["id"], bool):
            raise ConfigError(f"{path}: row {n}: id {row['id']!r} is not an example id")
        if row["label"] is not None and not isinstance(row["label"], str):
            raise ConfigError(f"{path}: row {n}: label {row['label']!r} is not good or bad")
        label = (row.get("label") or "").strip().lower()
        if label and label not in LABELS:
            raise ConfigError(f"{path}: row {n}: label {row['label']!r} is not good or bad")
        if label:
            if str(row["id"]) in out:
                raise ConfigError(f"{path}: row {n}: id {row['id']!r} is labelled twice")
            out[str(row["id"])] = (label, str(row.get("note") or ""))
    return out


def review_import(
    labels_file: str | Path, dataset: str | Path, max_bad_rate: float | None = None
) -> dict:
    """Apply labels to the dataset in ``dataset``; returns the review summary.

    Everything is read and checked first (every labelled id must be in the dataset);
    then the new dataset is built beside the old one and put in its place whole
    (:func:`swarm.io.replace_outputs`), so a bad labels file or a kill leaves the
    dataset as it was."""
    dataset, labels_file = Path(dataset), Path(labels_file)
    stats_path = dataset / "stats.json"
    if not stats_path.exists():
        raise ConfigError(f"{dataset}: not a curated dataset (no stats.json)")
    try:
        stats = json.loads(stats_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ConfigError(f"{stats_path}: not valid JSON") from None
    if not isinstance(stats, dict) or not isinstance(stats.get("output"), dict):
        raise ConfigError(f"{stats_path}: not a curated dataset's stats (no 'output')")
    labels = read_labels(labels_file)
    threshold = max_bad_rate if max_bad_rate is not None else stats.get("review_threshold", 0.05)
    removed: list[Reject] = []
    known = set()
    kept: dict[str, str] = {}
    for split in ("train", "eval"):
        path = dataset / f"{split}.jsonl"
        kept_lines = []
        try:
            lines = path.read_text(encoding="utf-8").split("\n") if path.exists() else []
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text: not a JSONL file") from None
        for n, line in enumerate(lines, start=1):
            if not line:
                continue
            try:
                ex = TrainingExample.model_validate_json(line)
            except ValueError:
                raise ConfigError(f"{path}: line {n} is not a training example") from None
            known.add(ex.id)
            label = labels.get(ex.id)
            if label is not None and label[0] == "bad":
                removed.append(
                    Reject(
                        stage="review",
                        reason=f"labelled bad: {label[1] or 'no note'}",
                        source=ex.metadata.source,
                        id=ex.id,
                        source_file=ex.provenance.source_file,
                        line=ex.provenance.line,
                    )
                )
            else:
                kept_lines.append(line + "\n")
        kept[split] = "".join(kept_lines)
        stats["output"][split] = len(kept_lines)
    unknown = sorted(set(labels) - known - set(stats.get("review", {}).get("removed_ids", [])))
    if unknown:
        raise ConfigError(f"{labels_file}: id {unknown[0]!r} is not in the dataset")
    bad = sum(1 for label, _ in labels.values() if label == "bad")
    rate = bad / len(labels) if labels else float("nan")
    summary = {
        "labelled": len(labels),
        "bad": bad,
        "bad_rate": rate,
        "threshold": threshold,
        "removed": len(removed),
        "removed_ids": [r.id for r in removed] + stats.get("review", {}).get("removed_ids", []),
    }
    stats["review"] = summary
    stats["output"]["total"] = stats["output"]["train"] + stats["output"]["eval"]
    stats["approved"] = bool(labels) and rate < threshold
    rejects = dataset / "rejects.jsonl"
    old_rejects = rejects.read_text(encoding="utf-8") if rejects.exists() else ""
    new = {
        "train.jsonl": kept["train"],
        "eval.jsonl": kept["eval"],
        "rejects.jsonl": old_rejects
        + "".join(r.model_dump_json(exclude_none=True) + "\n" for r in removed),
        "stats.json": json.dumps(stats, indent=2),
    }

    def write(tmp: Path) -> None:
        for name, text in new.items():
            (tmp / name).write_text(text, encoding="utf-8")

    with exclusive_beside(dataset, "the dataset"):  # not while a curation or import runs
        replace_outputs(dataset, write, new, "review-import")  # other files stay as they are
    return {**summary, "approved": stats["approved"]}
