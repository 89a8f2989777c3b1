"""Our own base model, built offline: a tokenizer trained on the corpus and a
``LlamaForCausalLM`` from a preset, pretrained (full-parameter causal LM) on the corpus.

Pretraining sees each text of the corpus (every message of the curated train split, the
constitution, the action vocabulary) as a plain document, not as a chat: the base model
learns the language of observations and actions, while mapping an observation to the
right action is left to fine-tuning. ``swarm train base --preset small --data DIR
--out DIR`` writes a directory that ``AutoModelForCausalLM.from_pretrained`` and
``AutoTokenizer.from_pretrained`` load, plus ``base_report.json``.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from swarm.config import ConfigError
from swarm.io import atomic_write_text
from swarm.progress import Bars

# Llama architecture, scaled down. Parameter counts are for the preset's vocabulary.
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {  # ~2.4 M parameters: tests
        "vocab_size": 4096,
        "hidden_size": 192,
        "intermediate_size": 512,
        "num_hidden_layers": 4,
        "num_attention_heads": 6,
        "num_key_value_heads": 2,
        "seq_len": 512,
        "lr": 2e-3,
        "batch_size": 8,
    },
    "mini": {  # ~5 M parameters (2.5x tiny): the distillation teacher on 2 CPU cores
        "vocab_size": 4096,
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 6,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "seq_len": 512,
        "lr": 1.5e-3,
        "batch_size": 8,
    },
    "small": {  # ~27 M parameters: the demo's size class and GPU runs
        "vocab_size": 8192,
        "hidden_size": 512,
        "intermediate_size": 1376,
        "num_hidden_layers": 8,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "seq_len": 1024,
        "lr": 1e-3,
        "batch_size": 8,
    },
}
_TRAINING_KEYS = ("seq_len", "lr", "batch_size")


def preset(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])


def build_model(name: str, tokenizer, seed: int = 0):
    """A freshly initialised ``LlamaForCausalLM`` of preset ``name`` (tied embeddings,
    initializer_range 0.02, seeded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    p = preset(name)
    arch = {k: v for k, v in p.items() if k not in _TRAINING_KEYS}
    arch["vocab_size"] = len(tokenizer)
    config = LlamaConfig(
        **arch,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.02,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def read_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); not a JSONL file") from None
    except OSError as exc:  # a directory, unreadable, ...
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{n}: not JSON ({exc.msg})") from None
        except RecursionError:
            raise ConfigError(f"{path}:{n}: not JSON (nested too deeply)") from None
    return out


def build_base(
    data: str | Path,
    out: str | Path,
    *,
    preset_name: str = "small",
    steps: int | None = None,
    epochs: float | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool = False,
) -> dict[str, Any]:
    """Train the tokenizer, build the model and pretrain it on the curated dataset in
    ``data`` (its ``train.jsonl``: every message but the answers of the swarm
    decisions, which are fine-tuning's to teach); save both to ``out``; return the
    report."""
    import torch

    from training.batching import IGNORE, Encoded, collate, encode_documents, plan_epoch
    from training.runtime import (
        device_name,
        optimizer_and_schedule,
        pick_device,
        seed_everything,
    )
    from training.tokenizer import corpus_texts, save_tokenizer, train_tokenizer

    p = preset(preset_name)
    examples = read_jsonl(Path(data) / "train.jsonl")
    if not examples:
        raise ConfigError(f"{data}/train.jsonl: no examples")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    started = time.perf_counter()

    tokenizer = train_tokenizer(corpus_texts(examples), p["vocab_size"])  # with frequencies
    # Documents, deduplicated, in a fixed order; the decisions' answers are left out, so
    # the untuned base has seen the observations but not what the expert did in them.
    texts = sorted(set(corpus_texts(examples, decisions=False)))
    docs = encode_documents(texts, tokenizer)
    # Long documents are cut into seq_len pieces so every token is seen.
    seq = p["seq_len"]
    pieces = []
    for d in docs:
        for a in range(0, len(d), seq):
            ids, labels = d.input_ids[a : a + seq], d.labels[a : a + seq]
            if len(ids) > 1:
                pieces.append(Encoded(ids, [IGNORE, *labels[1:]]))
    lengths = [len(d) for d in pieces]
    per_epoch = len(plan_epoch(lengths, p["batch_size"], seq, seed, 0, packing=True))
    if steps is None:
        steps = max(1, math.ceil((epochs if epochs is not None else 1.0) * per_epoch))

    dev = pick_device(device)
    model = build_model(preset_name, tokenizer, seed).to(dev)
    model.train()
    opt, sched = optimizer_and_schedule(
        model, p["lr"], warmup=max(1, steps // 20), total=steps, weight_decay=0.01
    )
    losses, tokens, step, epoch = [], 0, 0, 0
    with Bars(progress) as bars:
        advance = bars.add("pretraining", steps)
        while step < steps:
            for batch in plan_epoch(lengths, p["batch_size"], seq, seed, epoch, packing=True):
                inputs, n = collate(batch, pieces, tokenizer.pad_token_id, packing=True)
                inputs = {k: v.to(dev) for k, v in inputs.items()}
                loss = model(**inputs, use_cache=False).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                tokens += n
                step += 1
                losses.append(loss.item())
                advance(note=f"loss {losses[-1]:.3f}")
                if step >= steps:
                    break
            epoch += 1
    wall = time.perf_counter() - started
    model.eval()
    model.save_pretrained(str(out))
    save_tokenizer(tokenizer, out)
    report = {
        "preset": preset_name,
        "parameters": sum(t.numel() for t in model.parameters()),
        "vocab_size": len(tokenizer),
        "documents": len(texts),
        "pieces": len(pieces),
        "steps": steps,
        "epochs": round(steps / per_epoch, 3),
        "tokens": tokens,
        "first_loss": losses[0],
        "final_loss": sum(losses[-10:]) / len(losses[-10:]),
        "wall_s": round(wall, 1),
        "tokens_per_s": round(tokens / wall, 1),
        "device": device_name(dev),
        "seed": seed,
        "data": str(data),
    }
    atomic_write_text(out / "base_report.json", json.dumps(report, indent=2))
    return report
