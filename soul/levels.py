"""Levels: a table of XP thresholds, and lookups over it.

The table is data: ``LEVEL_THRESHOLDS`` maps each :class:`Level` to the XP at which it
starts. A level covers ``[its threshold, the next threshold)``; Master has no upper bound.
"""

from __future__ import annotations

import bisect
from enum import StrEnum


class Level(StrEnum):
    """Soul levels, in ascending order."""

    NOVICE = "Novice"
    CAPABLE = "Capable"
    PROFICIENT = "Proficient"
    EXPERT = "Expert"
    MASTER = "Master"

    @property
    def rank(self) -> int:
        """0 for Novice … 4 for Master."""
        return _ORDER.index(self)


#: XP at which each level starts (the spec's table).
LEVEL_THRESHOLDS: dict[Level, int] = {
    Level.NOVICE: 0,
    Level.CAPABLE: 100,
    Level.PROFICIENT: 500,
    Level.EXPERT: 2000,
    Level.MASTER: 10000,
}

_ORDER: list[Level] = sorted(LEVEL_THRESHOLDS, key=LEVEL_THRESHOLDS.__getitem__)
_STARTS: list[int] = [LEVEL_THRESHOLDS[level] for level in _ORDER]


def _check_xp(xp: int) -> None:
    if xp < 0:
        raise ValueError(f"xp must be >= 0, got {xp}")


def level_for(xp: int) -> Level:
    """The level a soul with ``xp`` experience points holds."""
    _check_xp(xp)
    return _ORDER[bisect.bisect_right(_STARTS, xp) - 1]


def next_level(level: Level) -> Level | None:
    """The level after ``level``, or None for the top level."""
    i = level.rank + 1
    return _ORDER[i] if i < len(_ORDER) else None


def xp_to_next_level(xp: int) -> int | None:
    """XP still needed to reach the next level; None at the top level."""
    nxt = next_level(level_for(xp))
    return None if nxt is None else LEVEL_THRESHOLDS[nxt] - xp


def level_progress(xp: int) -> float:
    """Fraction of the current level's XP span already earned (1.0 at the top level)."""
    level = level_for(xp)
    nxt = next_level(level)
    if nxt is None:
        return 1.0
    start, end = LEVEL_THRESHOLDS[level], LEVEL_THRESHOLDS[nxt]
    return (xp - start) / (end - start)
