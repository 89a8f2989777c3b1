"""Policies: ``decide(list[Observation]) -> list[Decision]``, one call per step.

Names accepted by :func:`make_policy` (and ``SwarmModel(policy=...)``): ``heuristic``
(the expert), ``no-traces`` (the expert, blind to traces), ``private-memory`` (the expert,
blind to traces, remembering where it saw tasks), ``random``,
``heuristic-naive`` (the expert written agent by agent; a benchmark baseline), and
``lm:PATH`` (a language model or PEFT adapter directory: :class:`LMPolicy`, loaded once
per path and shared), and ``openai:MODEL`` (any model behind an OpenAI-compatible
endpoint: :class:`swarm.policies.chat.ChatPolicy`).
"""

from __future__ import annotations

from swarm.policies.base import Policy, bind
from swarm.policies.heuristic import (
    ExpertWeights,
    HeuristicPolicy,
    NaiveHeuristicPolicy,
    NoTracesPolicy,
)
from swarm.policies.memory import PrivateMemoryPolicy
from swarm.policies.random_policy import RandomPolicy

POLICIES = {
    "heuristic": HeuristicPolicy,
    "no-traces": NoTracesPolicy,
    "random": RandomPolicy,
    "private-memory": PrivateMemoryPolicy,
    "heuristic-naive": NaiveHeuristicPolicy,
}


def policy_label(spec: str | Policy) -> str:
    """What reports call a policy: its spec, or a policy object's ``name`` (else its
    class name)."""
    if isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return f"openai:{(spec.get('openai') or {}).get('model', '?')}"
    return str(getattr(spec, "name", None) or type(spec).__name__)


def check_policy(spec: str | Policy) -> None:
    """A one-line ValueError unless ``spec`` names a policy: one of :data:`POLICIES`,
    ``lm:PATH`` with a model or adapter directory at PATH (checked without loading it), or
    ``openai:MODEL`` with its server answering (unless replaying from a cache); or is a
    policy object (anything with ``decide(observations)``)."""
    if isinstance(spec, dict):
        _chat_policy(spec).check()
        return
    if not isinstance(spec, str):
        if not callable(getattr(spec, "decide", None)):
            raise ValueError(f"{spec!r} is neither a policy name nor has decide(observations)")
        return
    if spec.startswith("lm:"):
        from swarm.policies.lm import check_model_dir

        check_model_dir(spec[3:])
    elif spec.startswith("openai:"):
        _chat_policy(spec).check()
    elif spec not in POLICIES:
        raise ValueError(
            f"not a policy; choose one of {', '.join(POLICIES)}, lm:PATH or openai:MODEL"
        )


def _chat_policy(spec: str | dict):
    """``openai:MODEL`` as a :class:`~swarm.policies.chat.ChatPolicy`: the client's own
    ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, plus ``SWARM_CHAT_CACHE`` (a response cache
    directory) and ``SWARM_CHAT_REPLAY_ONLY=1``; or a policy block ``{"openai": {...}}``
    (:class:`~swarm.policies.chat.ChatSettings`, set explicitly)."""
    import os

    try:
        import openai  # noqa: F401
    except ImportError:
        raise ValueError(
            "openai:MODEL needs the chat extra: pip install 'swarm-soul[chat]'"
        ) from None
    from swarm.policies.chat import ChatPolicy, ChatSettings

    if isinstance(spec, dict):
        return ChatPolicy(ChatSettings.model_validate(spec.get("openai")))
    model = spec[len("openai:") :]
    if not model:
        raise ValueError("openai:MODEL names no model")
    return ChatPolicy(
        ChatSettings(
            model=model,
            cache_dir=os.environ.get("SWARM_CHAT_CACHE") or None,
            replay_only=os.environ.get("SWARM_CHAT_REPLAY_ONLY", "") in ("1", "true", "yes"),
        )
    )


def make_policy(spec: str | dict | Policy) -> Policy:
    """A policy from a name (see module docstring), a policy block (``{"openai": {...}}``)
    or a policy object (returned as is)."""
    if isinstance(spec, dict):
        return _chat_policy(spec)
    if not isinstance(spec, str):
        if not callable(getattr(spec, "decide", None)):
            raise TypeError(f"policy {spec!r} has no decide(observations) method")
        return spec
    if spec.startswith("lm:"):
        from swarm.policies.lm import LMPolicy

        return LMPolicy.from_pretrained(spec[3:])
    if spec.startswith("openai:"):
        return _chat_policy(spec)
    try:
        return POLICIES[spec]()
    except KeyError:
        raise ValueError(
            f"unknown policy {spec!r}; choose one of {', '.join(POLICIES)}, lm:PATH or openai:MODEL"
        ) from None


__all__ = [
    "POLICIES",
    "ExpertWeights",
    "HeuristicPolicy",
    "NaiveHeuristicPolicy",
    "NoTracesPolicy",
    "Policy",
    "PrivateMemoryPolicy",
    "RandomPolicy",
    "bind",
    "check_policy",
    "make_policy",
    "policy_label",
]
