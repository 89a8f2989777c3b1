"""Each meta-learning field changes a run in the direction its documentation says
(:mod:`swarm.policies.heuristic`, :mod:`soul.progression`).

Every comparison runs the same worlds (seeds) under two soul settings; a dense world
(25 × 25, 2 tasks a step) gives idle agents choices between tasks, which is where
preferences act. ``adaptabilityScore`` 0 holds the given preferences fixed where the
test is about their effect, not their drift.
"""

from __future__ import annotations

import numpy as np
import pytest

from soul import MetaLearning, Soul, SoulStore
from swarm import SwarmModel
from swarm.interface.observation import AVOIDABLE
from swarm.world.actions import ActionKind

N, STEPS, SEEDS = 20, 200, (0, 1, 2)
WORLD = dict(size=25, task_rate=2.0)


def _run(tmp_path, meta_of, seed: int, *, on_decisions=None) -> SwarmModel:
    """A run whose agent ``i`` starts with ``MetaLearning(**meta_of(i))`` (None: a fresh
    soul)."""
    store_dir = tmp_path / f"souls-{seed}-{np.random.default_rng().integers(1 << 30)}"
    store = SoulStore(store_dir)
    for i in range(N):
        meta = meta_of(i)
        if meta is not None:
            store.save(Soul(id=f"agent-{i}", name=f"Agent {i}", meta_learning=MetaLearning(**meta)))
    m = SwarmModel(n_agents=N, rng=seed, souls=store_dir, **WORLD)
    if on_decisions is not None:
        m.on_decisions.append(on_decisions)
    for _ in range(STEPS):
        m.step()
    return m


def _work(m: SwarmModel):
    return m.datacollector.get_table_dataframe("work")


def _fixed(**meta):
    return lambda i: {"adaptability_score": 0.0, **meta}


def test_preferred_task_types_raise_the_share_of_that_work(tmp_path):
    share = {}
    for pref in ("synthesis", "coordination"):
        w = [_work(_run(tmp_path, _fixed(preferred_task_types=[pref]), s)) for s in SEEDS]
        share[pref] = np.mean([(x["task_type"] == "synthesis").mean() for x in w])
    assert share["synthesis"] > share["coordination"] + 0.02


def test_strength_domains_steer_who_does_that_work(tmp_path):
    """Half the souls (``agent-0``, ``agent-2``, ...) hold ``technical`` as a strength:
    they do a larger share of the technical work than the same agents do on the same
    worlds without it."""

    def holders_share(m):
        holders = {int(a.unique_id) for a in m.swarm if int(a.soul.id.split("-")[1]) % 2 == 0}
        w = _work(m)
        tech = w[w["domain"] == "technical"]
        return tech["agent_id"].isin(holders).mean()

    with_ = [
        holders_share(
            _run(tmp_path, lambda i: _fixed(strength_domains=["technical"] * (i % 2 == 0))(i), s)
        )
        for s in SEEDS
    ]
    without = [holders_share(_run(tmp_path, _fixed(), s)) for s in SEEDS]
    assert np.mean(with_) > np.mean(without) + 0.03


def _failures(m: SwarmModel) -> int:
    return sum(r.failures for a in m.swarm for r in a.soul.domains.values())


def test_avoiding_rushed_decisions_fails_fewer_tasks_in_hand(tmp_path):
    assert "rushed decisions" in AVOIDABLE
    rushed = [_failures(_run(tmp_path, _fixed(), s)) for s in SEEDS]
    careful = [
        _failures(_run(tmp_path, _fixed(avoid_patterns=["rushed decisions"]), s)) for s in SEEDS
    ]
    assert sum(careful) < 0.8 * sum(rushed)


def test_avoiding_crowding_stops_going_for_tasks_others_will_take(tmp_path):
    def counter(box):
        def hook(model, obs, decisions):
            for o, d in zip(obs, decisions, strict=True):
                if d.action.kind is ActionKind.APPROACH:
                    box["approach"] += 1
                    view = next(t for t in o.tasks if t.id == d.action.task)
                    box["crowding"] += not o.placed(view)

        return hook

    plain, avoid = {"approach": 0, "crowding": 0}, {"approach": 0, "crowding": 0}
    _run(tmp_path, _fixed(), 0, on_decisions=counter(plain))
    _run(tmp_path, _fixed(avoid_patterns=["crowding"]), 0, on_decisions=counter(avoid))
    assert plain["crowding"] > 0
    assert avoid["crowding"] == 0
    assert avoid["approach"] > 0


def test_an_unknown_avoid_pattern_is_a_record_that_changes_nothing(tmp_path):
    a = _run(tmp_path, _fixed(avoid_patterns=["something else"]), 0)
    b = _run(tmp_path, _fixed(), 0)
    assert a.counts.completed == b.counts.completed and a.counts.failed == b.counts.failed


@pytest.mark.parametrize("field", ["preferred_task_types", "strength_domains"])
def test_adaptability_sets_how_fast_preferences_follow_experience(tmp_path, field):
    given = ["coordination"] if field == "preferred_task_types" else ["design"]

    def changed(a: float) -> int:
        m = _run(tmp_path, lambda i: {field: given, "adaptability_score": a}, 0)
        return sum(getattr(x.soul.meta_learning, field) != given for x in m.swarm)

    assert changed(0.0) == 0
    assert changed(0.9) > changed(0.05)


def test_learning_rate_sets_how_fast_skills_follow_quality(tmp_path):
    def moved(lr: float) -> float:
        m = SwarmModel(n_agents=N, rng=0, **WORLD)
        before = m.skills.copy()
        for a in m.swarm:
            a.soul.meta_learning.learning_rate = lr
        for _ in range(STEPS):
            m.step()
        return float(np.abs(m.skills - before).sum())

    assert moved(0.0) == 0.0
    assert moved(1.0) > 2 * moved(0.1)
