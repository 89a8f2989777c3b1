"""The curation config (YAML), validated; unknown keys are errors naming the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from swarm.config import ConfigError, coerce, load_config
from swarm.world.actions import ActionKind

TRANSCRIPT_FORMATS = (
    "auto",
    "openai",
    "sharegpt",
    "speaker",
    "autogen",
    "camel",
    "chatdev",
    "agentverse",
    "metagpt",
    "crewai",
)


_ACTION_KINDS = tuple(k.value for k in ActionKind)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(_Strict):
    """One source. ``transcripts`` reads ``path`` (a file, directory or glob); without a
    path it simulates ``count`` group chats and reads them the same way. The other kinds
    are generated from simulation runs (``count`` examples)."""

    kind: Literal["transcripts", "checkpoints", "constitutional", "reasoning"]
    name: str | None = None
    path: str | None = None
    format: Literal[TRANSCRIPT_FORMATS] = "auto"  # type: ignore[valid-type]
    count: int | None = Field(None, ge=0)
    speaker_pattern: str | None = Field(
        None, description="regex with groups 'speaker' and 'text' for plain-text logs"
    )

    @field_validator("speaker_pattern")
    @classmethod
    def _speaker_pattern(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            groups = set(re.compile(v).groupindex)
        except re.error as exc:
            raise ValueError(f"not a regular expression ({exc})") from None
        if not {"speaker", "text"} <= groups:
            raise ValueError("needs named groups (?P<speaker>...) and (?P<text>...)")
        return v

    success_markers: list[str] = Field(
        default_factory=lambda: [
            "TERMINATE",
            "CAMEL_TASK_DONE",
            "<TASK_DONE>",
            "TASK COMPLETE",
            "ChatDev Ends",
        ],
        description="text that marks success in the last two turns or in the log after them",
    )
    failure_markers: list[str] = Field(
        default_factory=lambda: ["Traceback (most recent call last)", "HTTPError", "TASK FAILED"],
        description="text that marks a failure in a log line or the last two turns (HTTP "
        "errors, rate limits and tracebacks in log lines are found without it)",
    )
    unknown_outcome: Literal["drop", "keep", "reject"] = Field(
        "drop",
        description="a conversation with no success or failure evidence: dropped (the "
        "reason in rejects.jsonl; 'reject' is the old name) or kept at unknown_score",
    )
    unknown_score: float = Field(0.6, ge=0, le=1)
    system: str = Field(
        "constitution",
        min_length=1,
        description="the examples' system turn: 'constitution' (ours), 'original' (the "
        "conversation's own system prompt; one without is rejected), or the text itself",
    )
    action_weights: dict[str, float] = Field(
        default_factory=dict,
        description="checkpoints: relative sampling weight per action kind (default 1); "
        "below 1 thins routine decisions (explore, work), above 1 favours rare ones. "
        "transcripts: the probability of keeping a recorded swarm decision of that kind "
        "(at most 1; the others are rejected as thinned)",
    )

    contested_only: bool = Field(
        False,
        description="checkpoints: only decisions where another idle agent could take the "
        "same task (the take and the leaving to a nearer agent alike): about 1 % of a run's "
        "decisions",
    )

    @model_validator(mode="after")
    def _needs(self) -> Source:
        if self.action_weights and self.kind not in ("checkpoints", "transcripts"):
            raise ValueError("action_weights: only checkpoints and transcripts sample by action")
        if self.kind == "transcripts":
            for kind, w in self.action_weights.items():
                if w > 1:
                    raise ValueError(
                        f"action_weights.{kind}: a transcripts source keeps a decision with "
                        f"this probability, at most 1; got {w}"
                    )
        if self.contested_only and self.kind != "checkpoints":
            raise ValueError("contested_only: only a checkpoints source samples by situation")
        for kind, w in self.action_weights.items():
            if kind not in _ACTION_KINDS:
                raise ValueError(f"action_weights: unknown action kind {kind!r}")
            if w < 0:
                raise ValueError(f"action_weights.{kind}: must be >= 0, got {w}")
        if self.kind != "transcripts" and self.count is None:
            raise ValueError(f"a {self.kind} source needs 'count'")
        if self.kind == "transcripts" and self.path is None and self.count is None:
            raise ValueError("a transcripts source needs 'path' (or 'count' to simulate chats)")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"{self.kind}:{self.path}" if self.path else self.kind


class Filters(_Strict):
    min_success_score: float = Field(0.5, ge=0, le=1)
    min_assistant_chars: int = Field(2, ge=0)
    max_assistant_chars: int = Field(4000, ge=1)
    max_user_chars: int = Field(12000, ge=1)
    max_repetition: float = Field(
        0.5, ge=0, le=1, description="reject when this share of 4-word sequences repeat"
    )


class Dedup(_Strict):
    near_threshold: float = Field(0.9, gt=0, lt=1, description="MinHash Jaccard threshold")
    num_perm: int = Field(64, ge=16)
    shingle: int = Field(5, ge=1, description="words per shingle")

    @model_validator(mode="after")
    def _bands(self) -> Dedup:
        from datasketch import MinHashLSH

        try:
            MinHashLSH(threshold=self.near_threshold, num_perm=self.num_perm)
        except ValueError as exc:
            raise ValueError(
                f"near_threshold {self.near_threshold} with num_perm {self.num_perm}: "
                f"no locality-sensitive hashing fits ({exc}); lower the threshold or raise "
                "num_perm"
            ) from None
        return self


class Augment(_Strict):
    count: int = Field(0, ge=0)
    strategies: list[Literal["rename_agents", "reorder_items", "perturb_numbers", "paraphrase"]] = (
        Field(
            default_factory=lambda: [
                "rename_agents",
                "reorder_items",
                "perturb_numbers",
                "paraphrase",
            ]
        )
    )


class Review(_Strict):
    fraction: float = Field(0.1, gt=0, le=1)
    max_bad_rate: float = Field(0.05, ge=0, le=1)


class Simulation(_Strict):
    """Settings of the simulator runs behind the generated kinds."""

    n_agents: int = Field(20, ge=2)
    steps: int = Field(300, ge=10)
    first_seed: int = Field(1000, description="runs use seeds first_seed, first_seed+1, ...")
    max_runs: int = Field(200, ge=1)


class CurationConfig(_Strict):
    sources: list[Source] = Field(min_length=1)
    augment: Augment = Field(default_factory=Augment)
    filters: Filters = Field(default_factory=Filters)
    dedup: Dedup = Field(default_factory=Dedup)
    review: Review = Field(default_factory=Review)
    simulation: Simulation = Field(default_factory=Simulation)
    eval_fraction: float = Field(0.1, ge=0, lt=1)
    context_chars: int = Field(3000, ge=200, description="budget for a transcript's context")
    max_record_bytes: int = Field(1_000_000, ge=1000)
    seed: int = 0


def load_curation(path: str | Path) -> CurationConfig:
    """Load a curation config; a missing file or a bad key is a one-line ConfigError.
    Source paths are relative to the current directory."""
    return load_config(path, CurationConfig)


def as_config(config: str | Path | dict[str, Any] | CurationConfig) -> CurationConfig:
    return coerce(CurationConfig, config, "curation config")


__all__ = ["ConfigError", "CurationConfig", "Source", "as_config", "load_curation"]
