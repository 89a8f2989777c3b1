"""The fine-tuning config: the spec's YAML as written, plus extensions with defaults.

The spec's block loads unchanged (``base_model`` must point at a local directory when
the run starts; there is no model hub)::

    base_model: meta-llama/Llama-3.3-8B-Instruct
    training: {epochs: 3, batch_size: 4, learning_rate: 2e-5, warmup_steps: 100}
    lora: {enabled: true, rank: 16, alpha: 32, dropout: 0.05}
    evaluation: {eval_steps: 100, save_steps: 500}

Unknown keys are errors naming the key; so is a ``save_steps`` that is not a multiple of
``eval_steps``. ``lora.enabled: false`` means full fine-tuning. Paths are relative to the
current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from swarm.config import ConfigError, coerce, load_config
from swarm.interface.chat_format import ChatFormat
from swarm.policies.lm import adapter_base, check_device

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Training(_Strict):
    epochs: float = Field(3, gt=0)
    batch_size: int = Field(4, ge=1, description="rows per micro-batch (packed rows with packing)")
    learning_rate: float = Field(2e-5, gt=0)
    warmup_steps: int = Field(100, ge=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    weight_decay: float = Field(0.0, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    logging_steps: int = Field(10, ge=1)


class Lora(_Strict):
    enabled: bool = True
    rank: int = Field(16, ge=1)
    alpha: float = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: list(ALL_PROJECTIONS), min_length=1)

    def peft_config(self):
        """This block as peft's ``LoraConfig`` for a causal language model."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=self.target_modules,
            task_type="CAUSAL_LM",
        )


class Evaluation(_Strict):
    eval_steps: int = Field(100, ge=1)
    save_steps: int = Field(500, ge=1)
    max_examples: int | None = Field(
        None, ge=1, description="evaluate on a fixed seeded sample of this many eval examples"
    )
    batch_size: int = Field(8, ge=1)
    keep_checkpoints: int = Field(2, ge=1)

    @model_validator(mode="after")
    def _multiple(self) -> Evaluation:
        if self.save_steps % self.eval_steps:
            raise ValueError(
                f"save_steps ({self.save_steps}) must be a multiple of eval_steps "
                f"({self.eval_steps})"
            )
        return self


class Data(_Strict):
    train: str = "runs/data/train.jsonl"
    eval: str = "runs/data/eval.jsonl"


class Cost(_Strict):
    price_per_hour: float = Field(0.0, ge=0, description="USD per device-hour")


class FinetuneConfig(_Strict):
    base_model: str
    training: Training = Field(default_factory=Training)
    lora: Lora = Field(default_factory=Lora)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    data: Data = Field(default_factory=Data)
    output_dir: str = "runs/finetune"
    max_seq_length: int = Field(1024, ge=16)
    seed: int = 0
    gradient_accumulation_steps: int = Field(1, ge=1)
    packing: bool = True
    shared_prefix: bool = Field(
        True,
        description="compute the system turn most examples share once per batch, not once "
        "per example (same loss; off under gradient checkpointing or several processes)",
    )
    gradient_checkpointing: bool = False
    device: str = "auto"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return check_device(v)

    precision: Literal["auto", "fp32", "bf16"] = "auto"
    chat: ChatFormat = Field(
        default_factory=ChatFormat,
        description="how the system turn meets the base model's chat template (saved with "
        "the model, so lm:PATH and swarm serve render prompts the same way)",
    )
    cost: Cost = Field(default_factory=Cost)
    resume: bool = False

    def base_dir(self) -> Path:
        """``base_model`` as a local directory, or a ConfigError saying why not."""
        path = Path(self.base_model)
        if not path.is_dir():
            raise ConfigError(
                f"base_model: {self.base_model!r} is not a local directory (there is no "
                "model hub here: build one with `swarm train base` or point at a checkpoint)"
            )
        try:
            adapter_base(path)  # a model directory with safetensors weights
        except ValueError as exc:
            raise ConfigError(f"base_model: {exc}") from None
        return path


def load_finetune(path: str | Path) -> FinetuneConfig:
    return load_config(path, FinetuneConfig)


def as_finetune(config: str | Path | dict[str, Any] | FinetuneConfig) -> FinetuneConfig:
    return coerce(FinetuneConfig, config, "finetune config")
