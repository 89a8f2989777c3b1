"""Fine-tuning from the spec's YAML: LoRA or full, packed or padded, with exact resume.

Entry point: :func:`training.finetune.trainer.finetune` (``swarm train finetune CONFIG``).
"""

from training.finetune.config import FinetuneConfig, load_finetune

__all__ = ["FinetuneConfig", "load_finetune"]
