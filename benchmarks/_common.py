"""Shared benchmark plumbing: argument parsing and the JSON last line."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, well under a minute")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    p.add_argument("--seed", type=int, default=0)
    return p


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1 (else a usage error, exit code 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """Fastest wall time of ``repeats`` calls (the least disturbed measurement)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def emit(result: dict, as_json: bool) -> None:
    result = {**result, "machine": platform.machine(), "python": platform.python_version()}
    if as_json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))
