"""Rich progress bars for long jobs, or nothing at all when they are not shown.

One :class:`Bars` per job; each long stage adds a bar (a count and ETA when its total is
known, a running count when it is not)::

    with Bars(show=True) as bars:
        for item in bars.track(items, "dedup"):
            ...
        advance = bars.add("augment", total=n)
        advance()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def _noop(n: int = 1, note: str | None = None) -> None:
    return None


class Bars:
    """A group of rich progress bars shown while the context is open (if ``show``)."""

    def __init__(self, show: bool = True) -> None:
        self.show = show
        self._progress = None

    def __enter__(self) -> Bars:
        if self.show:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description:<12}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def add(self, name: str, total: int | None = None, done: int = 0) -> Callable[..., None]:
        """A new bar; returns ``advance(n=1, note=None)`` (a note, e.g. the loss, is shown
        beside the count)."""
        if self._progress is None:
            return _noop
        job = self._progress.add_task(name, total=total, completed=done, note="")
        progress = self._progress

        def advance(n: int = 1, note: str | None = None) -> None:
            if note is None:
                progress.advance(job, n)
            else:
                progress.update(job, advance=n, note=note)

        return advance

    def track(self, items: Iterable[T], name: str, total: int | None = None) -> Iterator[T]:
        """Iterate ``items``, advancing a bar per item."""
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        advance = self.add(name, total)
        for item in items:
            yield item
            advance()
