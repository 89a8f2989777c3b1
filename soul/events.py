"""Events that change a soul.

The simulation (or any other caller) reports what happened to an agent as one of these
events and passes it to :meth:`soul.Soul.apply`. Events are pydantic models with a
``kind`` tag, so they can be logged as JSON and read back with :data:`EVENT_ADAPTER`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskCompleted(_Event):
    """A task (or a task's stage) was finished in ``domain``."""

    kind: Literal["task_completed"] = "task_completed"
    domain: str
    task_type: str
    difficulty: Unit
    quality: Unit


class TaskFailed(_Event):
    """A task was dropped, expired in the agent's hands, or came out wrong."""

    kind: Literal["task_failed"] = "task_failed"
    domain: str
    task_type: str
    reason: str = "failed"


class HelpedAgent(_Event):
    """The soul's agent helped another agent (answered its help signal, took a handoff)."""

    kind: Literal["helped_agent"] = "helped_agent"
    agent_id: str | int


class LearnedPattern(_Event):
    """The agent learned a pattern: one to follow, or (``avoid=True``) one to avoid."""

    kind: Literal["learned_pattern"] = "learned_pattern"
    pattern: str
    avoid: bool = False


class ProposalJudged(_Event):
    """The outcome of a group decision is known: of the components this agent proposed
    in ``domain``, ``right`` matched the best approach and ``wrong`` did not. Builds the
    track record its vote weight is estimated from; no XP."""

    kind: Literal["proposal_judged"] = "proposal_judged"
    domain: str
    right: int = Field(ge=0)
    wrong: int = Field(ge=0)


class DayEnded(_Event):
    """Day ``day`` of the simulation has ended (the simulation decides its length)."""

    kind: Literal["day_ended"] = "day_ended"
    day: int = Field(ge=0)


Event = Annotated[
    TaskCompleted | TaskFailed | HelpedAgent | LearnedPattern | ProposalJudged | DayEnded,
    Field(discriminator="kind"),
]
#: Validates any event from a dict or JSON: ``EVENT_ADAPTER.validate_python({...})``.
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
