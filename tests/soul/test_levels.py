import pytest
from hypothesis import given
from hypothesis import strategies as st

from soul import LEVEL_THRESHOLDS, Level, level_for, level_progress, xp_to_next_level

xps = st.integers(0, 50_000)


@given(xps, xps)
def test_level_is_monotone_in_xp(a, b):
    lo, hi = sorted((a, b))
    assert level_for(lo).rank <= level_for(hi).rank


@pytest.mark.parametrize(
    ("xp", "level"),
    [
        (0, "Novice"),
        (99, "Novice"),
        (100, "Capable"),
        (499, "Capable"),
        (500, "Proficient"),
        (1999, "Proficient"),
        (2000, "Expert"),
        (9999, "Expert"),
        (10000, "Master"),
        (10**9, "Master"),
    ],
)
def test_level_exact_at_every_threshold(xp, level):
    assert level_for(xp) == Level(level)


@given(st.sampled_from(list(LEVEL_THRESHOLDS)))
def test_threshold_starts_its_level(level):
    start = LEVEL_THRESHOLDS[level]
    assert level_for(start) == level
    if start > 0:
        assert level_for(start - 1).rank == level.rank - 1


@given(xps)
def test_xp_to_next_level_reaches_exactly_the_next_level(xp):
    need = xp_to_next_level(xp)
    if need is None:
        assert level_for(xp) == Level.MASTER
        assert level_progress(xp) == 1.0
    else:
        assert need > 0
        assert level_for(xp + need).rank == level_for(xp).rank + 1
        assert level_for(xp + need - 1) == level_for(xp)
        assert 0.0 <= level_progress(xp) < 1.0


def test_negative_xp_is_refused():
    with pytest.raises(ValueError, match="xp must be >= 0"):
        level_for(-1)
