"""Curation throughput: examples per minute through the whole pipeline (extract, filter,
exact + MinHash dedup, split, validate, write), at 10,000 and 100,000 examples.

Input: an OpenAI-style JSONL of synthetic group chats (seeded; 5 agent turns per
conversation, varied enough that dedup keeps most), built before timing.

    python -m benchmarks.curation [--quick] [--json]
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import emit, parser
from training.data.config import CurationConfig
from training.data.pipeline import curate

WORDS = [
    "plan",
    "test",
    "draft",
    "review",
    "merge",
    "deploy",
    "fix",
    "check",
    "data",
    "model",
    "report",
    "chart",
    "api",
    "ui",
]


def write_chats(path: Path, examples: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with path.open("w") as fh:
        for c in range(examples // 5):
            msgs = [{"role": "user", "content": f"Task {c}: ship feature {c}."}]
            for t in range(5):
                words = " ".join(rng.choice(WORDS, 12))
                msgs.append(
                    {
                        "role": "assistant",
                        "name": f"agent_{t}",
                        "content": f"Step {t} of task {c}: {words}.",
                    }
                )
            msgs[-1]["content"] += " TERMINATE"
            fh.write(json.dumps({"messages": msgs}) + "\n")


def rate(examples: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "chats.jsonl"
        write_chats(src, examples, seed)
        cfg = CurationConfig.model_validate(
            {"sources": [{"kind": "transcripts", "path": str(src)}], "seed": seed}
        )
        start = time.perf_counter()
        stats = curate(cfg, Path(d) / "out")
        wall = time.perf_counter() - start
    return stats["stages"]["extracted"] / wall * 60


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    sizes = (2000, 10000) if args.quick else (10000, 100000)
    rates = {str(n): round(rate(n, args.seed), 1) for n in sizes}
    small, big = rates[str(sizes[0])], rates[str(sizes[1])]
    emit(
        {"examples_per_min": rates, "scaling": round(big / small, 3), "quick": args.quick},
        args.json,
    )


if __name__ == "__main__":
    main()
