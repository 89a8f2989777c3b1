"""Tiny random-weight checkpoints of the common model families, built in the test: each
family's config class, special tokens and chat template (as the published instruct
checkpoints ship them, tool handling left out), on our own BPE tokenizer."""

from __future__ import annotations

from pathlib import Path

from training.tokenizer import CHAT_TEMPLATE, corpus_texts, train_tokenizer

QWEN = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) "
    "or (message.role == 'assistant') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# Mistral-7B-Instruct-v0.3: the system message is folded into the *last* user turn.
MISTRAL = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system_message = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}"
    "{%- else %}{%- set loop_messages = messages %}{%- endif %}"
    "{%- for message in loop_messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('After the optional system message, conversation roles must "
    "alternate user/assistant/user/assistant/...') }}"
    "{%- endif %}{%- endfor %}"
    "{{- bos_token }}"
    "{%- for message in loop_messages %}"
    "{%- if message['role'] == 'user' %}"
    "{%- if loop.last and system_message is defined %}"
    "{{- '[INST] ' + system_message + '\\n\\n' + message['content'] + '[/INST]' }}"
    "{%- else %}{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- ' ' + message['content']|trim + eos_token }}"
    "{%- else %}{{- raise_exception('Only user and assistant roles are supported') }}"
    "{%- endif %}{%- endfor %}"
)

# Gemma (gemma-7b-it, gemma-2-*-it): no system role.
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

SIZE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
}

#: family -> (config class name, special tokens {bos, eos, pad, extra}, template)
FAMILIES = {
    "llama3": ("LlamaConfig", {}, CHAT_TEMPLATE),
    "qwen2.5": (
        "Qwen2Config",
        {"bos": None, "eos": "<|im_end|>", "extra": ["<|im_start|>", "<|endoftext|>"]},
        QWEN,
    ),
    "mistral-v0.3": (
        "MistralConfig",
        {"bos": "<s>", "eos": "</s>", "extra": ["[INST]", "[/INST]"]},
        MISTRAL,
    ),
    "gemma": (
        "GemmaConfig",
        {"bos": "<bos>", "eos": "<eos>", "extra": ["<start_of_turn>", "<end_of_turn>"]},
        GEMMA,
    ),
}


def build_family(family: str, examples: list[dict], out: Path, seed: int = 0) -> Path:
    """A random-weight checkpoint of ``family`` with a tokenizer trained on ``examples``."""
    import torch
    import transformers

    config_name, special, template = FAMILIES[family]
    tok = train_tokenizer(corpus_texts(examples), 600)
    if special:
        extra = [t for t in (special.get("bos"), special["eos"], *special["extra"]) if t]
        tok.add_special_tokens({"additional_special_tokens": extra})
        tok.eos_token = special["eos"]
        tok.bos_token = special.get("bos")
    tok.chat_template = template
    config = getattr(transformers, config_name)(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
        **SIZE,
        **({"head_dim": 16} if family == "gemma" else {}),
    )
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out
