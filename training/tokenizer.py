"""Our own tokenizer: byte-level BPE trained on the corpus, saved as a Hugging Face fast
tokenizer with a Llama-3-style chat template.

The template writes each message as ``<|start_header_id|>ROLE<|end_header_id|>\\n\\n`` +
content + ``<|eot_id|>`` after one ``<|begin_of_text|>``, and wraps every assistant
message's content and its ``<|eot_id|>`` in ``{% generation %}`` markers, so
``apply_chat_template(..., return_assistant_tokens_mask=True)`` marks exactly the tokens
the model must learn to write (end of turn included). ``eos_token`` is ``<|eot_id|>``: a
generated answer stops at the end of its turn. Newlines are always tokens of their own,
so a prompt ending in the assistant header tokenizes the same way as it does inside a
training example (no token straddles the boundary where the answer begins).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from swarm.interface.constitution import constitution_text
from swarm.world.actions import DIRECTION_NAMES

BOS, EOS, PAD = "<|begin_of_text|>", "<|eot_id|>", "<|pad|>"
SPECIAL_TOKENS = [
    BOS,
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    EOS,
    PAD,
]

CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{%- generation %}{{- message['content'] | trim + '<|eot_id|>' }}{%- endgeneration %}"
    "{%- else %}"
    "{{- message['content'] | trim + '<|eot_id|>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)


def action_vocabulary(max_id: int = 64) -> list[str]:
    """Every action's canonical text for task and agent ids below ``max_id``."""
    out = [f"move {d}" for d in DIRECTION_NAMES] + ["explore", "wait"]
    for i in range(max_id):
        out += [f"{k} task {i}" for k in ("approach", "claim", "join", "work", "release")]
        out += [f"signal help task {i}", f"handoff task {i} to agent {i}"]
    return out


def corpus_texts(examples: Iterable[dict], decisions: bool = True) -> Iterator[str]:
    """The tokenizer's corpus: every message of the curated examples, the constitution
    and the action vocabulary. ``decisions=False`` leaves out the answers of the swarm
    decisions (the assistant turns of examples whose metadata names an ``action``): the
    base model's pretraining corpus, so that what fine-tuning teaches is not in it."""
    yield constitution_text()
    yield "\n".join(action_vocabulary())
    for ex in examples:
        answer_is_decision = "action" in ex.get("metadata", {})
        for m in ex["messages"]:
            if decisions or not (answer_is_decision and m["role"] == "assistant"):
                yield m["content"]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096):
    """Train byte-level BPE on ``texts``; return a ``PreTrainedTokenizerFast`` with the
    chat template. Deterministic for the same texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # Newlines are tokens of their own, so the text after a role header starts a fresh
    # token whether the answer is there (training) or not yet (the generation prompt).
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split("\n", behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        model_max_length=4096,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def save_tokenizer(tokenizer, out: str | Path) -> None:
    """``save_pretrained``: ``AutoTokenizer.from_pretrained(out)`` gives it back."""
    tokenizer.save_pretrained(str(out))
