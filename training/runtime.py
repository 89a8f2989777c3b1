"""What every training loop shares: the device, seeding and RNG state, the optimizer and
its schedule, and a progress bar with the loss."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from swarm.policies.lm import pick_device as pick_device  # re-exported: one device rule


def device_name(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def optimizer_and_schedule(
    model, lr: float, warmup: int, total: int, weight_decay: float = 0.0
) -> tuple[Any, Any]:
    """AdamW over the trainable parameters; linear warmup, then cosine decay to 10 %."""
    import torch
    from transformers import get_cosine_with_min_lr_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    sched = get_cosine_with_min_lr_schedule_with_warmup(
        opt,
        num_warmup_steps=min(warmup, max(total - 1, 0)),
        num_training_steps=total,
        min_lr_rate=0.1,
    )
    return opt, sched
