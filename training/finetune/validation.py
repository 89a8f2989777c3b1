"""Evaluation during fine-tuning: eval loss on the assistant tokens, and next-action
accuracy.

An answer counts as right when, fed the reference answer token by token, the model's
most likely next token is the reference token at every assistant position (end of turn
included). That is exactly the condition under which greedy decoding from the prompt
writes the reference answer and stops, so the accuracy is that of greedy generation,
computed in one teacher-forced forward pass. Next-action accuracy is measured on the
examples that are swarm decisions (their metadata names an ``action``); ``exact_match``
on all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.batching import IGNORE, Encoded, collate


def validate_model(
    model, data: Sequence[Encoded], pad_id: int, batch_size: int = 8, device: str = "cpu"
) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    order = sorted(range(len(data)), key=lambda i: len(data[i]))  # little padding
    loss_sum, n_tokens = 0.0, 0
    exact = exact_actions = n_actions = 0
    with torch.no_grad():
        for a in range(0, len(order), batch_size):
            rows = [[i] for i in order[a : a + batch_size]]
            inputs, _ = collate(rows, data, pad_id, packing=False)
            inputs = {k: v.to(device) for k, v in inputs.items()}
            labels = inputs.pop("labels")[:, 1:]
            logits = model(**inputs, use_cache=False).logits[:, :-1].float()
            target = labels != IGNORE
            ce = F.cross_entropy(
                logits.transpose(1, 2), labels, ignore_index=IGNORE, reduction="sum"
            )
            loss_sum += float(ce)
            n_tokens += int(target.sum())
            hit = ((logits.argmax(-1) == labels) | ~target).all(dim=1).tolist()
            for (i,), ok in zip(rows, hit, strict=True):
                exact += ok
                if data[i].is_action:
                    n_actions += 1
                    exact_actions += ok
    if was_training:
        model.train()
    return {
        "eval_loss": loss_sum / max(n_tokens, 1),
        "exact_match": exact / max(len(data), 1),
        "next_action_accuracy": exact_actions / n_actions if n_actions else None,
        "eval_examples": len(data),
        "action_examples": n_actions,
    }
