"""Atomic file writes, one implementation for the whole project.

A file that holds results, a dataset, a soul or a checkpoint is written to a temporary file
beside it, flushed to disk (``fsync``), and renamed over the target with one
``os.replace``: a crash leaves either the old file or the new one, never half of one.
It lives in the bottom layer so that :mod:`swarm` and :mod:`training` use it too
(:mod:`swarm.io` re-exports it).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

#: Temporary files start with this (readers of a directory skip them).
TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _permit(path: Path, directory: bool = False) -> None:
    """Give ``path`` the mode a plain ``open``/``mkdir`` would (temporary files and
    directories are created private, 0600/0700)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, fsync it, rename it over
    ``path``; returns ``path``. On any error the temporary file is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _permit(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_dir(path: str | Path, build: Callable[[Path], None]) -> Path:
    """Call ``build(tmp)`` on a new temporary directory beside ``path``, then put it in
    ``path``'s place: the old directory is renamed away, the new one renamed in, the old
    one removed. Readers see the old directory or the new one (or, after a crash between
    the two renames, none), never a mix of their files. On any error in ``build`` the
    temporary directory is removed and ``path`` is untouched."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + path.name + "-", dir=path.parent))
    try:
        build(tmp)
        _permit(tmp, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "old-", dir=path.parent))
        os.replace(path, old / path.name)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path


class Busy(RuntimeError):
    """A directory another process holds (its lock file is taken)."""


@contextlib.contextmanager
def exclusive(directory: str | Path, what: str, *, wait: bool = False, name: str = ".lock"):
    """Hold the advisory lock file ``name`` in ``directory`` (via ``filelock``) while the
    block runs. ``wait=False``: a :class:`Busy` error naming ``what`` at once if another
    process holds it; ``wait=True``: wait for it."""
    from filelock import FileLock, Timeout

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(directory / name)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        raise Busy(
            f"{directory}: {what} is in use by another process (lock {directory / name}); "
            "wait for it to finish or use another directory"
        ) from None
    try:
        yield
    finally:
        lock.release()
