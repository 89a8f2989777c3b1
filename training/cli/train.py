"""``swarm train``: build a base model, fine-tune it, merge an adapter."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from swarm.cli.common import console, offline_models, user_errors

train_app = typer.Typer(
    help="The model factory: base model, fine-tuning, merge.", no_args_is_help=True
)


@train_app.command("base")
def base(
    data: Path = typer.Option(..., "--data", help="A curated dataset directory."),
    out: Path = typer.Option(..., "--out", help="Where to write the base model."),
    preset: str = typer.Option("small", "--preset", help="tiny | mini | small"),
    steps: int = typer.Option(None, "--steps", min=1, help="Pretraining steps."),
    epochs: float = typer.Option(None, "--epochs", min=0.0, help="Pretraining epochs (default 1)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda"),
) -> None:
    """Train the tokenizer, build a Llama model from a preset, pretrain it on the corpus."""
    offline_models()
    from swarm.policies.lm import check_device
    from training.base_model import build_base

    with user_errors("--device: "):
        check_device(device)

    report = build_base(
        data,
        out,
        preset_name=preset,
        steps=steps,
        epochs=epochs,
        seed=seed,
        device=device,
        progress=True,
    )
    console.print(
        f"base model {report['preset']} ({report['parameters']:,} parameters, vocab "
        f"{report['vocab_size']}): {report['steps']} steps, {report['tokens']:,} tokens, "
        f"loss {report['first_loss']:.2f} -> {report['final_loss']:.2f} in "
        f"{report['wall_s']} s; wrote {out}"
    )


@train_app.command("finetune")
def finetune(
    config: Path = typer.Argument(..., help="Fine-tuning config (YAML, the spec's keys)."),
    resume: bool = typer.Option(
        None, "--resume/--no-resume", help="Continue from the last checkpoint."
    ),
    output_dir: Path = typer.Option(None, "--output-dir", help="Override output_dir."),
    max_steps: int = typer.Option(None, "--max-steps", min=1, help="Stop after N steps."),
) -> None:
    """LoRA (or full) fine-tuning; eval every eval_steps, checkpoint every save_steps."""
    offline_models()
    from training.finetune.config import load_finetune
    from training.finetune.trainer import finetune as run

    cfg = load_finetune(config)
    if output_dir is not None:
        cfg = cfg.model_copy(update={"output_dir": str(output_dir)})
    report = run(cfg, resume=resume, progress=True, max_steps=max_steps)
    ev = report.get("eval") or {}
    acc = ev.get("next_action_accuracy")
    console.print(
        f"{report['method']} fine-tuning: {report['steps']} steps, {report['tokens']:,} tokens, "
        f"{report['wall_s']} s on {report['device']}, est. ${report['estimated_cost_usd']}; "
        f"eval loss {ev.get('eval_loss', float('nan')):.3f}, next-action accuracy "
        f"{'n/a' if acc is None else f'{acc:.1%}'}"
    )
    report_path = Path(cfg.output_dir) / "training_report.json"
    console.print(f"wrote {report.get('output')} and {report_path}")


@train_app.command("merge")
def merge(
    adapter: Path = typer.Argument(..., help="A PEFT adapter directory."),
    out: Path = typer.Option(..., "--out", help="Where to write the merged model."),
    base: Path = typer.Option(None, "--base", help="Base model (default: the adapter's)."),
) -> None:
    """Merge a LoRA adapter into its base: a model plain transformers loads."""
    offline_models()
    from training.merge import merge as run

    where = run(adapter, out, base)
    console.print(f"merged {adapter} into {json.dumps(str(where))}")
