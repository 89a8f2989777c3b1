"""``swarm data``: curate training data, show its numbers, import human review labels."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from swarm.cli.common import UserError, console

data_app = typer.Typer(help="Training-data curation.", no_args_is_help=True)


@data_app.command("curate")
def curate(
    config: Path = typer.Argument(..., help="Curation config (YAML)."),
    out: Path = typer.Option(..., "--out", help="Dataset directory."),
) -> None:
    """Extract → filter → dedup → split → augment → validate; write the dataset."""
    from training.data.config import load_curation
    from training.data.pipeline import OUTPUTS
    from training.data.pipeline import curate as run

    cfg = load_curation(config)
    stats = run(cfg, out, progress=True)
    _print(stats)
    console.print("wrote " + ", ".join(str(out / name) for name in OUTPUTS))


@data_app.command("stats")
def stats(dataset: Path = typer.Argument(..., help="A curated dataset directory.")) -> None:
    """Print a dataset's numbers (from its stats.json)."""
    path = dataset / "stats.json"
    if not path.exists():
        raise UserError(f"{dataset}: not a curated dataset (no stats.json)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise UserError(f"{path}: not valid JSON") from None
    _print(data)


@data_app.command("review-import")
def review_import(
    labels: Path = typer.Argument(..., help="review.csv or review.jsonl with labels."),
    dataset: Path = typer.Option(..., "--dataset", help="The curated dataset directory."),
) -> None:
    """Apply good/bad labels: bad examples leave the dataset; approve if bad rate is low."""
    from training.data.review import review_import as run

    summary = run(labels, dataset)
    verdict = "approved" if summary["approved"] else "NOT approved"
    console.print(
        f"{summary['labelled']} labelled, {summary['bad']} bad "
        f"(rate {summary['bad_rate']:.1%}, threshold {summary['threshold']:.0%}): {verdict}; "
        f"{summary['removed']} examples removed"
    )


def _counts(c: dict[str, int]) -> str:
    if not c:
        return "-"
    return "; ".join(f"{k} {v}" if v > 1 else k for k, v in sorted(c.items(), key=lambda p: -p[1]))


def _print(stats: dict) -> None:
    t = Table(
        "source", "records read", "kept", "rejected", "examples", "dropped later", title="sources"
    )
    for name, s in stats["sources"].items():
        dropped = ", ".join(f"{k} {v}" for k, v in s["examples_rejected"].items()) or "-"
        t.add_row(
            name,
            str(s["records_read"]),
            str(s["records_kept"]),
            str(s["records_rejected"]),
            str(s["examples"]),
            dropped,
        )
    console.print(t)
    files = [
        (name, f, row)
        for name, s in stats["sources"].items()
        for f, row in s.get("files", {}).items()
    ]
    if files:
        t = Table(
            "file",
            "format",
            "turns read",
            "kept",
            "rejected (reasons)",
            "outcome (evidence)",
            title="transcript files",
        )
        for _, f, row in files:  # text from the logs themselves: never Rich markup
            t.add_row(
                escape(f),
                row["format"],
                str(row["turns_read"]),
                str(row["turns_kept"]),
                escape(f"{row['turns_rejected']} ({_counts(row['reasons'])})"),
                escape(_counts(row["outcomes"])),
            )
        console.print(t)
    t = Table("stage", "count", title="stages")
    for k, v in stats["stages"].items():
        t.add_row(k, str(v))
    console.print(t)
    t = Table("stage", "reason", "count", title="rejected")
    for stage, reasons in stats["reasons"].items():
        for r, n in reasons.items():
            t.add_row(stage, r, str(n))
    console.print(t)
    out = stats["output"]
    mix = ", ".join(f"{k} {v}" for k, v in stats["mix"]["source"].items())
    console.print(
        f"train {out['train']}, eval {out['eval']}, total {out['total']} ({mix}); "
        f"approved: {stats.get('approved')}"
    )
