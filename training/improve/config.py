"""The ``swarm improve`` config: rounds of closed-loop runs, outcome labels, DPO, and a
paired evaluation against the expert.

Every block has defaults; unknown keys are errors naming the key. The DPO block follows
the fine-tuning config's conventions (:mod:`training.finetune.config`: the same
``training``, ``lora`` and ``evaluation`` blocks, the same meaning of each key), plus
DPO's own ``beta`` and ``loss_type``. Seeds of the three uses (labelled runs, the
held-out episodes that decide whether a round is kept, and the confirmation episodes the
best round is measured on last) are checked to be disjoint from each other and from the
curation's simulation seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from swarm.config import ConfigError, coerce
from swarm.policies.lm import check_device
from training.finetune.config import Evaluation, Lora, Training


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Seeds(_Strict):
    """Seeds ``first``, ``first + 1``, ..., ``first + count - 1``."""

    first: int = Field(..., ge=0)
    count: int = Field(..., ge=1)

    def seeds(self, offset: int = 0) -> list[int]:
        start = self.first + offset * self.count
        return list(range(start, start + self.count))


class Episodes(_Strict):
    n_agents: int = Field(20, ge=1)
    steps: int = Field(100, ge=1)


class Reward(_Strict):
    """:class:`training.counterfactual.TeamReward`'s weights."""

    completion: float = 1.0
    quality: float = 1.0
    conflict: float = Field(0.5, ge=0)
    failure: float = Field(1.0, ge=0)


class Labels(_Strict):
    """How each round's decisions are labelled and turned into pairs
    (:func:`training.counterfactual.preference_pairs`). ``select: sample`` labels
    ``per_step`` decisions every ``every`` steps, all their candidates
    (:func:`training.counterfactual.label_run`); ``select: departures`` labels every
    decision where the student departs from the expert, and ``anchors`` agreeing ones per
    departure, two candidates each (:func:`training.counterfactual.label_departures`);
    its pairs are ``pairs: expert``."""

    seeds: Seeds = Field(default_factory=lambda: Seeds(first=9000, count=2))
    horizon: int = Field(15, ge=1, description="steps each branch is continued for")
    worlds: int = Field(2, ge=1, description="futures each candidate is scored in")
    every: int = Field(2, ge=1, description="label decisions every this many steps")
    per_step: int = Field(4, ge=1, description="decisions labelled per labelled step")
    continuation: str = Field("heuristic", description="the policy that plays every branch on")
    margin: float = Field(0.5, gt=0, description="least reward gap of a preference pair")
    pairs: Literal["all", "policy", "expert"] = Field(
        "all",
        description="all: the best candidate against every worse one; policy: only against "
        "the student's own action; expert: the expert's answer against the other, unless "
        "the outcome beats it by margin (training.counterfactual.preference_pairs)",
    )
    select: Literal["sample", "departures"] = Field(
        "sample", description="which decisions are labelled (above)"
    )
    anchors: float = Field(
        1.0, ge=0, description="with select: departures, agreeing decisions per departure"
    )
    reward: Reward = Field(default_factory=Reward)

    @model_validator(mode="after")
    def _pairs_fit_select(self) -> Labels:
        if (self.pairs == "expert") != (self.select == "departures"):
            raise ValueError(
                f"pairs: {self.pairs!r} does not fit select: {self.select!r} (pairs: expert "
                "needs the expert's answers, which only select: departures records)"
            )
        return self


class DPO(_Strict):
    """TRL's DPO on the pairs, on a LoRA adapter over the current student (its reference:
    the student itself, the adapter off). The finetune config's blocks and meanings."""

    beta: float = Field(0.1, gt=0, description="DPO's KL strength: higher stays nearer the student")
    loss_type: Literal["sigmoid", "sigmoid_norm", "ipo", "hinge"] = "sigmoid_norm"
    sft_weight: float = Field(
        0.0,
        ge=0,
        description="weight of TRL's sft loss (the chosen answers' NLL) added to the "
        "preference loss, which keeps the student's other choices where they were (RPO); 0: off",
    )
    training: Training = Field(
        default_factory=lambda: Training(
            epochs=2, batch_size=8, learning_rate=1e-3, warmup_steps=5, logging_steps=5
        )
    )
    lora: Lora = Field(default_factory=lambda: Lora(rank=16, alpha=32, dropout=0.0))
    evaluation: Evaluation = Field(
        default_factory=lambda: Evaluation(eval_steps=25, save_steps=25, keep_checkpoints=1)
    )
    eval_fraction: float = Field(0.1, ge=0, lt=1, description="pairs held out for eval loss")
    max_length: int = Field(1024, ge=16)
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)

    @model_validator(mode="after")
    def _full(self) -> DPO:
        if not self.lora.enabled:
            raise ValueError(
                "lora.enabled must be true: DPO's reference is the student with the adapter off"
            )
        return self


class Evaluate(_Strict):
    """Paired closed-loop episodes, student and expert on the same worlds."""

    heldout: Seeds = Field(
        default_factory=lambda: Seeds(first=7000, count=10),
        description="episodes that decide whether a round is kept",
    )
    confirm: Seeds = Field(
        default_factory=lambda: Seeds(first=7500, count=10),
        description="fresh episodes the best round and the first student are measured on "
        "last (the held-out ones chose the round, so their figure is optimistic)",
    )
    agreement_seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    agreement_steps: int = Field(60, ge=1)
    agreement_every: int = Field(3, ge=1)
    min_gain: float = Field(
        0.0,
        description="a round is kept when its paired difference beats the best kept "
        "round's by more than this (completion-rate units)",
    )


class Departures(_Strict):
    """Where a student departs from the expert (:mod:`training.improve.departures`)."""

    seeds: Seeds = Field(default_factory=lambda: Seeds(first=7900, count=2))
    every: int = Field(2, ge=1)
    sample: int = Field(80, ge=1, description="departures scored by rollout")
    horizon: int = Field(15, ge=1)
    worlds: int = Field(4, ge=1)


class ImproveConfig(_Strict):
    seed: int = 0
    student: str = Field(
        "runs/demo/finetune/model",
        description="the supervised student: a model directory or a LoRA adapter (merged first)",
    )
    expert: str = "heuristic"
    rounds: int = Field(3, ge=1)
    episodes: Episodes = Field(default_factory=Episodes)
    labels: Labels = Field(default_factory=Labels)
    dpo: DPO = Field(default_factory=DPO)
    evaluation: Evaluate = Field(default_factory=Evaluate)
    departures: Departures = Field(default_factory=Departures)
    curation: str | None = Field(
        "experiments/curation.yaml",
        description="the student's curation config: its simulation seeds are kept out of "
        "every seed here",
    )

    def seed_sets(self) -> dict[str, list[int]]:
        """Every seed each use takes over all the rounds."""
        return {
            "labels": [s for r in range(self.rounds) for s in self.labels.seeds.seeds(r)],
            "heldout": self.evaluation.heldout.seeds(),
            "confirm": self.evaluation.confirm.seeds(),
            "departures": self.departures.seeds.seeds(),
        }

    def check_seeds(self) -> None:
        """A ConfigError naming the first two uses that share a seed."""
        sets = self.seed_sets()
        if self.curation is not None:
            from training.data.config import load_curation

            sim = load_curation(self.curation).simulation
            sets["curation"] = list(range(sim.first_seed, sim.first_seed + sim.max_runs))
        names = list(sets)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                both = sorted(set(sets[a]) & set(sets[b]))
                if both:
                    raise ConfigError(
                        f"seeds: {a} and {b} share seed {both[0]} (and {len(both) - 1} more); "
                        "held-out worlds must be unseen"
                    )

    def student_dir(self) -> Path:
        path = Path(self.student)
        if not path.is_dir():
            raise ConfigError(
                f"student: {self.student!r} is not a local directory (a model or adapter "
                "directory, e.g. make demo's runs/demo/finetune/model)"
            )
        return path


def as_improve(config: str | Path | dict[str, Any] | ImproveConfig) -> ImproveConfig:
    return coerce(ImproveConfig, config, "improve config")
