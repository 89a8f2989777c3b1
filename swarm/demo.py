"""The main job behind ``make demo``.

Until the swarm simulation lands, the demo exercises what exists: a seeded stream of
soul events for a handful of agents over simulated days, saved to a soul store.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from soul import DayEnded, HelpedAgent, LearnedPattern, SoulStore, TaskCompleted, TaskFailed

DOMAINS = ("technical", "research", "philosophy", "writing", "operations", "design")
TASK_TYPES = ("coordination", "handoff", "synthesis")


def run_demo(out: Path, *, seed: int = 0, agents: int = 8, days: int = 30) -> Iterator[str]:
    """Run the demo into ``out``; yields lines saying what was written where."""
    rng = random.Random(seed)
    store = SoulStore(Path(out) / "souls")
    souls = [store.load_or_create(f"agent-{i}", name=f"Agent {i}") for i in range(agents)]
    for day in range(days):
        for i, s in enumerate(souls):
            for _ in range(rng.randint(1, 4)):
                domain = rng.choice(DOMAINS[: 2 + i % 5])
                task_type = rng.choice(TASK_TYPES)
                if rng.random() < 0.85:
                    s.apply(
                        TaskCompleted(
                            domain=domain,
                            task_type=task_type,
                            difficulty=rng.random(),
                            quality=rng.random(),
                        )
                    )
                else:
                    s.apply(TaskFailed(domain=domain, task_type=task_type, reason="deadline"))
            if rng.random() < 0.3:
                s.apply(HelpedAgent(agent_id=rng.randrange(agents)))
            if rng.random() < 0.05:
                s.apply(
                    LearnedPattern(
                        pattern=rng.choice(["rushed decisions", "pair review"]),
                        avoid=rng.random() < 0.5,
                    )
                )
            s.apply(DayEnded(day=day))
    for s in souls:
        store.save(s)
    yield f"souls: {len(souls)} agents over {days} days -> {store.directory}"
    for s in souls:
        yield (
            f"  {s.id}: {s.level.value:<10} {s.xp:>6} XP  {', '.join(s.achievement_names) or '-'}"
        )
    yield f"look at one: swarm soul show agent-0 --store {store.directory}"
