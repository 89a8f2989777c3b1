"""Atomic writes of result files: :mod:`soul.files`' one implementation (temp file,
fsync, rename), plus Parquet tables."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from soul.files import atomic_write, atomic_write_dir, atomic_write_text

__all__ = [
    "atomic_write",
    "atomic_write_dir",
    "atomic_write_text",
    "replace_outputs",
    "write_parquet",
]


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))


def check_outputs_dir(out: str | Path, outputs, what: str) -> None:
    """A ValueError unless ``out`` is new, a directory of ``what``'s ``outputs``, or empty
    (checked before the work, so that nothing is computed for nothing)."""
    out, names = Path(os.path.abspath(out)), set(outputs)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a directory")
    here = Path(os.getcwd())
    if out == here or out in here.parents:  # replaced whole, it would vanish under the shell
        raise ValueError(f"{out}: is the current directory (or holds it); name it from outside")
    if out.is_dir():
        others = sorted(
            p.name for p in out.iterdir() if p.name not in names and not p.name.endswith(".lock")
        )
        if others and not any((out / n).exists() for n in names):
            raise ValueError(
                f"{out}: holds other files ({others[0]}, ...), none of {what}'s outputs; "
                "choose a new or empty directory"
            )


def replace_outputs(out: str | Path, write, outputs, what: str) -> Path:
    """Write a command's set of ``outputs`` (file names) as one: ``write(tmp)`` fills a
    temporary directory beside ``out``, any other files already in ``out`` are carried
    over (hard links), and the new directory is put in ``out``'s place whole
    (:func:`atomic_write_dir`). A kill leaves the old outputs or the new ones, never a
    mix. A directory that holds other files and none of ``outputs`` is refused (a
    ValueError): it is not this command's output."""
    import shutil

    out = Path(os.path.abspath(out))
    names = set(outputs)
    check_outputs_dir(out, names, what)

    def build(tmp: Path) -> None:
        if out.is_dir():
            for item in out.iterdir():
                if item.name in names:
                    continue
                target = tmp / item.name
                if item.is_symlink():  # a link stays a link (never the tree it points to)
                    os.symlink(os.readlink(item), target)
                elif item.is_dir():
                    shutil.copytree(item, target, symlinks=True)
                else:
                    try:
                        os.link(item, target)
                    except OSError:
                        shutil.copy2(item, target)
        write(tmp)

    return atomic_write_dir(out, build)
