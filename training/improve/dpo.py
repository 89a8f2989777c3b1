"""The learning step: TRL's DPO on counterfactual preference pairs, over the student.

Why DPO (and not GRPO or a hand-written policy gradient): a label already holds, per
decision, the reward of every candidate, scored with common random numbers by the
simulator, so the learning signal is a ranking of a handful of fixed answers, which is
what DPO learns from; GRPO would sample answers and score each with fresh rollouts
(hundreds of simulator branches per update on 2 cores), and a policy gradient on one
sampled action per decision throws away the other candidates' rewards. DPO also keeps the
student near where it started (``beta``; the reference is the student itself), which is
what a round that must not make things worse wants.

:func:`dpo_train` trains a LoRA adapter over the student (a model directory; the DPO
reference is the same model with the adapter off), with the fine-tuning config's
conventions: ``metrics.jsonl`` (one JSON object per logging or eval step: loss, learning
rate, DPO's reward margin and pair accuracy), a checkpoint every ``save_steps``
(safetensors adapter, optimizer and scheduler read back with ``weights_only=True``), exact
resume from the last one when the run's fingerprint (settings, pairs, student) matches,
and ``training_report.json``. The result, ``OUT/student``, is the adapter merged into the
student: a plain model directory ``lm:PATH`` loads, and the next round's student.

The prompts are the policy's own: the constitution as the system turn and the rendered
observation as the user turn, through the student's chat template and chat block, so the
tokens DPO ranks are the tokens the ``lm:`` policy scores (a test checks it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np

from swarm.config import ConfigError
from swarm.io import atomic_write_dir, atomic_write_text
from training.improve.config import DPO

#: What a finished run leaves beside its checkpoints.
REPORT = "training_report.json"


def pair_messages(pair: dict[str, Any], chat) -> dict[str, Any]:
    """A preference pair in TRL's conversational form: the policy's system and user turns
    as the prompt (through the chat block), the two answers as assistant turns."""
    from swarm.interface.constitution import constitution_text

    prompt = chat.messages(
        [
            {"role": "system", "content": constitution_text()},
            {"role": "user", "content": pair["prompt"]},
        ]
    )
    return {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": pair["chosen"]}],
        "rejected": [{"role": "assistant", "content": pair["rejected"]}],
    }


def split_pairs(
    pairs: list[dict[str, Any]], fraction: float, seed: int
) -> tuple[list[dict], list[dict]]:
    """Train and eval pairs, split by decision (a decision's pairs stay together)."""
    keys = sorted({(p["seed"], p["step"], p["agent_id"]) for p in pairs})
    n_eval = int(round(fraction * len(keys)))
    if fraction > 0 and len(keys) > 1:
        n_eval = max(1, n_eval)
    pick = np.random.default_rng([seed, 0xD90]).permutation(len(keys))[:n_eval]
    held = {keys[i] for i in pick.tolist()}
    train = [p for p in pairs if (p["seed"], p["step"], p["agent_id"]) not in held]
    evals = [p for p in pairs if (p["seed"], p["step"], p["agent_id"]) in held]
    return train, evals


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _fingerprint(pairs, student: Path, cfg: DPO, seed: int) -> dict[str, Any]:
    from training.finetune.trainer import _sample_sha256

    weights = sorted(student.glob("*.safetensors"))
    return {
        "config": cfg.model_dump(mode="json", exclude={"evaluation": {"keep_checkpoints"}}),
        "seed": seed,
        "pairs": _digest(pairs),
        "student": {f.name: _sample_sha256(f) for f in weights},
    }


def _checkpoints(out: Path) -> list[Path]:
    found = [p for p in out.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    done = [p for p in found if (p / "trainer_state.json").is_file()]
    return sorted(done, key=lambda p: int(p.name.split("-")[-1]))


def _usable_checkpoint(out: Path, fingerprint: dict[str, Any], resume: bool) -> Path | None:
    """The checkpoint to resume from: this run's last one, or None (another run's
    checkpoints, or ``resume`` off, are removed: a round's directory is its own)."""
    run = out / "run.json"
    theirs = None
    if run.is_file():
        try:
            theirs = json.loads(run.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, json.JSONDecodeError, AttributeError):
            theirs = None
    found = _checkpoints(out)
    if found and resume and theirs == fingerprint:
        return found[-1]
    for ckpt in out.glob("checkpoint-*"):
        shutil.rmtree(ckpt, ignore_errors=True)
    return None


def _metrics_callback(path: Path, keep_upto: int | None, started: float):
    """A TrainerCallback writing each log to ``metrics.jsonl`` (a resumed run first keeps
    the lines up to its checkpoint's step)."""
    from transformers import TrainerCallback

    from training.finetune.trainer import MetricsLog

    log = MetricsLog(path, keep_upto)

    class Metrics(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or not state.is_world_process_zero:
                return
            record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 3)}
            record |= {k: round(float(v), 6) for k, v in logs.items() if isinstance(v, int | float)}
            record["elapsed_s"] = round(time.perf_counter() - started, 2)
            log.write(record)

    return Metrics()


def dpo_train(
    pairs: list[dict[str, Any]],
    student: str | Path,
    out: str | Path,
    cfg: DPO,
    *,
    seed: int = 0,
    resume: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Train a LoRA adapter over ``student`` by DPO on ``pairs`` (rows of
    :func:`training.counterfactual.preference_pairs`) into ``out``; return the report
    (also ``out/training_report.json``). ``out/student`` is the merged model."""
    if not pairs:
        raise ConfigError("dpo: no preference pairs to learn from (lower labels.margin?)")
    for n, p in enumerate(pairs, 1):
        missing = [
            k for k in ("prompt", "chosen", "rejected", "seed", "step", "agent_id") if k not in p
        ]
        if missing:
            raise ConfigError(f"pairs:{n}: no {missing[0]!r}")
    student, out = Path(student), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(pairs, student, cfg, seed)
    last = _usable_checkpoint(out, fingerprint, resume)
    atomic_write_text(out / "run.json", json.dumps({"fingerprint": fingerprint}, indent=2))
    return _train(pairs, student, out, cfg, seed, last, progress)


def _train(pairs, student: Path, out: Path, cfg: DPO, seed: int, last, progress: bool):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    from swarm.interface.chat_format import load_chat_format, save_chat_format
    from swarm.policies.lm import pick_device
    from training.runtime import device_name

    if not progress:
        import datasets

        datasets.disable_progress_bars()
    device = pick_device(cfg.device)
    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and device.startswith("cuda") and torch.cuda.is_bf16_supported()
    )
    chat = load_chat_format(student)
    tokenizer = AutoTokenizer.from_pretrained(str(student))
    chat.apply_to(tokenizer)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    train, evals = split_pairs(pairs, cfg.eval_fraction, seed)
    t, e = cfg.training, cfg.evaluation
    args = DPOConfig(
        output_dir=str(out),
        seed=seed,
        beta=cfg.beta,
        loss_type=[cfg.loss_type, "sft"] if cfg.sft_weight else [cfg.loss_type],
        loss_weights=[1.0, cfg.sft_weight] if cfg.sft_weight else None,
        precompute_ref_log_probs=True,  # the reference is fixed: score it once, not per epoch
        max_length=cfg.max_length,
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=e.batch_size,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1,
        learning_rate=t.learning_rate,
        warmup_steps=t.warmup_steps,
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm,
        lr_scheduler_type="cosine",
        logging_steps=t.logging_steps,
        eval_strategy="steps" if evals else "no",
        eval_steps=e.eval_steps,
        save_strategy="steps",
        save_steps=e.save_steps,
        save_total_limit=e.keep_checkpoints,
        use_cpu=device == "cpu",
        bf16=bf16,
        report_to="none",
        disable_tqdm=not progress,
        dataloader_num_workers=0,
    )
    model = AutoModelForCausalLM.from_pretrained(
        str(student), dtype=torch.bfloat16 if bf16 else torch.float32, use_safetensors=True
    )
    lora = cfg.lora.peft_config()
    started = time.perf_counter()
    keep = None
    if last is not None:
        keep = json.loads((last / "trainer_state.json").read_text())["global_step"]
    train_ds = Dataset.from_list([pair_messages(p, chat) for p in train])
    evals_ds = Dataset.from_list([pair_messages(p, chat) for p in evals]) if evals else None
    # TRL's reference pass reads only TQDM_DISABLE; patch.dict puts the environment back
    quiet = nullcontext() if progress else patch.dict(os.environ, {"TQDM_DISABLE": "1"})
    with quiet:
        trainer = DPOTrainer(
            model=model,
            args=args,
            train_dataset=train_ds,
            eval_dataset=evals_ds,
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[_metrics_callback(out / "metrics.jsonl", keep, started)],
        )
        if not progress:  # metrics.jsonl has every log; stdout is the caller's
            from transformers import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        result = trainer.train(resume_from_checkpoint=str(last) if last is not None else None)
        final_eval = trainer.evaluate() if evals else {}
    merged = trainer.model.merge_and_unload()

    def save(tmp: Path) -> None:
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        save_chat_format(chat.model_copy(update={"template": None}), tmp)

    atomic_write_dir(out / "student", save)
    report = {
        "method": f"dpo ({cfg.loss_type}, beta {cfg.beta}"
        + (f", + {cfg.sft_weight} x sft" if cfg.sft_weight else "")
        + ") on a LoRA adapter, merged",
        "student": str(student),
        "train_pairs": len(train),
        "eval_pairs": len(evals),
        "steps": int(result.global_step),
        "train_loss": round(float(result.training_loss), 5),
        "eval": {
            k: round(float(v), 5) for k, v in final_eval.items() if isinstance(v, int | float)
        },
        "wall_s": round(time.perf_counter() - started, 2),
        "device": device_name(device),
        "resumed_from": last.name if last is not None else None,
        "seed": seed,
        "output": str(out / "student"),
    }
    for ckpt in out.glob("checkpoint-*"):  # the merged student is the result; a finished
        shutil.rmtree(ckpt, ignore_errors=True)  # round has nothing left to resume
    atomic_write_text(out / REPORT, json.dumps(report, indent=2))
    return report
