"""Souls: persistent progression records for agents (XP, levels, achievements,
meta-learning). Pure pydantic: no Mesa, no torch.

>>> from soul import Soul, TaskCompleted
>>> s = Soul(id="a1", name="Ada")
>>> award = s.apply(TaskCompleted(domain="technical", task_type="coordination",
...                               difficulty=1.0, quality=0.9))
>>> award.total_xp, s.level.value
(150, 'Capable')
"""

from soul.achievements import DEFAULT_ACHIEVEMENTS, METRICS, AchievementRule
from soul.events import (
    EVENT_ADAPTER,
    DayEnded,
    Event,
    HelpedAgent,
    LearnedPattern,
    ProposalJudged,
    TaskCompleted,
    TaskFailed,
)
from soul.files import atomic_write, atomic_write_text
from soul.levels import LEVEL_THRESHOLDS, Level, level_for, level_progress, xp_to_next_level
from soul.progression import Award, XPGain, apply_event
from soul.rules import DEFAULT_RULES, LearningRules, Rules, XPRules
from soul.schema import (
    Achievement,
    DomainRecord,
    MetaLearning,
    Soul,
    TaskTypeRecord,
    validate_soul_id,
)
from soul.store import SoulFileError, SoulStore

__all__ = [
    "DEFAULT_ACHIEVEMENTS",
    "DEFAULT_RULES",
    "EVENT_ADAPTER",
    "LEVEL_THRESHOLDS",
    "METRICS",
    "Achievement",
    "AchievementRule",
    "Award",
    "DayEnded",
    "DomainRecord",
    "Event",
    "HelpedAgent",
    "LearnedPattern",
    "LearningRules",
    "Level",
    "MetaLearning",
    "ProposalJudged",
    "Rules",
    "Soul",
    "SoulFileError",
    "SoulStore",
    "TaskCompleted",
    "TaskFailed",
    "TaskTypeRecord",
    "XPGain",
    "XPRules",
    "apply_event",
    "atomic_write",
    "atomic_write_text",
    "level_for",
    "level_progress",
    "validate_soul_id",
    "xp_to_next_level",
]
