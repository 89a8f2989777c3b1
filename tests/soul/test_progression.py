import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from soul import (
    EVENT_ADAPTER,
    DayEnded,
    HelpedAgent,
    LearnedPattern,
    Rules,
    Soul,
    TaskCompleted,
    TaskFailed,
    XPRules,
)

from .strategies import event_streams


def done(domain="technical", task_type="coordination", difficulty=0.5, quality=0.5):
    return TaskCompleted(domain=domain, task_type=task_type, difficulty=difficulty, quality=quality)


@given(event_streams())
def test_xp_never_decreases_and_equals_the_sum_reported(events):
    soul = Soul(id="s")
    total = 0
    for ev in events:
        before = soul.xp
        award = soul.apply(ev)
        assert all(g.amount >= 0 for g in award.xp)
        total += award.total_xp
        assert soul.xp >= before
        assert soul.xp == total
        assert soul.level == award.level_after


@given(event_streams())
def test_each_achievement_fires_exactly_once(events):
    soul = Soul(id="s")
    fired = []
    for ev in events:
        fired += soul.apply(ev).achievements
    assert len(fired) == len(set(fired))
    assert fired == soul.achievement_names
    # and each one held is deserved by its rule
    rules = {r.name: r for r in Rules().achievements}
    for name in fired:
        assert rules[name].earned_by(soul)


def test_xp_table():
    soul = Soul(id="s")
    assert soul.apply(done(difficulty=0.0, quality=0.1)).total_xp == 10
    assert soul.apply(done(difficulty=1.0, quality=0.1)).total_xp == 100
    award = soul.apply(done(difficulty=0.5, quality=0.8))
    assert [(g.source, g.amount) for g in award.xp] == [
        ("task_completed", 55),
        ("quality_bonus", 50),
    ]
    assert soul.apply(HelpedAgent(agent_id=3)).total_xp == 25
    assert soul.apply(LearnedPattern(pattern="pairing")).total_xp == 15
    assert soul.apply(LearnedPattern(pattern="pairing")).total_xp == 0  # once per pattern
    assert soul.apply(TaskFailed(domain="technical", task_type="handoff")).total_xp == 0


def test_xp_rules_are_overridable():
    rules = Rules(xp=XPRules(help=40, quality_threshold=0.5))
    soul = Soul(id="s")
    assert soul.apply(HelpedAgent(agent_id=1), rules).total_xp == 40
    assert soul.apply(done(difficulty=0.0, quality=0.5), rules).total_xp == 60


def test_first_steps_and_polymath():
    soul = Soul(id="s")
    assert soul.apply(done()).achievements == ["First Steps"]
    for d in ["research", "philosophy", "writing"]:
        assert soul.apply(done(domain=d)).achievements == []
    assert soul.apply(done(domain="design")).achievements == ["Polymath"]


def test_mentor_needs_ten_distinct_agents():
    soul = Soul(id="s")
    for _ in range(20):
        assert soul.apply(HelpedAgent(agent_id=1)).achievements == []
    got = [soul.apply(HelpedAgent(agent_id=i)).achievements for i in range(2, 11)]
    assert got[-1] == ["Mentor"] and not any(got[:-1])
    assert soul.times_helped == 29


def test_perfect_week_needs_seven_consecutive_perfect_days():
    soul = Soul(id="s")
    for day in range(6):
        soul.apply(done())
        assert soul.apply(DayEnded(day=day)).achievements == []
    # a day with a failure breaks the streak
    soul.apply(done())
    soul.apply(TaskFailed(domain="technical", task_type="handoff"))
    soul.apply(DayEnded(day=6))
    assert soul.perfect_day_streak == 0
    # an idle day breaks it too; a gap in day numbers restarts it
    for day in range(7, 13):
        soul.apply(done())
        soul.apply(DayEnded(day=day))
    soul.apply(done())
    assert soul.apply(DayEnded(day=20)).achievements == []
    assert soul.perfect_day_streak == 1
    for day in range(21, 27):
        soul.apply(done())
        award = soul.apply(DayEnded(day=day))
    assert award.achievements == ["Perfect Week"]
    assert soul.achievements[-1].day == soul.days_lived


def test_meta_learning_rules():
    soul = Soul(id="s", meta_learning={"learning_rate": 1.0, "adaptability_score": 1.0})
    soul.apply(done(domain="philosophy", quality=1.0))
    soul.apply(done(domain="technical", quality=0.5))
    assert soul.meta_learning.strength_domains == ["philosophy", "technical"]
    assert soul.skill("philosophy") == pytest.approx(0.3 + 0.25 * 0.7)
    # adaptability 1: the estimate jumps to the last outcome
    soul.apply(TaskFailed(domain="technical", task_type="coordination", reason="rushed"))
    assert "coordination" not in soul.meta_learning.preferred_task_types
    soul.apply(done(task_type="synthesis"))
    assert soul.meta_learning.preferred_task_types == ["synthesis"]
    for _ in range(2):
        soul.apply(TaskFailed(domain="technical", task_type="handoff", reason="rushed"))
    assert soul.meta_learning.avoid_patterns == ["rushed"]
    soul.apply(LearnedPattern(pattern="rushed", avoid=False))
    assert soul.meta_learning.avoid_patterns == []


def test_learning_rate_zero_means_skills_stay():
    soul = Soul(id="s", meta_learning={"learning_rate": 0.0})
    for _ in range(10):
        soul.apply(done(quality=1.0))
    assert soul.skill("technical") == pytest.approx(0.3)


@given(event_streams(), st.sampled_from(["technical", "law", "unseen"]))
def test_expertise_is_in_unit_interval(events, domain):
    soul = Soul(id="s")
    for ev in events:
        soul.apply(ev)
    assert 0.0 <= soul.expertise(domain) <= 1.0


def test_expertise_is_the_track_record_not_level_or_skill():
    from soul import ProposalJudged

    novice = Soul(id="a", domains={"technical": {"skill": 0.8}})
    master = Soul(id="b", xp=20_000, domains={"technical": {"skill": 0.8}})
    assert master.expertise("technical") == novice.expertise("technical") == 0.5  # the prior
    award = novice.apply(ProposalJudged(domain="technical", right=7, wrong=1))
    assert award.total_xp == 0
    assert novice.accuracy_posterior("technical") == (8.0, 2.0)
    assert novice.expertise("technical") == pytest.approx(0.8)
    lo, hi = novice.expertise_interval("technical")
    assert lo < 0.8 < hi and hi - lo < 0.5
    novice.apply(ProposalJudged(domain="technical", right=70, wrong=10))
    lo2, hi2 = novice.expertise_interval("technical")
    assert hi2 - lo2 < (hi - lo) / 2  # more record, less uncertainty


def test_a_conflict_learned_as_a_pattern_to_avoid_earns_no_xp():
    soul = Soul(id="s")
    award = soul.apply(LearnedPattern(pattern="claiming a contested task", avoid=True))
    assert award.total_xp == 0 and soul.xp == 0
    assert "claiming a contested task" in soul.meta_learning.avoid_patterns
    assert soul.apply(LearnedPattern(pattern="hand off early")).total_xp == 15


def test_given_preferences_drift_with_experience_at_the_adaptability_rate():
    def run(adaptability):
        soul = Soul(
            id="s",
            meta_learning={
                "preferred_task_types": ["synthesis"],
                "strength_domains": ["design"],
                "adaptability_score": adaptability,
            },
        )
        assert soul.meta_learning.preferred_task_types == ["synthesis"]
        steps = 0
        while "synthesis" in soul.meta_learning.preferred_task_types and steps < 100:
            soul.apply(TaskFailed(domain="design", task_type="synthesis"))
            soul.apply(done(task_type="coordination"))
            steps += 1
        return soul, steps

    slow, slow_steps = run(0.1)
    fast, fast_steps = run(0.9)
    assert fast_steps < slow_steps  # preferences follow experience faster
    assert fast.meta_learning.preferred_task_types == ["coordination"]
    assert "design" not in fast.meta_learning.strength_domains
    assert fast.meta_learning.strength_domains == ["technical"]


def test_events_validate_their_ranges_and_round_trip_as_json():
    with pytest.raises(ValidationError, match="difficulty"):
        TaskCompleted(domain="d", task_type="t", difficulty=1.5, quality=0.5)
    ev = done()
    assert EVENT_ADAPTER.validate_json(ev.model_dump_json()) == ev
    with pytest.raises(TypeError, match="not a soul event"):
        Soul(id="s").apply("nope")


def test_with_adaptability_zero_the_given_lists_stay_as_given():
    from soul import MetaLearning, Soul, TaskCompleted

    meta = MetaLearning(
        preferred_task_types=["synthesis", "handoff", "coordination"],
        strength_domains=["writing", "technical", "research"],
        adaptability_score=0.0,
    )
    soul = Soul(id="a", name="A", meta_learning=meta)
    soul.apply(TaskCompleted(domain="writing", task_type="synthesis", difficulty=0.5, quality=0.9))
    assert soul.meta_learning.preferred_task_types == ["synthesis", "handoff", "coordination"]
    assert soul.meta_learning.strength_domains == ["writing", "technical", "research"]


def test_a_prior_without_pseudo_counts_is_refused():
    import pytest

    from soul import LearningRules

    with pytest.raises(ValueError, match="accuracy_prior"):
        LearningRules(accuracy_prior=(0.0, 1.0))
