"""A traffic split inside one simulation: each agent is assigned to an arm by a seeded
hash of its id (default 80 % control, 20 % test), and each arm's policy decides for its
own agents. The assignment depends only on ``(seed, agent id)``, so it is stable across
steps and reproducible across runs; every decision records its arm in ``info["arm"]``.
"""

from __future__ import annotations

import hashlib

from swarm.interface.observation import Decision, Observation
from swarm.policies.base import bind, proposal_of


def arm_of(agent_id: int, split: float, seed: int) -> str:
    """``"test"`` for a ``split`` share of agent ids (seeded hash), else ``"control"``."""
    h = hashlib.sha256(f"{seed}:{agent_id}".encode()).digest()
    return "test" if int.from_bytes(h[:8], "big") / 2**64 < split else "control"


class SplitPolicy:
    """Control and test policies side by side in one swarm (an A/B test's traffic split)."""

    def __init__(self, control, test, split: float = 0.2, seed: int = 0) -> None:
        from swarm.policies import make_policy

        if not 0.0 <= split <= 1.0:
            raise ValueError(f"split must lie in [0, 1], got {split}")
        self.control, self.test = make_policy(control), make_policy(test)
        self.split, self.seed = float(split), int(seed)
        self.name = f"split({self.control.name}|{self.test.name}, {self.split:g})"

    def bind(self, model) -> None:
        bind(self.control, model)
        bind(self.test, model)

    def arm(self, agent_id: int) -> str:
        return arm_of(agent_id, self.split, self.seed)

    def propose(self, view, options: int) -> tuple[int, ...]:
        """A group member's proposal, from its own arm's policy."""
        policy = self.test if self.arm(view.agent_id) == "test" else self.control
        return proposal_of(policy, view)

    def decide(self, observations: list[Observation]) -> list[Decision]:
        arms = [self.arm(o.agent_id) for o in observations]
        out: list[Decision | None] = [None] * len(observations)
        for name, policy in (("control", self.control), ("test", self.test)):
            idx = [i for i, a in enumerate(arms) if a == name]
            if not idx:
                continue
            for i, d in zip(idx, policy.decide([observations[i] for i in idx]), strict=True):
                d.info["arm"] = name
                out[i] = d
        return out  # type: ignore[return-value]
