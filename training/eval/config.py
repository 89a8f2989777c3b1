"""Evaluation settings (``experiments/eval.yaml``): the scenario dataset, the held-out
episodes, the price table and the Go/No-Go thresholds. Unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from swarm.config import coerce

CATEGORIES = ("coordination", "handoff", "conflict", "constitutional")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetSpec(_Strict):
    """How ``swarm eval build`` draws scenarios from expert simulations."""

    counts: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=lambda: {
            "coordination": 200,
            "handoff": 100,
            "conflict": 100,
            "constitutional": 50,
        }
    )
    first_seed: int = Field(5000, description="simulations use first_seed, first_seed+1, ...")
    max_runs: int = Field(60, ge=1)
    n_agents: int = Field(20, ge=2)
    steps: int = Field(200, ge=10)
    every: int = Field(2, ge=1, description="look at every this many steps")
    per_run: int = Field(
        12, ge=1, description="at most this many scenarios of a category from one run"
    )

    def model_post_init(self, _context: Any) -> None:
        unknown = set(self.counts) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown category {sorted(unknown)[0]!r} in counts")
        if not any(self.counts.values()):
            raise ValueError("counts ask for no scenarios at all")


class EpisodeSpec(_Strict):
    """Closed-loop episodes on held-out seeds (``first_seed``, ``first_seed + 1``, ...)."""

    first_seed: int = 7000
    n_agents: int = Field(20, ge=1)
    steps: int = Field(150, ge=1)


class Price(_Strict):
    """Cost of a policy's decisions: tokens × price per million, plus the seconds spent
    deciding × device price per hour."""

    per_million_input: float = Field(0.0, ge=0)
    per_million_output: float = Field(0.0, ge=0)
    device_per_hour: float = Field(0.10, ge=0)


class Thresholds(_Strict):
    """The spec's targets (the Go/No-Go table)."""

    task_success: float = 0.90
    compliance: float = 0.95
    conflict_rate: float = 0.05
    latency_s: float = 2.0
    cost_per_task: float = 0.10
    cost_reduction: float = 0.50
    error_rate: float = 0.01
    parity_margin: float = Field(0.05, gt=0, description="non-inferiority margin")


class EvalConfig(_Strict):
    seed: int = 0
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    episodes: EpisodeSpec = Field(default_factory=EpisodeSpec)
    pricing: dict[str, Price] = Field(
        default_factory=lambda: {"default": Price()},
        description="price per policy name (heuristic, random, lm) or 'default'",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    curation: str | None = Field(
        "experiments/curation.yaml",
        description="the curation config whose simulation seeds must not be reused",
    )

    def price_of(self, policy) -> Price:
        """The price of a policy spec or object: a chat policy's own token prices (its
        ``settings.price``; a hosted model's seconds are the host's, not ours to price),
        else the pricing table's entry (``lm:PATH`` policies share ``lm``, ``openai:MODEL``
        ones fall back to ``openai``), else ``default``."""
        from swarm.policies import policy_label

        own = getattr(getattr(policy, "settings", None), "price", None)
        if own is not None and hasattr(own, "input_per_mtok"):
            return Price(
                per_million_input=own.input_per_mtok,
                per_million_output=own.output_per_mtok,
                device_per_hour=0.0,
            )
        name = policy_label(policy)
        if name.startswith("openai:") and name not in self.pricing:
            name = "openai"
        key = "lm" if name.startswith("lm") else name
        return self.pricing.get(key) or self.pricing.get("default") or Price()


def as_eval_config(config: str | Path | dict[str, Any] | EvalConfig | None) -> EvalConfig:
    """An :class:`EvalConfig` from a YAML path, a mapping, an instance, or the defaults."""
    return EvalConfig() if config is None else coerce(EvalConfig, config, "eval config")
