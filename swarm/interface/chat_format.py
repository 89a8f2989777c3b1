"""How our messages meet a model family's chat template: the ``chat`` block.

Our conversations are ``[system, user, assistant]`` (:func:`swarm.interface.text.
render_observation`, the curated examples). Chat templates differ in what they do with
the system turn:

* Llama-3 and Qwen-2.5 render it as a turn of its own (``system: native``);
* Mistral v0.3 folds it into the *last* user turn, so the prompt (whose last turn is the
  user's) and the training example (whose last turn is the answer) render the user turn
  differently: the template is not prefix-stable and cannot be trained on as given. With
  ``system: fold`` we fold the system text into the first user turn ourselves and the
  template never sees a system role;
* Gemma has no system role at all (its template raises): ``fold`` again, or ``drop``
  (the system turn is left out; the model never sees the constitution).

``template`` replaces the tokenizer's chat template (a Jinja string, or the path of a
``.jinja`` file). The block is one :class:`ChatFormat`; fine-tuning applies it and saves
it beside the model (:data:`FILE`), and ``lm:PATH`` and ``swarm serve`` read it from
there, so training, the policy and the server render every prompt the same way.
:func:`check_template` turns a template we cannot use into one line naming the model
directory and what to set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: The chat block's file in a model or adapter directory (written by fine-tuning).
FILE = "chat_format.json"

_FIX = (
    "set chat: {system: fold} (or drop) in the fine-tuning config, or write "
    '{"system": "fold"} to %s'
)


class ChatFormat(BaseModel):
    """The ``chat`` block (unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid")

    system: Literal["native", "fold", "drop"] = Field(
        "native",
        description="native: the template renders the system turn; fold: the system text "
        "opens the first user turn; drop: the system turn is left out",
    )
    template: str | None = Field(
        None, description="a chat template (Jinja) replacing the tokenizer's, or a .jinja file"
    )

    def messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``messages`` as the template should see them."""
        msgs = [dict(m) for m in messages]
        if self.system == "native" or not msgs or msgs[0].get("role") != "system":
            return msgs
        system, rest = msgs[0], msgs[1:]
        if self.system == "drop":
            return rest
        for m in rest:
            if m.get("role") == "user":
                m["content"] = f"{system['content']}\n\n{m['content']}"
                return rest
        return [{"role": "user", "content": system["content"]}, *rest]

    def template_text(self) -> str | None:
        """The override template's text (read from its file when it names one)."""
        t = self.template
        if t is not None and t.endswith(".jinja") and "\n" not in t:
            try:
                return Path(t).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"chat.template: cannot read {t} ({exc.strerror})") from None
        return t

    def apply_to(self, tokenizer) -> None:
        """Put the override template (if any) on ``tokenizer``."""
        text = self.template_text()
        if text is not None:
            tokenizer.chat_template = text


def load_chat_format(*dirs: str | Path) -> ChatFormat:
    """The chat block saved in the first of ``dirs`` that has one (defaults otherwise);
    a file that is not a chat block is a one-line ValueError naming it."""
    for d in dirs:
        path = Path(d) / FILE
        if path.is_file():
            try:
                return ChatFormat.model_validate(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, ValidationError) as exc:
                why = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
                raise ValueError(f"{path}: not a chat block ({why})") from None
    return ChatFormat()


def save_chat_format(fmt: ChatFormat, where: str | Path) -> None:
    from swarm.io import atomic_write_text

    atomic_write_text(Path(where) / FILE, fmt.model_dump_json(indent=2) + "\n")


def _render(tokenizer, fmt: ChatFormat, messages, **kw) -> str:
    return tokenizer.apply_chat_template(fmt.messages(messages), tokenize=False, **kw)


_PROBE_ANSWER = "wait"


def check_template(tokenizer, fmt: ChatFormat, where: str | Path) -> tuple[str, str]:
    """Check that ``tokenizer``'s template can render our conversations under ``fmt``;
    return ``(answer_pre, answer_post)``: the text the template writes before and after an
    answer's content. A template that raises, or that renders the prompt differently
    from the start of the training example, is a one-line ValueError naming ``where``."""
    from jinja2 import TemplateError

    from swarm.interface.constitution import constitution_text

    if not tokenizer.chat_template:
        raise ValueError(f"{where}: the tokenizer has no chat template; set chat.template")
    system = {"role": "system", "content": constitution_text()}
    user = {"role": "user", "content": "Actions: wait\nexplore"}
    answer = {"role": "assistant", "content": _PROBE_ANSWER}
    hint = _FIX % (Path(where) / FILE) if fmt.system == "native" else "set chat.template"
    try:
        prompt = _render(tokenizer, fmt, [system, user], add_generation_prompt=True)
        full = _render(tokenizer, fmt, [system, user, answer])
    except TemplateError as exc:
        raise ValueError(
            f"{where}: its chat template refuses our conversation ({exc}); {hint}"
        ) from None
    if not full.startswith(prompt):
        raise ValueError(
            f"{where}: its chat template is not prefix-stable (the prompt is not the start of "
            f"the answered conversation, as when the system turn is folded into the last "
            f"user turn); {hint}"
        )
    tail = full[len(prompt) :]
    at = tail.find(_PROBE_ANSWER)
    if at < 0:
        raise ValueError(f"{where}: its chat template drops the assistant's answer")
    return tail[:at], tail[at + len(_PROBE_ANSWER) :]


def shared_prompt_prefix(tokenizer, fmt: ChatFormat, system: str) -> tuple[list[int], str | None]:
    """The tokens every prompt with system turn ``system`` starts with, and their text when
    a prompt's remaining text can be tokenized on its own (``None`` otherwise: tokenize
    the whole prompt and cut the prefix off its tokens).

    The text is the longest start of several probe prompts that ends at a line break or a
    markup character and after which tokenization is unchanged (every probe's tokens are
    the prefix's tokens followed by those of the rest)."""
    users = ("Actions: wait\nexplore", "x", "Step 1: 3 agents", " a", "\n")
    sys = {"role": "system", "content": system}
    probes = [
        _render(tokenizer, fmt, [sys, {"role": "user", "content": u}], add_generation_prompt=True)
        for u in users
    ]

    def ids(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    whole = [ids(p) for p in probes]
    common = os.path.commonprefix(probes)
    cuts = [i + 1 for i, ch in enumerate(common) if ch in "\n>]|"]
    for cut in reversed(cuts[-8:]):
        head = ids(common[:cut])
        if all(head + ids(p[cut:]) == w for p, w in zip(probes, whole, strict=True)):
            return head, common[:cut]
    shared = os.path.commonprefix(whole)
    return list(shared[: max(len(shared) - 1, 0)]), None
