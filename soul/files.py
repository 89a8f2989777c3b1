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


def _permit(path: Path, like: Path, directory: bool = False) -> None:
    """Give ``path`` the mode of ``like`` when it exists (a replaced file keeps its mode),
    else the mode a plain ``open``/``mkdir`` would (temporary files and directories are
    created private, 0600/0700)."""
    try:
        mode = like.stat().st_mode & 0o7777
    except OSError:
        mode = (0o777 if directory else 0o666) & ~_umask()
    os.chmod(path, mode)


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute and normalised (``..`` and ``.`` resolved textually, links
    kept): a rename must not go through a component that the swap itself moves."""
    return Path(os.path.abspath(path))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system cannot."""
    import ctypes
    import errno

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EPERM, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _recover(path: Path) -> None:
    """Put back a directory that a crash left renamed away (between the two renames of a
    system without an atomic exchange)."""
    import shutil

    if path.exists():
        return
    for old in sorted(path.parent.glob(TMP_PREFIX + "old-*")):
        if (old / path.name).exists():
            os.replace(old / path.name, path)
            shutil.rmtree(old, ignore_errors=True)
            return


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, fsync it, rename it over
    ``path``; returns ``path``. On any error the temporary file is removed."""
    path = _absolute(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        _permit(Path(tmp), like=path)
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
    ``path``'s place in one step (an atomic exchange where the system has one; else the
    old directory is renamed away and the new one in, and a crash between the two is
    undone by the next call). Readers see the old directory or the new one, never a mix
    of their files; the new one keeps the old one's mode. On any error in ``build`` the
    temporary directory is removed and ``path`` is untouched."""
    import shutil

    path = _absolute(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _recover(path)
    tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + path.name + "-", dir=path.parent))
    try:
        build(tmp)
        _permit(tmp, like=path, directory=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not path.exists():
        os.replace(tmp, path)
    elif _exchange(tmp, path):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old directory
    else:
        old = Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "old-", dir=path.parent))
        os.replace(path, old / path.name)
        os.replace(tmp, path)
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

    directory = _absolute(directory)
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


def exclusive_beside(path: str | Path, what: str, *, wait: bool = False):
    """:func:`exclusive` on ``path`` through a lock file beside it (``.NAME.lock`` in its
    parent), for a directory that is replaced whole (a lock inside would go with it)."""
    path = _absolute(path)
    return exclusive(path.parent, what, wait=wait, name=f".{path.name}.lock")
