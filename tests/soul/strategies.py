"""Hypothesis strategies for soul events."""

from hypothesis import strategies as st

from soul import DayEnded, HelpedAgent, LearnedPattern, TaskCompleted, TaskFailed

domains = st.sampled_from(
    ["technical", "research", "philosophy", "writing", "operations", "design", "law"]
)
task_types = st.sampled_from(["coordination", "handoff", "synthesis"])
unit = st.floats(0.0, 1.0, allow_nan=False)

completed = st.builds(
    TaskCompleted, domain=domains, task_type=task_types, difficulty=unit, quality=unit
)
failed = st.builds(
    TaskFailed,
    domain=domains,
    task_type=task_types,
    reason=st.sampled_from(["deadline", "conflict", "wrong answer"]),
)
helped = st.builds(HelpedAgent, agent_id=st.integers(0, 15))
learned = st.builds(
    LearnedPattern, pattern=st.sampled_from(["pairing", "rushed decisions"]), avoid=st.booleans()
)


@st.composite
def event_streams(draw, max_days: int = 20):
    """A list of events in which days end in order (0, 1, 2, ...), possibly with gaps."""
    events = []
    day = 0
    for _ in range(draw(st.integers(0, max_days))):
        events += draw(st.lists(st.one_of(completed, failed, helped, learned), max_size=6))
        day += draw(st.sampled_from([1, 1, 1, 1, 2]))
        events.append(DayEnded(day=day))
    return events
