"""How often a policy picks what a reference policy (the expert) picks, on the states the
reference itself visits.

The reference drives the swarm; at every step the policy under test is asked about the
same observations, and its choices are compared with the reference's. This is the
open-loop half of judging a learned policy (the closed-loop half is running it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from swarm.experiments.rollout import rollout
from swarm.model import SwarmModel
from swarm.policies import bind, make_policy


class AgreementRecorder:
    """Asks ``policy`` about the reference's observations every ``every``-th step (before
    the world acts) and counts how often the two choose the same action, per kind of the
    reference's action, and what the policy chose instead (``answers``: per kind of the
    reference's action, the count of each kind the policy chose)."""

    def __init__(self, policy, every: int = 1) -> None:
        self.policy = policy
        self.every = every
        self.asked: Counter[str] = Counter()
        self.agreed: Counter[str] = Counter()
        self.answers: dict[str, Counter[str]] = {}

    def decided(self, model, observations, decisions) -> None:
        if model.steps % self.every:
            return
        for ref, got in zip(decisions, self.policy.decide(observations), strict=True):
            kind = ref.action.kind.value
            self.asked[kind] += 1
            self.agreed[kind] += ref.action == got.action
            self.answers.setdefault(kind, Counter())[got.action.kind.value] += 1


def policy_agreement(
    policy,
    *,
    reference: str = "heuristic",
    seeds: Sequence[int] = (0,),
    n_agents: int = 20,
    steps: int = 100,
    every: int = 1,
) -> dict[str, Any]:
    """Agreement of ``policy`` (a name, ``lm:PATH`` or a policy object) with
    ``reference`` over ``seeds`` × ``steps`` (asking every ``every``-th step).

    Returns ``agreement`` (share of decisions), ``balanced_agreement`` (the mean over
    the kinds of the reference's action of the agreement on that kind: the expert
    mostly explores, so a policy that always explores scores high on ``agreement`` but
    not here), ``decisions``, ``by_kind`` (agreement per kind of the reference's action),
    ``answers`` (per kind of the reference's action, how often the policy answered with
    each kind: where the expert follows a trace, ``answers["move"]["move"]`` minus the
    agreed ones are moves in another direction) and ``seeds``.
    """
    test = make_policy(policy)
    recorder = AgreementRecorder(test, every)
    for seed in seeds:
        model = SwarmModel(n_agents=n_agents, policy=reference, rng=seed)
        bind(test, model)
        rollout(model, steps, [recorder])
    total = sum(recorder.asked.values())
    hits = sum(recorder.agreed.values())
    by_kind = {k: recorder.agreed[k] / n for k, n in sorted(recorder.asked.items())}
    return {
        "agreement": hits / total if total else float("nan"),
        "balanced_agreement": sum(by_kind.values()) / len(by_kind) if by_kind else float("nan"),
        "decisions": total,
        "by_kind": {k: round(v, 4) for k, v in by_kind.items()},
        "answers": {k: dict(sorted(c.items())) for k, c in sorted(recorder.answers.items())},
        "seeds": list(seeds),
    }
