"""Achievements as a table: each is a named threshold on one of a soul's counters.

An achievement is awarded once, the first time ``metric(soul) >= threshold`` after an
event. The metrics are the soul's read-only counters (see :data:`METRICS`), so adding an
achievement is adding a row, not a code branch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from soul.schema import Soul

MetricName = Literal[
    "tasks_completed", "distinct_agents_helped", "perfect_day_streak", "domains_completed"
]


def _tasks_completed(soul: Soul) -> int:
    return sum(rec.successes for rec in soul.domains.values())


def _distinct_agents_helped(soul: Soul) -> int:
    return len(soul.agents_helped)


def _perfect_day_streak(soul: Soul) -> int:
    return soul.perfect_day_streak


def _domains_completed(soul: Soul) -> int:
    return sum(1 for rec in soul.domains.values() if rec.successes > 0)


#: The counters an achievement can be defined on.
METRICS = {
    "tasks_completed": _tasks_completed,
    "distinct_agents_helped": _distinct_agents_helped,
    "perfect_day_streak": _perfect_day_streak,
    "domains_completed": _domains_completed,
}


class AchievementRule(BaseModel):
    """One row of the achievements table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    metric: MetricName
    threshold: int = Field(ge=1)
    description: str = ""

    def earned_by(self, soul: Soul) -> bool:
        return METRICS[self.metric](soul) >= self.threshold


DEFAULT_ACHIEVEMENTS: tuple[AchievementRule, ...] = (
    AchievementRule(
        name="First Steps",
        metric="tasks_completed",
        threshold=1,
        description="completed a first task",
    ),
    AchievementRule(
        name="Mentor",
        metric="distinct_agents_helped",
        threshold=10,
        description="helped 10 distinct agents",
    ),
    AchievementRule(
        name="Perfect Week",
        metric="perfect_day_streak",
        threshold=7,
        description="7 consecutive days, each with a completed task and no failure",
    ),
    AchievementRule(
        name="Polymath",
        metric="domains_completed",
        threshold=5,
        description="completed tasks in 5 or more distinct domains",
    ),
)
