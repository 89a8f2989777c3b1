"""Merge a LoRA adapter into its base model: a plain transformers model directory."""

from __future__ import annotations

from pathlib import Path

from swarm.config import ConfigError


def merge(adapter: str | Path, out: str | Path, base: str | Path | None = None) -> Path:
    """Load ``base`` (default: the adapter's ``base_model_name_or_path``), apply the
    adapter, merge it into the weights, and save model and tokenizer to ``out``."""
    from swarm.policies.lm import adapter_base

    adapter = Path(adapter)
    if not (adapter / "adapter_config.json").exists():
        raise ConfigError(f"{adapter}: not a PEFT adapter directory (no adapter_config.json)")
    if base is None:
        try:
            base = adapter_base(adapter)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    base = Path(base)
    if not base.is_dir():
        raise ConfigError(f"--base {str(base)!r} is not a local directory")

    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(base), use_safetensors=True)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    out = Path(out)
    merged.save_pretrained(str(out))
    source = adapter if (adapter / "tokenizer_config.json").exists() else base
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(out))
    from swarm.interface.chat_format import load_chat_format, save_chat_format

    save_chat_format(load_chat_format(adapter, base), out)  # rendered as it was trained
    return out
