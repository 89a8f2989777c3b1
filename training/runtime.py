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
    """The Python, numpy and torch generators' states as plain JSON data (a checkpoint
    holds no pickles)."""
    import torch

    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (a ValueError if it is not that)."""
    import torch

    try:
        version, internal, gauss = state["python"]
        random.setstate((int(version), tuple(int(x) for x in internal), gauss))
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((str(name), np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(
                [torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]]
            )
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"not a random-generator state ({type(exc).__name__}: {exc})") from None


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
