"""LoRA (or full) fine-tuning on curated chat data, with exact resume.

:func:`finetune` reads the config (:mod:`training.finetune.config`), encodes the data
with assistant-only labels, plans every epoch's batches from the seed (packed or padded),
and trains with AdamW and a warmup-then-cosine schedule. Every ``eval_steps`` it writes
eval loss and next-action accuracy to ``metrics.jsonl``; every ``save_steps`` a
checkpoint (``checkpoint-N/``: the adapter, or the model when ``lora.enabled`` is false,
plus optimizer, scheduler, RNG state and the counters), written to a temporary
directory and renamed, so a killed run leaves only complete checkpoints. Resuming loads
the last one and continues with the same batches, the same RNG and the same schedule,
so it ends where an uninterrupted run ends.

At the end: ``adapter/`` (PEFT format, safetensors; or ``model/``) with the tokenizer,
and ``training_report.json`` (tokens, wall time, device, estimated cost, final eval).
Multi-GPU: the same command under ``accelerate launch`` splits each step's micro-batches
across the processes (data parallel).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from soul.files import exclusive_beside
from swarm.config import ConfigError, describe
from swarm.io import atomic_write_dir, atomic_write_text
from swarm.policies.lm import pick_device
from swarm.progress import Bars
from training.base_model import read_jsonl
from training.batching import (
    EncodingError,
    collate,
    cut_prefix,
    encode_chats,
    plan_epoch,
    shared_prefix,
)
from training.data.schema import Message
from training.finetune.config import FinetuneConfig, as_finetune

_CKPT = re.compile(r"checkpoint-(\d+)$")
_MESSAGES = TypeAdapter(list[Message])


def checkpoints(output_dir: str | Path) -> list[Path]:
    """The complete checkpoints in ``output_dir``, oldest first."""
    out = Path(output_dir)
    found = [p for p in out.glob("checkpoint-*") if _CKPT.search(p.name)]
    done = [p for p in found if (p / "state.json").exists()]
    return sorted(done, key=lambda p: int(_CKPT.search(p.name)[1]))


#: The run's fingerprint in its output directory, checked when the directory is reused.
RUN_FILE = "run.json"
#: Settings that do not change what a run computes (left out of its fingerprint).
_NOT_FINGERPRINTED = {
    "output_dir": True,
    "resume": True,
    "cost": True,
    "evaluation": {"keep_checkpoints"},
    "training": {"logging_steps"},
}


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _sample_sha256(path: Path, block: int = 4 << 20) -> str:
    """The size and a hash of the first and last 4 MiB of a weight file: a rebuilt or
    other model differs there, and an 8B model is not read whole for it."""
    import hashlib

    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(block))
        if size > 2 * block:
            f.seek(size - block)
            h.update(f.read(block))
    return h.hexdigest()


def run_fingerprint(cfg: FinetuneConfig, base: Path) -> dict[str, Any]:
    """What makes a run this run: its settings (less where it writes and its logging),
    the bytes of its data, and its base model (config and weight files' names and sizes).
    Stored in every checkpoint and checked before a checkpoint is resumed or replaced."""
    weights = sorted(base.glob("*.safetensors"))
    return {
        "config": cfg.model_dump(mode="json", exclude=_NOT_FINGERPRINTED),
        "data": {
            name: _sha256(Path(getattr(cfg.data, name)))
            for name in ("train", "eval")
            if Path(getattr(cfg.data, name)).is_file()
        },
        "base": {
            name: _sha256(base / name)
            for name in ("config.json", "tokenizer.json", "tokenizer_config.json")
            if (base / name).is_file()
        }
        | {f.name: _sample_sha256(f) for f in weights},
    }


def _differences(ours: Any, theirs: Any, where: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = []
        for k in sorted(set(ours) | set(theirs)):
            out += _differences(ours.get(k), theirs.get(k), f"{where}.{k}" if where else k)
        return out
    return [] if ours == theirs else [f"{where or 'fingerprint'} {theirs!r} there, {ours!r} here"]


def check_output_dir(out: Path, fingerprint: dict[str, Any], resume: bool) -> list[Path]:
    """The checkpoints in ``out`` that this run may use. Checkpoints of another run (other
    settings, data or base model) are an error naming what differs, whether resuming or
    not; this run's own are returned to resume from, or removed for a fresh start."""
    found = checkpoints(out)
    if not found:
        if (out / RUN_FILE).is_file():  # a finished run, its checkpoints pruned or unsaved
            theirs = _read_json(out / RUN_FILE).get("fingerprint")
            if theirs is not None and _differences(fingerprint, theirs):
                diff = _differences(fingerprint, theirs)
                raise ConfigError(
                    f"output_dir {out} holds another run's outputs: {diff[0]}; choose another "
                    "output_dir, or delete them"
                )
        return []
    theirs = _read_json(found[-1] / "state.json").get("fingerprint")
    if theirs is None:
        diff = ["written by an older version, without a run fingerprint"]
    else:
        diff = _differences(fingerprint, theirs)
    if diff:
        more = f" (and {len(diff) - 1} more)" if len(diff) > 1 else ""
        raise ConfigError(
            f"output_dir {out} holds checkpoints of another run: {diff[0]}{more}; "
            "choose another output_dir, or delete them"
        )
    if resume:
        return found
    for ckpt in found:  # a fresh run of the same settings replaces them
        shutil.rmtree(ckpt, ignore_errors=True)
    return []


class Plan:
    """Every micro-batch of the run, in order: epochs planned from the seed, a fraction
    of an epoch allowed."""

    def __init__(self, lengths: list[int], cfg: FinetuneConfig, world: int = 1) -> None:
        t = cfg.training
        self.batches: list[list[list[int]]] = []
        first = plan_epoch(lengths, t.batch_size, cfg.max_seq_length, cfg.seed, 0, cfg.packing)
        self.per_epoch = len(first)
        wanted = math.ceil(t.epochs * self.per_epoch)
        epoch = 0
        while len(self.batches) < wanted:
            plan = (
                first
                if epoch == 0
                else plan_epoch(
                    lengths, t.batch_size, cfg.max_seq_length, cfg.seed, epoch, cfg.packing
                )
            )
            self.batches += plan[: wanted - len(self.batches)]
            epoch += 1
        self.per_step = cfg.gradient_accumulation_steps * world
        self.steps = max(1, len(self.batches) // self.per_step)
        if t.max_steps is not None:
            self.steps = min(self.steps, t.max_steps)

    def step(self, step: int, rank: int = 0, world: int = 1) -> list[list[list[int]]]:
        """This process's micro-batches of optimizer step ``step`` (0-based)."""
        chunk = self.batches[step * self.per_step : (step + 1) * self.per_step]
        return chunk[rank::world]

    def epoch_of(self, step: int) -> float:
        return round(step * self.per_step / self.per_epoch, 3)


def _load_data(
    cfg: FinetuneConfig, tokenizer, share: bool
) -> tuple[list, list, list[int], dict[str, int]]:
    """Encoded train and eval examples (those over ``max_seq_length`` dropped and
    counted), and the shared prefix cut off the training examples (``share``)."""
    counts = {}
    data = {}
    prefix: list[int] = []
    for split in ("train", "eval"):
        rows = read_jsonl(getattr(cfg.data, split))
        if split == "eval" and cfg.evaluation.max_examples is not None:
            k = min(cfg.evaluation.max_examples, len(rows))
            pick = np.random.default_rng(cfg.seed).choice(len(rows), k, replace=False)
            rows = [rows[i] for i in sorted(pick)]
        for n, row in enumerate(rows, 1):  # the curated schema's messages, or a clear error
            try:
                _MESSAGES.validate_python(row["messages"] if isinstance(row, dict) else None)
            except (KeyError, ValidationError) as exc:
                why = "no 'messages'" if isinstance(exc, KeyError) else describe(exc, "messages")
                raise ConfigError(f"{getattr(cfg.data, split)}:{n}: {why}") from None
        try:
            enc = encode_chats(rows, tokenizer, chat=cfg.chat)
        except EncodingError as exc:
            raise ConfigError(f"{getattr(cfg.data, split)}: {exc}") from None
        kept = [e for e in enc if len(e) <= cfg.max_seq_length]
        counts[f"{split}_examples"] = len(kept)
        counts[f"{split}_too_long"] = len(enc) - len(kept)
        if split == "train" and share:
            prefix = shared_prefix(rows, tokenizer, chat=cfg.chat)
            kept = cut_prefix(kept, prefix)
            counts["shared_prefix_tokens"] = len(prefix)
            counts["train_sharing_prefix"] = sum(e.shared for e in kept)
        data[split] = kept
    if not data["train"]:
        raise ConfigError(f"{cfg.data.train}: no example fits max_seq_length {cfg.max_seq_length}")
    return data["train"], data["eval"], prefix, counts


def _model(cfg: FinetuneConfig, base: Path, device: str):
    import torch
    from transformers import AutoModelForCausalLM

    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.startswith("cuda") and torch.cuda.is_bf16_supported()
    )
    model = AutoModelForCausalLM.from_pretrained(
        str(base), dtype=torch.bfloat16 if bf16 else torch.float32, use_safetensors=True
    )
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    if cfg.lora.enabled:
        from peft import get_peft_model

        lora = cfg.lora.peft_config()
        try:
            model = get_peft_model(model, lora)
        except ValueError as exc:  # e.g. target modules not found in the model
            raise ConfigError(f"lora: {exc}".splitlines()[0]) from None
    return model.to(device), ("bf16" if bf16 else "fp32")


def shared_prefix_loss(model, prefix: list[int], device: str, precision: str):
    """The loss of a batch collated after the shared ``prefix``: one forward pass over
    the prefix (with gradients), its keys/values shared by every row, then the rows."""
    import torch

    from swarm.policies.lm import cache_argument, kv_of, shared_cache

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    name = cache_argument(base)
    ids = torch.tensor([prefix], device=device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32

    def loss_of(inputs: dict[str, Any]):
        inputs = {k: v.to(device) for k, v in inputs.items()}
        inputs["attention_mask"] = inputs["attention_mask"].to(dtype)
        kv = kv_of(model(input_ids=ids, use_cache=True))
        cache = shared_cache(kv, inputs["input_ids"].shape[0])
        return model(**inputs, **{name: cache}, use_cache=False).loss

    return loss_of


def _save_weights(model, where: Path, lora: bool) -> None:
    model.save_pretrained(str(where / ("adapter" if lora else "model")))


def _load_weights(model, where: Path, lora: bool) -> None:
    try:
        _load_weight_files(model, where, lora)
    except ConfigError:
        raise
    except Exception as exc:  # a truncated or foreign file: safetensors says which
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise ConfigError(
            f"{where}: the checkpoint's weights cannot be read ({type(exc).__name__}: {reason})"
        ) from None


def _load_weight_files(model, where: Path, lora: bool) -> None:
    from safetensors.torch import load_file

    if lora:
        from peft import set_peft_model_state_dict

        state = load_file(str(where / "adapter" / "adapter_model.safetensors"))
        result = set_peft_model_state_dict(model, state)
        if getattr(result, "unexpected_keys", None):
            raise ConfigError(f"{where}: adapter does not match the model")
    else:
        state = {}
        for f in sorted((where / "model").glob("*.safetensors")):
            state.update(load_file(str(f)))
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any("lm_head" not in k for k in missing):
            raise ConfigError(f"{where}: model weights do not match")


def _save_checkpoint(model, opt, sched, state: dict, cfg: FinetuneConfig) -> Path:
    import torch

    from training.runtime import rng_state

    out = Path(cfg.output_dir)
    final = out / f"checkpoint-{state['step']}"
    tmp = out / f".checkpoint-{state['step']}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _save_weights(model, tmp, cfg.lora.enabled)
    torch.save(opt.state_dict(), tmp / "optimizer.pt")  # tensors and plain values only
    torch.save(sched.state_dict(), tmp / "scheduler.pt")
    (tmp / "rng.json").write_text(json.dumps(rng_state()))
    (tmp / "state.json").write_text(json.dumps(state, indent=2))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in checkpoints(out)[: -cfg.evaluation.keep_checkpoints]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def _resume(model, opt, sched, ckpt: Path, cfg: FinetuneConfig) -> dict:

    from training.runtime import set_rng_state

    state = _read_json(ckpt / "state.json")
    rng = _read_json(ckpt / "rng.json")
    _load_weights(model, ckpt, cfg.lora.enabled)
    optimizer, scheduler = (
        _load_tensors(ckpt / "optimizer.pt"),
        _load_tensors(ckpt / "scheduler.pt"),
    )
    try:
        opt.load_state_dict(optimizer)
        sched.load_state_dict(scheduler)
        set_rng_state(rng)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{ckpt}: the checkpoint does not fit this run ({exc})") from None
    return state


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (an incomplete or older checkpoint)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({type(exc).__name__})") from None


def _load_tensors(path: Path) -> Any:
    """A ``torch.save``d state dict, loaded with ``weights_only=True``: tensors and plain
    values only, so a crafted file cannot run code; anything else is refused."""
    import pickle

    import torch

    try:
        return torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (an incomplete checkpoint)") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: refused: not a plain tensor file ({reason})") from None


class MetricsLog:
    """``metrics.jsonl``: one JSON object per line, appended as training goes (a resumed
    run first drops the lines after its checkpoint)."""

    def __init__(self, path: Path, keep_upto: int | None, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled
        if not enabled:
            return
        if keep_upto is None:
            path.write_text("")
        elif path.exists():
            kept = []
            for ln in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(ln)
                except (json.JSONDecodeError, RecursionError):
                    continue  # a line torn by a kill mid-write: the resumed run rewrites it
                if isinstance(record, dict) and record.get("step", 0) <= keep_upto:
                    kept.append(ln)
            atomic_write_text(path, "".join(ln + "\n" for ln in kept))

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")


def finetune(
    config,
    *,
    resume: bool | None = None,
    progress: bool = False,
    max_steps: int | None = None,
) -> dict[str, Any]:
    """Fine-tune as ``config`` says; return the training report. The output directory is
    held (a lock beside it) for the whole run and carries the run's fingerprint."""
    cfg = as_finetune(config)
    if max_steps is not None:
        training = cfg.training.model_copy(update={"max_steps": max_steps})
        cfg = cfg.model_copy(update={"training": training})
    resume = cfg.resume if resume is None else resume
    try:
        pick_device(cfg.device)  # one that exists here
    except ValueError as exc:
        raise ConfigError(f"device: {exc}") from None
    base = cfg.base_dir()
    out = Path(cfg.output_dir)
    fingerprint = run_fingerprint(cfg, base)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output_dir {out}: exists and is not a directory")
    check_output_dir(out, fingerprint, resume=True)  # refuse another run's dir up front
    out.mkdir(parents=True, exist_ok=True)
    with exclusive_beside(out, "the fine-tuning output_dir"):
        atomic_write_text(out / RUN_FILE, json.dumps({"fingerprint": fingerprint}, indent=2))
        return _finetune(cfg, out, base, fingerprint, resume, progress)


def _finetune(cfg, out: Path, base: Path, fingerprint, resume: bool, progress: bool):
    from accelerate import Accelerator
    from transformers import AutoTokenizer

    from swarm.interface.chat_format import check_template, save_chat_format
    from training.finetune.validation import validate_model
    from training.runtime import device_name, optimizer_and_schedule, seed_everything

    tokenizer = AutoTokenizer.from_pretrained(str(base))
    try:
        cfg.chat.apply_to(tokenizer)
        check_template(tokenizer, cfg.chat, base)  # one line naming what to set
    except ValueError as exc:
        raise ConfigError(f"base_model: {exc}") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    accelerator = Accelerator(cpu=cfg.device == "cpu")
    rank, world = accelerator.process_index, accelerator.num_processes
    # Two forward passes per backward (prefix, then rows) suit neither DDP's reducer nor
    # recomputation under gradient checkpointing (the cache would grow twice).
    share = cfg.shared_prefix and world == 1 and not cfg.gradient_checkpointing
    train, evals, prefix, counts = _load_data(cfg, tokenizer, share)
    device = str(accelerator.device) if cfg.device == "auto" else cfg.device
    plan = Plan([len(e) for e in train], cfg, world)
    seed_everything(cfg.seed)
    model, precision = _model(cfg, base, device)
    t = cfg.training
    opt, sched = optimizer_and_schedule(
        model, t.learning_rate, t.warmup_steps, plan.steps, t.weight_decay
    )
    model, opt = accelerator.prepare(model, opt)
    model.train()
    prefix_loss = shared_prefix_loss(model, prefix, device, precision) if prefix else None

    state = {"step": 0, "tokens": 0, "examples": 0, "elapsed_s": 0.0}
    found = check_output_dir(out, fingerprint, resume)
    last = found[-1] if found else None
    if last is not None:
        state = _resume(accelerator.unwrap_model(model), opt, sched, last, cfg)
    state["fingerprint"] = fingerprint
    log = MetricsLog(
        out / "metrics.jsonl",
        state["step"] if last is not None else None,
        enabled=accelerator.is_main_process,
    )

    dev_name = device_name(device)
    price = cfg.cost.price_per_hour

    def cost(elapsed: float) -> float:
        return round(elapsed / 3600 * world * price, 6)

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    show = progress and accelerator.is_main_process
    started = time.perf_counter() - state["elapsed_s"]
    window: list[float] = state.get("window", [])  # step losses since the last log line
    final_eval: dict[str, Any] | None = state.get("eval")
    with Bars(show) as bars:
        advance = bars.add("fine-tuning", plan.steps, done=state["step"])
        while state["step"] < plan.steps:
            step_loss = 0.0
            for batch in plan.step(state["step"], rank, world):
                inputs, n = collate(
                    batch, train, tokenizer.pad_token_id, cfg.packing, prefix_len=len(prefix)
                )
                if prefix_loss is not None:
                    loss = prefix_loss(inputs)
                    n += len(prefix)  # computed once for the batch
                else:
                    inputs = {k: v.to(device) for k, v in inputs.items()}
                    loss = model(**inputs, use_cache=False).loss
                loss = loss / cfg.gradient_accumulation_steps
                accelerator.backward(loss)
                step_loss += loss.item()
                state["tokens"] += n * world
                state["examples"] = state.get("examples", 0) + sum(map(len, batch)) * world
            accelerator.clip_grad_norm_(model.parameters(), t.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            state["step"] += 1
            step = state["step"]
            window.append(step_loss)
            state["elapsed_s"] = time.perf_counter() - started
            advance(note=f"loss {step_loss:.3f}")
            record = {
                "step": step,
                "epoch": plan.epoch_of(step),
                "loss": round(sum(window) / len(window), 5),
                "lr": sched.get_last_lr()[0],
                "tokens": state["tokens"],
                "elapsed_s": round(state["elapsed_s"], 2),
                "tokens_per_s": round(state["tokens"] / max(state["elapsed_s"], 1e-9), 1),
                "cost_usd": cost(state["elapsed_s"]),
            }
            if step % t.logging_steps == 0 or step == plan.steps:
                log.write(record)
                window = []
            if step % cfg.evaluation.eval_steps == 0 or step == plan.steps:
                if evals and accelerator.is_main_process:
                    final_eval = validate_model(
                        accelerator.unwrap_model(model),
                        evals,
                        tokenizer.pad_token_id,
                        cfg.evaluation.batch_size,
                        device,
                    )
                    log.write({"step": step, "epoch": record["epoch"], **final_eval})
                state["eval"] = final_eval
            state["window"] = window
            if step % cfg.evaluation.save_steps == 0 and accelerator.is_main_process:
                _save_checkpoint(accelerator.unwrap_model(model), opt, sched, state, cfg)
            accelerator.wait_for_everyone()

    report = {
        "base_model": str(base),
        "method": "lora" if cfg.lora.enabled else "full",
        "parameters": total,
        "trainable_parameters": trainable,
        "precision": precision,
        "packing": cfg.packing,
        **counts,
        "steps": plan.steps,
        "epochs": plan.epoch_of(plan.steps),
        "examples_seen": state.get("examples", 0),
        "tokens": state["tokens"],
        "wall_s": round(state["elapsed_s"], 2),
        "tokens_per_s": round(state["tokens"] / max(state["elapsed_s"], 1e-9), 1),
        "device": dev_name,
        "processes": world,
        "device_hours": round(state["elapsed_s"] / 3600 * world, 6),
        "price_per_hour": price,
        "estimated_cost_usd": cost(state["elapsed_s"]),
        "resumed_from": last.name if last is not None else None,
        "eval": final_eval,
        "seed": cfg.seed,
    }
    if accelerator.is_main_process:
        where = out / ("adapter" if cfg.lora.enabled else "model")
        unwrapped = accelerator.unwrap_model(model)

        def save(tmp: Path) -> None:
            unwrapped.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))  # with the template it was trained with
            # what lm:PATH and swarm serve apply; the template itself went with the tokenizer
            save_chat_format(cfg.chat.model_copy(update={"template": None}), tmp)

        atomic_write_dir(where, save)  # never old and new files side by side
        report["output"] = str(where)
        atomic_write_text(out / "training_report.json", json.dumps(report, indent=2))
    return report
