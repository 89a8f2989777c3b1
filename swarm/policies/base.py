"""The policy protocol: one call decides for every agent that must decide this step."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from swarm.interface.observation import Decision, Observation


@runtime_checkable
class Policy(Protocol):
    """Anything with ``decide(observations) -> decisions`` (one decision per observation,
    in order). A policy may also define ``bind(host)``, called once when a model adopts
    it (to take a seed from the model, or a reference for naive baselines)."""

    name: str

    def decide(self, observations: list[Observation]) -> list[Decision]: ...


class PolicyHost(Protocol):
    """What a policy's ``bind`` may use of the model that adopts it: a random generator
    of its own (each call gives the next policy stream: a policy's draws never move the
    world's), the grid's geometry, and (for the naive baseline) the Mesa cell at a
    position."""

    width: int
    height: int
    torus: bool

    def policy_stream(self) -> np.random.Generator: ...

    def cell_at(self, x: int, y: int) -> Any: ...


def bind(policy: Policy, host: PolicyHost) -> None:
    """Call ``policy.bind(host)`` if the policy has one."""
    hook = getattr(policy, "bind", None)
    if callable(hook):
        hook(host)
