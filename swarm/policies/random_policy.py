"""Uniformly random choice among the legal candidates (the floor any policy must beat)."""

from __future__ import annotations

import numpy as np

from swarm.interface.observation import Decision, Observation, ProposalView


class RandomPolicy:
    """Picks a candidate uniformly at random; seeded by the model it is bound to."""

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def bind(self, model) -> None:
        self.rng = model.policy_stream()

    def decide(self, observations: list[Observation]) -> list[Decision]:
        out = []
        for obs in observations:
            k = len(obs.candidates)
            p = 1.0 / k
            out.append(Decision(obs.candidates[int(self.rng.integers(k))], probs=(p,) * k))
        return out

    def propose(self, view: ProposalView, options: int) -> tuple[int, ...]:
        """A uniformly random option per component (its reading unused)."""
        return tuple(int(x) for x in self.rng.integers(options, size=view.components))
