"""Progression rules as data: how much XP each event is worth, and how souls learn.

Override any value by building your own rules, e.g.
``Rules(xp=XPRules(help=40))``, and passing them to :meth:`soul.Soul.apply`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from soul.achievements import DEFAULT_ACHIEVEMENTS, AchievementRule


class XPRules(BaseModel):
    """XP awarded per event (the spec's XP sources)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    completion_min: int = Field(10, ge=0, description="XP for a completed task of difficulty 0")
    completion_max: int = Field(100, ge=0, description="XP for a completed task of difficulty 1")
    quality_bonus: int = Field(50, ge=0, description="bonus when quality >= quality_threshold")
    quality_threshold: float = Field(0.8, ge=0.0, le=1.0)
    help: int = Field(25, ge=0, description="XP for helping another agent")
    pattern: int = Field(15, ge=0, description="XP for learning a new pattern")

    @model_validator(mode="after")
    def _ordered(self) -> XPRules:
        if self.completion_max < self.completion_min:
            raise ValueError("completion_max must be >= completion_min")
        return self

    def completion(self, difficulty: float) -> int:
        """XP for completing a task: linear in difficulty from min to max, rounded."""
        span = self.completion_max - self.completion_min
        return self.completion_min + round(span * difficulty)


class LearningRules(BaseModel):
    """Constants of the meta-learning update rules (see :mod:`soul.progression`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    initial_skill: float = Field(0.3, ge=0.0, le=1.0, description="skill in an unseen domain")
    skill_step: float = Field(
        0.25, ge=0.0, le=1.0, description="skill moves learningRate*skill_step toward quality"
    )
    failure_quality: float = Field(0.0, ge=0.0, le=1.0, description="observed quality of a fail")
    initial_success_estimate: float = Field(0.5, ge=0.0, le=1.0)
    preferred_threshold: float = Field(
        0.6, ge=0.0, le=1.0, description="success estimate a task type needs to be preferred"
    )
    top_k: int = Field(2, ge=1, description="length of strengthDomains / preferredTaskTypes")
    avoid_after_failures: int = Field(
        3, ge=1, description="failures for one reason before it joins avoidPatterns"
    )
    accuracy_prior: tuple[float, float] = Field(
        (1.0, 1.0), description="Beta prior (pseudo-counts right, wrong) of proposal accuracy"
    )

    @field_validator("accuracy_prior")
    @classmethod
    def _positive_prior(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(x > 0 for x in v):
            raise ValueError(f"both pseudo-counts must be > 0, got {v}")
        return v

    failure_lessons: dict[str, str] = Field(
        default_factory=lambda: {"missed the deadline": "rushed decisions"},
        description="the pattern a recurring failure reason teaches to avoid (else itself)",
    )
    strength_threshold: float = Field(
        0.6, ge=0.0, le=1.0, description="success estimate a domain needs to be a strength"
    )


class Rules(BaseModel):
    """Everything that decides progression: XP, learning, achievements."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    xp: XPRules = XPRules()
    learning: LearningRules = LearningRules()
    achievements: tuple[AchievementRule, ...] = DEFAULT_ACHIEVEMENTS


DEFAULT_RULES = Rules()
