"""The model's parameters, defined once: :class:`ModelParams`.

``SwarmModel(**kwargs)`` validates its keyword arguments with it; run configs (the
``model:`` block of a YAML file), sweeps (each grid point), benchmarks and the dashboard's
controls use the same class, defaults included. Unknown keys are errors that name the key.

Imports only the world's vocabularies (trace channels, voting rules).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from swarm.interface.text import CHAT_SPECIAL
from swarm.world.traces import ChannelSpec

DEFAULT_DOMAINS: tuple[str, ...] = (
    "technical",
    "research",
    "philosophy",
    "writing",
    "operations",
    "design",
)
#: Expected task arrivals per step, per agent, when ``task_rate`` is not given.
TASK_RATE_PER_AGENT = 0.04
VotingRule = Literal["plurality", "weighted", "log_odds", "oracle", "borda", "dictator"]


def default_task_rate(n_agents: int) -> float:
    """The task rate of a swarm of ``n_agents`` when none is given."""
    return TASK_RATE_PER_AGENT * n_agents


class ModelParams(BaseModel):
    """Parameters of :class:`swarm.SwarmModel` (everything but its seed)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    n_agents: int = Field(20, ge=1, description="number of agents")
    width: int = Field(30, ge=1, description="grid width")
    height: int = Field(30, ge=1, description="grid height")
    size: int | None = Field(
        None, ge=1, description="a square world: sets width and height (for sweeps over size)"
    )
    torus: bool = Field(True, description="the grid wraps round")
    policy: Any = Field(
        "heuristic",
        description="a policy name (heuristic, no-traces, random, lm:PATH, openai:MODEL, ...), "
        "a policy block ({openai: {model, base_url, ...}}) or an object with "
        "decide(observations)",
    )
    task_rate: float | None = Field(
        None, ge=0, description=f"task arrivals per step (default {TASK_RATE_PER_AGENT} per agent)"
    )
    domains: tuple[str, ...] = Field(DEFAULT_DOMAINS, description="the skill domains")
    channels: dict[str, ChannelSpec] | None = Field(
        None,
        description="trace channel settings; the model needs claim, help, success, explored",
    )
    view_radius: int = Field(2, ge=1, description="how far (Chebyshev) agents see")
    steps_per_day: int = Field(50, ge=1, description="souls end a day every this many steps")
    souls: str | Path | None = Field(None, description="a soul-store directory (souls persist)")
    learn: bool = Field(True, description="souls learn (False: the no-learning ablation)")
    hotspots: int = Field(4, ge=1, description="places around which tasks arrive")
    voting: VotingRule = Field("weighted", description="how a synthesis group decides")
    trace_decay: float | None = Field(None, ge=0, le=1, description="override every decay")
    trace_diffusion: float | None = Field(None, ge=0, le=1, description="override every diffusion")
    stigmergy: bool = Field(True, description="False drops every deposit (no-traces ablation)")
    deference: bool = Field(
        True,
        description="idle agents leave a task to nearer idle agents in view (False: every "
        "agent thinks itself first in line; the uncoordinated baseline)",
    )
    handoffs: bool = Field(
        True, description="agents may hand a finished stage to an idle agent in view"
    )
    alone: int | None = Field(
        None, ge=0, description="keep only agent number `alone` of the n_agents drawn"
    )
    observe: Literal["arrays", "cells"] = Field(
        "arrays", description="arrays (fast) or cells (per-cell Mesa reads; a baseline)"
    )
    act: Literal["arrays", "agents"] = Field(
        "arrays",
        description="arrays (moves of agents with nothing in view as one batch, Mesa's side "
        "synced on read) or agents (every decision handled one by one and every move through "
        "Mesa's cell setter: the reference the array engine is tested against)",
    )
    agent_report_every: int = Field(
        1, ge=0, description="record agent reporters every this many steps (0: never)"
    )

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: Any) -> Any:
        if isinstance(v, dict):  # a policy block: {openai: {model: ..., base_url: ...}}
            from swarm.policies.chat import ChatSettings

            if set(v) != {"openai"}:
                raise ValueError(f"a policy block has one key, openai; got {sorted(v)}")
            settings = ChatSettings.model_validate(v["openai"])
            return {"openai": settings.model_dump(exclude_defaults=True)}
        if not isinstance(v, str) and not callable(getattr(v, "decide", None)):
            raise ValueError(f"{v!r} is neither a policy name nor has decide(observations)")
        return v

    @field_validator("domains", mode="before")
    @classmethod
    def _default_domains(cls, v: Any) -> Any:
        return DEFAULT_DOMAINS if v is None else v  # configs written before 0.2 say null

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v) or len(v) < 3:
            raise ValueError("domains must be at least 3 distinct names")
        if any(CHAT_SPECIAL.search(d) for d in v):  # domains are written into prompts
            raise ValueError("a domain name contains a chat special token (<|...|>)")
        return v

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: dict[str, ChannelSpec] | None) -> dict[str, ChannelSpec] | None:
        missing = {"claim", "help", "success", "explored"} - set(v or {})
        if v is not None and missing:
            raise ValueError(f"channels must include {sorted(missing)}")
        return v

    @model_validator(mode="before")
    @classmethod
    def _square(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("size") is None:
            return data
        size = data["size"]
        for side in ("width", "height"):
            if data.get(side, size) != size:
                raise ValueError(f"size {size} and {side} {data[side]} disagree (give one)")
        return {**data, "width": size, "height": size}

    @model_validator(mode="after")
    def _alone(self) -> ModelParams:
        if self.alone is not None and self.alone >= self.n_agents:
            raise ValueError(f"alone must be in [0, n_agents), got {self.alone}")
        return self

    def named_policy(self) -> ModelParams:
        """Self, if ``policy`` is a name or a policy block (what a config file can hold);
        else ValueError."""
        if not isinstance(self.policy, str | dict):
            raise ValueError(f"policy must be a name in a config, got {self.policy!r}")
        return self

    @property
    def rate(self) -> float:
        """The task rate in force (``task_rate``, else the default for ``n_agents``)."""
        return default_task_rate(self.n_agents) if self.task_rate is None else self.task_rate

    def channel_specs(self) -> dict[str, ChannelSpec] | None:
        """Channel settings with ``trace_decay`` / ``trace_diffusion`` applied to all."""
        from swarm.world.traces import DEFAULT_CHANNELS

        update = {
            k: v
            for k, v in (("decay", self.trace_decay), ("diffusion", self.trace_diffusion))
            if v is not None
        }
        if not update:
            return self.channels
        specs = DEFAULT_CHANNELS if self.channels is None else self.channels
        return {
            name: ChannelSpec.model_validate(spec.model_dump() | update)
            for name, spec in specs.items()
        }

    def kwargs(self) -> dict[str, Any]:
        """The parameters that are not None, as ``SwarmModel`` keyword arguments."""
        values = {k: getattr(self, k) for k in type(self).model_fields}
        return {k: v for k, v in values.items() if v is not None}
