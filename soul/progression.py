"""How events change a soul: XP, achievements, and meta-learning.

:func:`apply_event` is the one place a soul changes. It returns an :class:`Award` with
every XP amount (and its source) and every achievement unlocked, so ``soul.xp`` always
equals the sum of what was reported. All constants live in :mod:`soul.rules`.

XP (``rules.xp``)
    * ``TaskCompleted``: ``completion_min + round((completion_max - completion_min) *
      difficulty)`` (10…100), plus ``quality_bonus`` (50) when ``quality >=
      quality_threshold`` (0.8).
    * ``HelpedAgent``: ``help`` (25) every time.
    * ``LearnedPattern``: ``pattern`` (15) the first time a pattern to follow is learned;
      a pattern to avoid (``avoid=True``, e.g. after a conflict) earns nothing.
    * ``TaskFailed``, ``ProposalJudged`` and ``DayEnded`` give no XP. XP never decreases.
    So XP grows with tasks completed, their difficulty and their quality, and with help
    given: with competence, not with mistakes.

Meta-learning (``rules.learning``; ``lr = metaLearning.learningRate``,
``a = metaLearning.adaptabilityScore``)
    * Domain skill moves toward the observed quality:
      ``skill <- skill + lr * skill_step * (q - skill)``, with ``q`` the task's quality,
      or ``failure_quality`` (0) for a failure. An unseen domain starts at
      ``initial_skill``.
    * Each task type and each domain keeps a success estimate,
      ``e <- e + a * (outcome - e)`` with outcome 1 for a completion and 0 for a
      failure; ``preferredTaskTypes`` are the ``top_k`` types whose estimate is at least
      ``preferred_threshold``, ``strengthDomains`` the ``top_k`` domains whose estimate
      is at least ``strength_threshold``, best first (ties by name). So preferences
      drift towards where the soul succeeds, as fast as ``adaptabilityScore`` says (at
      0 an estimate never moves, and the lists stay as given). A preference given in
      ``metaLearning`` starts its estimate at :data:`soul.schema.SEEDED_ESTIMATE` (0.8);
      a soul with no records keeps the lists it was given. Once an estimate moves, the
      list is recomputed and holds at most ``top_k`` entries.
    * ``ProposalJudged``: the domain's track record as a voter (components right and
      wrong), from which :meth:`soul.Soul.expertise` estimates its accuracy (a Beta
      posterior with the prior ``accuracy_prior``).
    * A failure reason that recurs ``avoid_after_failures`` (3) times puts its lesson
      (``failure_lessons``: "missed the deadline" teaches "rushed decisions"; else the
      reason itself) on ``avoidPatterns``; ``LearnedPattern(avoid=True)`` adds its
      pattern at once, and ``LearnedPattern(avoid=False)`` for a pattern on that list
      takes it off.

Days (``DayEnded(day)``)
    A day is *perfect* when the soul completed at least one task and failed none. The
    streak of consecutive perfect days (day numbers ``d, d+1, …``) grows by one per
    perfect day and restarts after an imperfect day or a gap in day numbers (e.g. a new
    simulation that counts from 0 again). Then the day's counters reset.

Achievements (``rules.achievements``)
    After each event, every achievement not yet held whose metric has reached its
    threshold is awarded, once, stamped with the soul's day and event count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from soul.events import (
    DayEnded,
    Event,
    HelpedAgent,
    LearnedPattern,
    ProposalJudged,
    TaskCompleted,
    TaskFailed,
)
from soul.levels import Level
from soul.rules import DEFAULT_RULES, Rules
from soul.schema import Achievement, DomainRecord, Soul, TaskTypeRecord


@dataclass(frozen=True)
class XPGain:
    """An amount of XP and the rule that gave it."""

    source: str
    amount: int


@dataclass
class Award:
    """What one event gave a soul."""

    xp: list[XPGain] = field(default_factory=list)
    achievements: list[str] = field(default_factory=list)
    level_before: Level = Level.NOVICE
    level_after: Level = Level.NOVICE

    @property
    def total_xp(self) -> int:
        return sum(g.amount for g in self.xp)

    @property
    def leveled_up(self) -> bool:
        return self.level_after != self.level_before


def apply_event(soul: Soul, event: Event, rules: Rules | None = None) -> Award:
    """Apply ``event`` to ``soul`` in place and return the award (see module docstring)."""
    rules = rules or DEFAULT_RULES
    award = Award(level_before=soul.level)
    handler = _HANDLERS.get(type(event))
    if handler is None:
        raise TypeError(f"not a soul event: {event!r}")
    handler(soul, event, rules, award)
    soul.events_applied += 1
    soul.xp += award.total_xp
    for rule in rules.achievements:
        if not soul.has_achievement(rule.name) and rule.earned_by(soul):
            soul.achievements.append(
                Achievement(name=rule.name, day=soul.days_lived, event=soul.events_applied)
            )
            award.achievements.append(rule.name)
    award.level_after = soul.level
    return award


# Handlers ---------------------------------------------------------------------------


def _completed(soul: Soul, ev: TaskCompleted, rules: Rules, award: Award) -> None:
    award.xp.append(XPGain("task_completed", rules.xp.completion(ev.difficulty)))
    if ev.quality >= rules.xp.quality_threshold:
        award.xp.append(XPGain("quality_bonus", rules.xp.quality_bonus))
    _domain(soul, ev.domain, rules).successes += 1
    _learn_skill(soul, ev.domain, ev.quality, rules)
    _learn_strength(soul, ev.domain, 1.0, rules)
    _learn_task_type(soul, ev.task_type, 1.0, rules).successes += 1
    soul.today_completed += 1


def _failed(soul: Soul, ev: TaskFailed, rules: Rules, award: Award) -> None:
    _domain(soul, ev.domain, rules).failures += 1
    _learn_skill(soul, ev.domain, rules.learning.failure_quality, rules)
    _learn_strength(soul, ev.domain, 0.0, rules)
    _learn_task_type(soul, ev.task_type, 0.0, rules).failures += 1
    soul.today_failed += 1
    count = soul.failure_reasons.get(ev.reason, 0) + 1
    soul.failure_reasons[ev.reason] = count
    if count >= rules.learning.avoid_after_failures:
        _avoid(soul, rules.learning.failure_lessons.get(ev.reason, ev.reason))


def _helped(soul: Soul, ev: HelpedAgent, rules: Rules, award: Award) -> None:
    award.xp.append(XPGain("helped_agent", rules.xp.help))
    soul.times_helped += 1
    other = str(ev.agent_id)
    if other not in soul.agents_helped:
        soul.agents_helped = sorted([*soul.agents_helped, other])


def _learned(soul: Soul, ev: LearnedPattern, rules: Rules, award: Award) -> None:
    if ev.pattern not in soul.patterns:
        soul.patterns.append(ev.pattern)
        if not ev.avoid:  # a mistake to avoid is no competence
            award.xp.append(XPGain("learned_pattern", rules.xp.pattern))
    meta = soul.meta_learning
    if ev.avoid:
        _avoid(soul, ev.pattern)
    elif ev.pattern in meta.avoid_patterns:
        meta.avoid_patterns.remove(ev.pattern)


def _judged(soul: Soul, ev: ProposalJudged, rules: Rules, award: Award) -> None:
    rec = _domain(soul, ev.domain, rules)
    rec.proposals_right += ev.right
    rec.proposals_wrong += ev.wrong


def _day_ended(soul: Soul, ev: DayEnded, rules: Rules, award: Award) -> None:
    perfect = soul.today_completed > 0 and soul.today_failed == 0
    consecutive = soul.last_day is not None and ev.day == soul.last_day + 1
    if perfect:
        soul.perfect_day_streak = soul.perfect_day_streak + 1 if consecutive else 1
    else:
        soul.perfect_day_streak = 0
    soul.last_day = ev.day
    soul.days_lived += 1
    soul.today_completed = 0
    soul.today_failed = 0


_HANDLERS = {
    TaskCompleted: _completed,
    TaskFailed: _failed,
    HelpedAgent: _helped,
    LearnedPattern: _learned,
    ProposalJudged: _judged,
    DayEnded: _day_ended,
}


# Meta-learning ----------------------------------------------------------------------


def _domain(soul: Soul, domain: str, rules: Rules) -> DomainRecord:
    rec = soul.domains.get(domain)
    if rec is None:
        rec = soul.domains[domain] = DomainRecord(
            skill=rules.learning.initial_skill,
            success_estimate=rules.learning.initial_success_estimate,
        )
    return rec


def _learn_skill(soul: Soul, domain: str, quality: float, rules: Rules) -> None:
    rec = _domain(soul, domain, rules)
    step = soul.meta_learning.learning_rate * rules.learning.skill_step
    rec.skill = min(1.0, max(0.0, rec.skill + step * (quality - rec.skill)))


def _learn_strength(soul: Soul, domain: str, outcome: float, rules: Rules) -> None:
    rec = _domain(soul, domain, rules)
    before = rec.success_estimate
    rec.success_estimate += soul.meta_learning.adaptability_score * (outcome - rec.success_estimate)
    if rec.success_estimate == before:  # nothing moved (adaptabilityScore 0): keep the list
        return
    keep = [
        d
        for d, r in soul.domains.items()
        if r.success_estimate >= rules.learning.strength_threshold
    ]
    keep.sort(key=lambda d: (-soul.domains[d].success_estimate, d))
    soul.meta_learning.strength_domains = keep[: rules.learning.top_k]


def _learn_task_type(soul: Soul, task_type: str, outcome: float, rules: Rules) -> TaskTypeRecord:
    rec = soul.task_types.get(task_type)
    if rec is None:
        rec = soul.task_types[task_type] = TaskTypeRecord(
            success_estimate=rules.learning.initial_success_estimate
        )
    a = soul.meta_learning.adaptability_score
    before = rec.success_estimate
    rec.success_estimate += a * (outcome - rec.success_estimate)
    if rec.success_estimate == before:  # nothing moved (adaptabilityScore 0): keep the list
        return rec
    keep = [
        t
        for t, r in soul.task_types.items()
        if r.success_estimate >= rules.learning.preferred_threshold
    ]
    keep.sort(key=lambda t: (-soul.task_types[t].success_estimate, t))
    soul.meta_learning.preferred_task_types = keep[: rules.learning.top_k]
    return rec


def _avoid(soul: Soul, pattern: str) -> None:
    if pattern not in soul.meta_learning.avoid_patterns:
        soul.meta_learning.avoid_patterns.append(pattern)
