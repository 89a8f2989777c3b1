"""Atomic writes of result files (temp file in the same directory, then rename)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from soul import atomic_write_text

__all__ = ["atomic_write", "atomic_write_text", "write_parquet"]


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it over."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))
