"""The soul: an agent's persistent progression record.

JSON uses the spec's camelCase names (``metaLearning``, ``preferredTaskTypes``, …);
Python uses snake_case. Both spellings validate; :meth:`Soul.to_json` writes camelCase.
``level`` is derived from ``xp`` and never stored out of step: it appears in dumps for
readers, and a file whose ``level`` disagrees with its ``xp`` is rejected.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from soul.levels import Level, level_for, level_progress, xp_to_next_level

if TYPE_CHECKING:
    from soul.events import Event
    from soul.progression import Award
    from soul.rules import Rules

#: The success estimate a preference given in ``metaLearning`` starts from.
SEEDED_ESTIMATE = 0.8
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
MAX_ID_LENGTH = 128


def validate_soul_id(soul_id: str) -> str:
    """Return ``soul_id`` if it is safe as a file name, else raise ``ValueError`` naming it.

    Allowed: letters, digits, ``_``, ``-`` and ``.``, starting with a letter or digit, at
    most 128 characters, and no ``..``.
    """
    if (
        not isinstance(soul_id, str)
        or not 0 < len(soul_id) <= MAX_ID_LENGTH
        or not _ID_RE.fullmatch(soul_id)
        or ".." in soul_id
    ):
        raise ValueError(
            f"invalid soul id {soul_id!r}: use 1-{MAX_ID_LENGTH} letters, digits, '_', '-' "
            "or '.', starting with a letter or digit, without '..'"
        )
    return soul_id


class _Model(BaseModel):
    """Shared config: camelCase aliases, both spellings accepted, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        """Accept dumps that include computed fields: they are recomputed, not stored."""
        if not isinstance(data, dict):
            return data
        derived = cls.model_computed_fields
        if not derived:
            return data
        keys = set(derived) | {to_camel(name) for name in derived}
        return {k: v for k, v in data.items() if k not in keys or k == "level"}


class MetaLearning(_Model):
    """The spec's meta-learning parameters (update rules in :mod:`soul.progression`)."""

    preferred_task_types: list[str] = Field(default_factory=list)
    strength_domains: list[str] = Field(default_factory=list)
    avoid_patterns: list[str] = Field(default_factory=list)
    learning_rate: float = Field(0.5, ge=0.0, le=1.0)
    adaptability_score: float = Field(0.5, ge=0.0, le=1.0)


class DomainRecord(_Model):
    """What a soul has done in one domain: its work (successes, failures, the skill its
    work's quality shows, and a success estimate that ``strengthDomains`` follow) and its
    track record as a voter (components of its own proposals judged right or wrong once
    the outcome is known: :class:`soul.events.ProposalJudged`)."""

    successes: int = Field(0, ge=0)
    failures: int = Field(0, ge=0)
    skill: float = Field(0.3, ge=0.0, le=1.0, description="estimated quality of its work")
    success_estimate: float = Field(0.5, ge=0.0, le=1.0)
    proposals_right: int = Field(0, ge=0)
    proposals_wrong: int = Field(0, ge=0)

    @computed_field
    @property
    def tasks(self) -> int:
        """Tasks attempted in this domain (successes + failures)."""
        return self.successes + self.failures


class TaskTypeRecord(_Model):
    """Outcomes per task type; ``success_estimate`` drives ``preferredTaskTypes``."""

    successes: int = Field(0, ge=0)
    failures: int = Field(0, ge=0)
    success_estimate: float = Field(0.5, ge=0.0, le=1.0)


class Achievement(_Model):
    """An achievement and when it was earned (the soul's day count and event count)."""

    name: str
    day: int = Field(ge=0, description="days the soul had lived when it earned this")
    event: int = Field(ge=0, description="events the soul had applied when it earned this")


class Soul(_Model):
    """An agent's persistent progression record. See the module docstring."""

    id: str = "anonymous"
    name: str = ""
    xp: int = Field(0, ge=0)
    achievements: list[Achievement] = Field(default_factory=list)
    domains: dict[str, DomainRecord] = Field(default_factory=dict)
    task_types: dict[str, TaskTypeRecord] = Field(default_factory=dict)
    agents_helped: list[str] = Field(default_factory=list, description="distinct ids, sorted")
    times_helped: int = Field(0, ge=0, description="help events, repeats included")
    patterns: list[str] = Field(default_factory=list, description="patterns learned")
    failure_reasons: dict[str, int] = Field(default_factory=dict)
    days_lived: int = Field(0, ge=0)
    last_day: int | None = None
    perfect_day_streak: int = Field(0, ge=0)
    today_completed: int = Field(0, ge=0)
    today_failed: int = Field(0, ge=0)
    events_applied: int = Field(0, ge=0)
    meta_learning: MetaLearning = Field(default_factory=MetaLearning)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return validate_soul_id(value)

    @model_validator(mode="before")
    @classmethod
    def _level_in_step(cls, data: Any) -> Any:
        if isinstance(data, dict) and "level" in data:
            data = dict(data)
            stated = data.pop("level")
            xp = data.get("xp", 0)
            if isinstance(xp, int) and xp >= 0 and str(stated) != level_for(xp).value:
                raise ValueError(
                    f"level {stated!r} does not match xp {xp} (that is {level_for(xp).value})"
                )
        return data

    @model_validator(mode="after")
    def _seed_preferences(self) -> Soul:
        """A preference given without a record behind it starts a record at
        :data:`SEEDED_ESTIMATE`, so experience moves it (at ``adaptabilityScore``) instead
        of the first event replacing the list."""
        meta = self.meta_learning
        for t in meta.preferred_task_types:
            if t not in self.task_types:
                self.task_types[t] = TaskTypeRecord(success_estimate=SEEDED_ESTIMATE)
        for d in meta.strength_domains:
            if d not in self.domains:
                self.domains[d] = DomainRecord(success_estimate=SEEDED_ESTIMATE)
            elif self.domains[d].tasks == 0:
                self.domains[d].success_estimate = max(
                    self.domains[d].success_estimate, SEEDED_ESTIMATE
                )
        return self

    @model_validator(mode="after")
    def _achievements_earned(self) -> Soul:
        """A stored soul may claim only achievements its own record bears out (for the
        counters that never go down; the perfect-day streak restarts, so Perfect Week
        stands on its own)."""
        from soul.achievements import DEFAULT_ACHIEVEMENTS, METRICS

        names = self.achievement_names
        if len(set(names)) != len(names):
            raise ValueError("an achievement is listed twice")
        rules = {r.name: r for r in DEFAULT_ACHIEVEMENTS if r.metric != "perfect_day_streak"}
        week = next((r for r in DEFAULT_ACHIEVEMENTS if r.metric == "perfect_day_streak"), None)
        if week is not None and week.name in names:  # a perfect day has a completed task
            done = METRICS["tasks_completed"](self)
            if done < week.threshold:
                raise ValueError(
                    f"achievement {week.name!r} is not borne out: tasks_completed is {done}, "
                    f"{week.threshold} perfect days need at least {week.threshold}"
                )
        for name in names:
            rule = rules.get(name)
            if rule is not None and not rule.earned_by(self):
                have = METRICS[rule.metric](self)
                raise ValueError(
                    f"achievement {name!r} is not borne out: {rule.metric} is {have}, "
                    f"it needs {rule.threshold}"
                )
        return self

    # Derived views -------------------------------------------------------------------

    @computed_field
    @property
    def level(self) -> Level:
        """The level, derived from ``xp``."""
        return level_for(self.xp)

    @property
    def xp_to_next_level(self) -> int | None:
        """XP still needed for the next level (None at Master)."""
        return xp_to_next_level(self.xp)

    @property
    def level_progress(self) -> float:
        """Fraction of the current level's span already earned."""
        return level_progress(self.xp)

    @property
    def achievement_names(self) -> list[str]:
        return [a.name for a in self.achievements]

    def has_achievement(self, name: str) -> bool:
        return any(a.name == name for a in self.achievements)

    def skill(self, domain: str, rules: Rules | None = None) -> float:
        """Skill estimate in ``domain`` (the rules' initial skill if never seen)."""
        rec = self.domains.get(domain)
        if rec is not None:
            return rec.skill
        from soul.rules import DEFAULT_RULES

        return (rules or DEFAULT_RULES).learning.initial_skill

    def accuracy_posterior(self, domain: str, rules: Rules | None = None) -> tuple[float, float]:
        """The Beta posterior ``(a, b)`` of how often this soul's proposals in ``domain``
        are right: the rules' prior (``accuracy_prior``, pseudo-counts) plus its judged
        proposal components."""
        from soul.rules import DEFAULT_RULES

        a0, b0 = (rules or DEFAULT_RULES).learning.accuracy_prior
        rec = self.domains.get(domain)
        if rec is None:
            return a0, b0
        return a0 + rec.proposals_right, b0 + rec.proposals_wrong

    def expertise(self, domain: str, rules: Rules | None = None) -> float:
        """Expertise in ``domain``: the estimated accuracy of this soul's proposals there
        (the posterior mean of :meth:`accuracy_posterior`), learned from its own track
        record. Neither its level nor the world's hidden skill enters."""
        a, b = self.accuracy_posterior(domain, rules)
        return a / (a + b)

    def expertise_interval(
        self, domain: str, rules: Rules | None = None, level: float = 0.9
    ) -> tuple[float, float]:
        """The central ``level`` credible interval of the estimated accuracy."""
        from scipy.stats import beta

        a, b = self.accuracy_posterior(domain, rules)
        lo, hi = beta.interval(level, a, b)
        return float(lo), float(hi)

    @property
    def main_domain(self) -> str | None:
        """The domain with most completed tasks (ties: highest skill, then name)."""
        if not self.domains:
            return None
        return min(
            self.domains, key=lambda d: (-self.domains[d].successes, -self.domains[d].skill, d)
        )

    # Changes -------------------------------------------------------------------------

    def apply(self, event: Event, rules: Rules | None = None) -> Award:
        """Apply ``event`` and return what it awarded (see :mod:`soul.progression`)."""
        from soul.progression import apply_event

        return apply_event(self, event, rules)

    def to_json(self, *, indent: int | None = 2) -> str:
        """camelCase JSON, as stored by :class:`soul.SoulStore`."""
        return self.model_dump_json(by_alias=True, indent=indent)
