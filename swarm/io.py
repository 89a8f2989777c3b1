"""Atomic writes of result files: :mod:`soul.files`' one implementation (temp file,
fsync, rename), plus Parquet tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from soul.files import atomic_write, atomic_write_dir, atomic_write_text

__all__ = ["atomic_write", "atomic_write_dir", "atomic_write_text", "write_parquet"]


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))
