"""The policy protocol: one call decides for every agent that must decide this step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from swarm.observation import Decision, Observation

if TYPE_CHECKING:
    from swarm.model import SwarmModel


@runtime_checkable
class Policy(Protocol):
    """Anything with ``decide(observations) -> decisions`` (one decision per observation,
    in order). A policy may also define ``bind(model)``, called once when a model adopts
    it (to take a seed from the model, or a reference for naive baselines)."""

    name: str

    def decide(self, observations: list[Observation]) -> list[Decision]: ...


def bind(policy: Policy, model: SwarmModel) -> None:
    hook = getattr(policy, "bind", None)
    if callable(hook):
        hook(model)
