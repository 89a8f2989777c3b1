import pytest

from swarm.experiments.agreement import policy_agreement
from swarm.world.actions import ActionKind


def test_the_expert_agrees_with_itself_and_random_does_not():
    same = policy_agreement("heuristic", seeds=(3,), n_agents=8, steps=20)
    assert same["agreement"] == 1.0 and same["decisions"] == 8 * 20
    assert same["balanced_agreement"] == 1.0
    rand = policy_agreement("random", seeds=(3, 4), n_agents=8, steps=20, every=2)
    assert rand["decisions"] == 2 * 8 * 10
    assert rand["agreement"] < 0.5
    by_kind = rand["by_kind"]
    assert rand["balanced_agreement"] == pytest.approx(
        sum(by_kind.values()) / len(by_kind), abs=1e-3
    )
    assert set(rand["by_kind"]) <= {k.value for k in ActionKind}


def test_answers_say_what_the_policy_chose_where_it_differs():
    """The no-traces expert explores wherever the expert follows a trace, and agrees
    everywhere else: its answers say so, kind by kind."""
    got = policy_agreement("no-traces", seeds=(5,), n_agents=20, steps=40)
    answers = got["answers"]
    assert sum(sum(c.values()) for c in answers.values()) == got["decisions"]
    assert answers["move"] == {"explore": answers["move"]["explore"]} and answers["move"]
    for kind, chosen in answers.items():
        if kind != "move":
            assert chosen == {kind: sum(chosen.values())}
            assert got["by_kind"][kind] == 1.0
