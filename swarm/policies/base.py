"""The policy protocol: one call decides for every agent that must decide this step."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from swarm.interface.observation import Decision, Observation, ProposalView


@runtime_checkable
class Policy(Protocol):
    """Anything with ``decide(observations) -> decisions`` (one decision per observation,
    in order). A policy may also define ``bind(host)``, called once when a model adopts
    it (to take a seed from the model, or a reference for naive baselines)."""

    name: str

    def decide(self, observations: list[Observation]) -> list[Decision]: ...


@runtime_checkable
class Proposer(Protocol):
    """A policy that proposes in group decisions: ``propose(view, options)`` returns one
    option (in ``range(options)``) per component of the approach. A policy without it
    proposes its reading's first choices (:func:`proposal_of`)."""

    def propose(self, view: ProposalView, options: int) -> tuple[int, ...]: ...


def proposal_of(policy: Policy, view: ProposalView) -> tuple[int, ...]:
    """``policy``'s proposal for ``view``: its ``propose`` where it has one, checked (a
    ValueError names the agent and what was wrong), else the reading's first choices."""
    hook = getattr(policy, "propose", None)
    if not callable(hook):
        return view.first_choices
    got = tuple(int(x) for x in hook(view, view.options))
    if len(got) != view.components or not all(0 <= x < view.options for x in got):
        raise ValueError(
            f"policy {getattr(policy, 'name', policy)!r} proposed {got!r} for agent "
            f"{view.agent_id}: want {view.components} options in 0..{view.options - 1}"
        )
    return got


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
