"""Fine-tuning throughput: real (non-padding) tokens per second with packing vs padded
batches, LoRA on a Llama model, on the same curated examples.

Both modes train on exactly the same examples in the same order, so they process the same
real tokens: packing puts several examples in each row of ``--seq`` tokens (``--batch``
rows a step; position ids restart per example, no attention across examples); the
baseline is the plain Trainer-style collator, one example per row padded to the longest
in its batch, with as many examples per step as the packed step holds; and the same
batches padded to ``--seq`` (fixed shapes, ``padding="max_length"``). Wall time covers
forward, backward and the optimizer step, after ``--warmup`` untimed steps.

Data: a curated dataset (``--data DIR`` with ``train.jsonl``; by default a small one is
curated first). Model: a preset (``tiny``, ``small``) with random weights (throughput does
not depend on them), or ``--arch 8b`` (Llama-3-8B shapes, bf16, for a GPU: LoRA r=16 on all
projections, ``--seq 2048``).

    python -m benchmarks.finetune [--quick] [--json] [--arch small] [--device auto]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from benchmarks._common import emit, parser

LLAMA_8B = {
    "vocab_size": 128256,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
}


def curated_data(where: Path, seed: int) -> Path:
    from training.data.pipeline import curate

    curate(
        {
            "sources": [
                {"kind": "transcripts", "count": 150},
                {"kind": "checkpoints", "count": 400},
                {"kind": "constitutional", "count": 100},
                {"kind": "reasoning", "count": 100},
            ],
            "augment": {"count": 400},
            "simulation": {"n_agents": 16, "steps": 200},
            "seed": seed,
        },
        where,
    )
    return where


def build(arch: str, tokenizer, device: str, layers: int | None):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    from training.base_model import build_model

    if arch == "8b":
        shape = dict(LLAMA_8B, num_hidden_layers=layers or LLAMA_8B["num_hidden_layers"])
        config = LlamaConfig(**shape, max_position_embeddings=8192, tie_word_embeddings=False)
        with torch.device(device):
            model = LlamaForCausalLM(config).to(torch.bfloat16)
    else:
        model = build_model(arch, tokenizer).to(device)
    lora = LoraConfig(
        r=16,
        lora_alpha=32,
        lora_dropout=0.05,
        task_type="CAUSAL_LM",
        target_modules=[
            "q_proj",
            "k_proj",
            "v_proj",
            "o_proj",
            "gate_proj",
            "up_proj",
            "down_proj",
        ],
    )
    model = get_peft_model(model, lora)
    model.train()
    return model


def run_mode(model, batches, data, pad_id, packing, device, warmup, pad_to=None, prefix=()):
    """Real tokens per second, and the padding fraction of the timed batches. With a
    ``prefix`` (cut off the ``shared`` examples), the trainer's shared-prefix step, and
    the tokens counted are the examples' as written (prefix included)."""
    import torch

    from training.batching import collate
    from training.finetune.trainer import shared_prefix_loss

    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    precision = "bf16" if next(model.parameters()).dtype == torch.bfloat16 else "fp32"
    loss_of = shared_prefix_loss(model, list(prefix), device, precision) if prefix else None
    tokens = slots = 0
    start = 0.0
    for i, batch in enumerate(batches):
        if i == warmup:
            sync()
            start = time.perf_counter()
        inputs, n = collate(batch, data, pad_id, packing, pad_to, prefix_len=len(prefix))
        if loss_of is not None:
            loss = loss_of(inputs)
            n += len(prefix) * sum(data[i].shared for row in batch for i in row)
        else:
            inputs = {k: v.to(device) for k, v in inputs.items()}
            loss = model(**inputs, use_cache=False).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= warmup:
            tokens += n
            slots += inputs["input_ids"].numel()
    sync()
    wall = time.perf_counter() - start
    return tokens / wall, 1 - tokens / slots, tokens, wall


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, help="a curated dataset directory")
    p.add_argument("--arch", default=None, help="tiny | small | 8b (default: small; quick: tiny)")
    p.add_argument("--seq", type=int, default=None, help="row length (default 1024; 8b: 2048)")
    p.add_argument("--batch", type=int, default=4, help="packed rows per step")
    p.add_argument("--steps", type=int, default=None, help="timed packed steps")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--layers", type=int, default=None, help="8b: fewer layers (smoke runs)")
    p.add_argument("--device", default="auto")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from training.base_model import read_jsonl
    from training.batching import cut_prefix, encode_chats, epoch_order, pack_rows, shared_prefix
    from training.runtime import device_name, pick_device
    from training.tokenizer import corpus_texts, train_tokenizer

    arch = args.arch or ("tiny" if args.quick else "small")
    seq = args.seq or (2048 if arch == "8b" else 1024)
    steps = args.steps or (6 if args.quick else 12)
    device = pick_device(args.device)
    torch.manual_seed(args.seed)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data or curated_data(Path(tmp) / "data", args.seed)
        rows = read_jsonl(Path(data_dir) / "train.jsonl")
    tokenizer = train_tokenizer(corpus_texts(rows), 8192)
    data = [e for e in encode_chats(rows, tokenizer) if len(e) <= seq]
    order = epoch_order(len(data), args.seed, 0)
    packed_rows = pack_rows([len(e) for e in data], order, seq)
    n_batches = steps + args.warmup
    packed = [packed_rows[i : i + args.batch] for i in range(0, n_batches * args.batch, args.batch)]
    # The baseline: the same examples in the same order, as many per step, one per row.
    padded = [[[i] for row in batch for i in row] for batch in packed]

    # Shared prefix: the same examples in the same order, the system turn cut off and
    # computed once per step, packed into rows of the same length.
    prefix = shared_prefix(rows, tokenizer)
    cut = cut_prefix(data, prefix)
    lengths = [len(e) for e in cut]

    def rebatch(batches):
        order = [i for b in batches for r in b for i in r]
        rows_ = pack_rows(lengths, order, seq)
        return [rows_[k : k + args.batch] for k in range(0, len(rows_), args.batch)]

    warm_shared = rebatch(packed[: args.warmup])
    shared = warm_shared + rebatch(packed[args.warmup :])

    model = build(arch, tokenizer, device, args.layers)
    pad = tokenizer.pad_token_id
    tps_packed, pad_packed, tok_p, wall_p = run_mode(
        model, packed, data, pad, True, device, args.warmup
    )
    tps_shared, _, tok_s, wall_s = run_mode(
        model, shared, cut, pad, True, device, len(warm_shared), prefix=prefix
    )
    tps_padded, pad_padded, tok_b, wall_b = run_mode(
        model, padded, data, pad, False, device, args.warmup
    )
    tps_fixed, pad_fixed, tok_f, wall_f = run_mode(
        model, padded, data, pad, False, device, args.warmup, pad_to=seq
    )
    assert tok_p == tok_b == tok_f == tok_s, "all modes must see the same real tokens"
    emit(
        {
            "tokens_per_s_packed": round(tps_packed, 1),
            "tokens_per_s_padded": round(tps_padded, 1),
            "speedup": round(tps_packed / tps_padded, 3),
            "tokens_per_s_shared_prefix": round(tps_shared, 1),
            "speedup_shared_prefix_vs_packed": round(tps_shared / tps_packed, 3),
            "shared_prefix_tokens": len(prefix),
            "padding_fraction": round(pad_padded, 4),
            "padding_fraction_packed": round(pad_packed, 4),
            "tokens_per_s_padded_max_length": round(tps_fixed, 1),
            "speedup_vs_max_length": round(tps_packed / tps_fixed, 3),
            "padding_fraction_max_length": round(pad_fixed, 4),
            "examples_per_step": round(sum(len(r) for b in packed for r in b) / len(packed), 2),
            "real_tokens_timed": tok_p,
            "wall_s": {
                "packed": round(wall_p, 2),
                "padded": round(wall_b, 2),
                "padded_max_length": round(wall_f, 2),
                "shared_prefix": round(wall_s, 2),
            },
            "arch": arch,
            "parameters": sum(t.numel() for t in model.parameters()),
            "seq": seq,
            "batch_rows": args.batch,
            "steps": steps,
            "device": device_name(device),
            "quick": args.quick,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
