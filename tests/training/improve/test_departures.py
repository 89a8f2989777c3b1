"""Departures from the expert: none for the expert itself, all counted and sampled."""

from training.improve.departures import departures


def test_the_expert_never_departs_from_itself():
    d = departures("heuristic", [11], n_agents=12, steps=20, every=3, sample=4, horizon=4)
    assert d["decisions"] > 0 and d["departures"] == 0 and d["agreement"] == 1.0
    assert d["groups"] == [] and d["scored"] == 0


def test_the_expert_is_asked_in_the_state_the_student_decided_in():
    """The naive expert reads the model's cells itself: asked before the step's actions
    apply, it never departs from the array expert (asked after, it did)."""
    d = departures("heuristic", [3], expert="heuristic-naive", steps=21, every=2, sample=2)
    assert d["decisions"] > 0 and d["departures"] == 0


def test_every_departure_is_counted_and_a_seeded_sample_is_scored():
    kw = dict(n_agents=12, steps=24, every=3, sample=6, horizon=5, worlds=2, seed=4)
    d = departures("random", [11], **kw)
    assert d["departures"] > d["decisions"] // 2  # random agents rarely do what it does
    assert sum(g["count"] for g in d["groups"]) == d["departures"]
    assert d["scored"] == sum(g["scored"] for g in d["groups"]) == 6
    assert all(g["wins"] + g["losses"] <= g["scored"] for g in d["groups"])
    ex = next(e for g in d["groups"] for e in g["examples"])
    assert ex["student"] != ex["expert"] and ex["observation"].strip()
    assert departures("random", [11], **kw) == d  # same seed, same sample, same gains
