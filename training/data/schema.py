"""The training format: one chat example with metadata and provenance, and a reject."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swarm.interface.text import special_token_in

TaskType = Literal["coordination", "handoff", "synthesis"]  # swarm.world.tasks.TaskType
ROLES = ("system", "user", "assistant")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str

    @field_validator("content")
    @classmethod
    def _no_special_tokens(cls, v: str) -> str:
        token = special_token_in(v)
        if token is not None:  # it would be encoded as a real special token: a forged turn
            raise ValueError(f"contains the chat special token {token!r}")
        return v


class Metadata(BaseModel):
    """What the example is about. Extra keys (e.g. ``rule``, ``action``) are kept."""

    model_config = ConfigDict(extra="allow")

    task_type: TaskType
    success_score: float = Field(ge=0.0, le=1.0)
    source: str


class Provenance(BaseModel):
    """Where an example came from: its id, its parent (for augmented variants and the
    augmentation strategy), and the source file and line (or the simulation seed)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    parent_id: str | None = None
    source_file: str | None = None
    line: int | None = None
    strategy: str | None = None


class TrainingExample(BaseModel):
    """``{"messages": [system, user, assistant], "metadata": {...}, "provenance": {...}}``."""

    model_config = ConfigDict(extra="forbid")

    messages: list[Message]
    metadata: Metadata
    provenance: Provenance

    @field_validator("messages")
    @classmethod
    def _roles(cls, v: list[Message]) -> list[Message]:
        if tuple(m.role for m in v) != ROLES:
            raise ValueError("messages must be exactly system, user, assistant")
        if not v[2].content.strip():
            raise ValueError("the assistant message is empty")
        return v

    @property
    def id(self) -> str:
        return self.provenance.id

    @property
    def task_type(self) -> str:
        return self.metadata.task_type

    def text(self, role: str) -> str:
        return self.messages[ROLES.index(role)].content

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


def make_example(
    system: str,
    user: str,
    assistant: str,
    *,
    task_type: str,
    success_score: float,
    source: str,
    source_file: str | None = None,
    line: int | None = None,
    parent_id: str | None = None,
    strategy: str | None = None,
    **extra: Any,
) -> TrainingExample:
    """Build an example; its id is a hash of its content and origin (stable across runs)."""
    key = json.dumps([user, assistant, source, source_file, line, parent_id, strategy])
    ex_id = hashlib.sha1(key.encode()).hexdigest()[:16]
    return TrainingExample(
        messages=[
            Message(role="system", content=system),
            Message(role="user", content=user),
            Message(role="assistant", content=assistant),
        ],
        metadata=Metadata(task_type=task_type, success_score=success_score, source=source, **extra),
        provenance=Provenance(
            id=ex_id,
            parent_id=parent_id,
            source_file=source_file,
            line=line,
            strategy=strategy,
        ),
    )


class Reject(BaseModel):
    """A record or example that did not make it, and why."""

    model_config = ConfigDict(extra="forbid")

    stage: str  # extract | filter | dedup | augment | validate | review
    reason: str
    source: str
    source_file: str | None = None
    line: int | None = None
    id: str | None = None
    record: Any = None  # the example (or a prefix of the raw record) where it helps
