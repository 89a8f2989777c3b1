"""From chat examples to training batches: assistant-only labels, packing, padding.

* :func:`encode_chats` renders conversations with the tokenizer's chat template and
  labels only the assistant tokens (end of turn included): from the template's
  ``{% generation %}`` markers when it has them, else by the prefix difference (the
  conversation up to a turn with the generation prompt, then with the turn).
* :func:`collate` with packing puts several examples in one row with position ids
  restarting at 0 for each; with no attention mask, transformers' masks keep each
  example from attending to the others (the packed-sequence mask; call the model with
  ``use_cache=False``, or the mask is not built). Padded batches are the plain
  baseline: one example per row, padded to the longest in the batch.
* Shared prefix: when most examples open with the same system turn (ours: the
  constitution, over half of every example's tokens), :func:`cut_prefix` cuts it off
  them and :func:`collate` (``prefix_len``) gives each row a 4-D mask under which every
  such example sees the prefix (whose keys/values the trainer computes once per batch)
  and itself, with positions continuing after the prefix. Same loss, same gradients,
  a fraction of the work.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

IGNORE = -100


class EncodingError(ValueError):
    """An example that cannot be trained on (e.g. no assistant tokens)."""


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE outside the assistant tokens
    example_id: str = ""
    is_action: bool = False  # a swarm decision (next-action accuracy is measured on these)
    shared: bool = False  # the shared prefix was cut off; the example continues it

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_target(self) -> int:
        return sum(t != IGNORE for t in self.labels)


def has_generation_markers(tokenizer) -> bool:
    tpl = tokenizer.chat_template or ""
    return "generation %}" in tpl or "generation -%}" in tpl


def _masks_by_prefix(tokenizer, messages: list[dict]) -> tuple[list[int], list[int]]:
    ids: list[int] = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)
    mask = [0] * len(ids)
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = tokenizer.apply_chat_template(
            messages[:i], tokenize=True, return_dict=False, add_generation_prompt=True
        )
        upto = tokenizer.apply_chat_template(messages[: i + 1], tokenize=True, return_dict=False)
        if ids[: len(upto)] != upto or upto[: len(before)] != before:
            raise EncodingError("the chat template is not prefix-stable")
        for k in range(len(before), len(upto)):
            mask[k] = 1
    return ids, mask


def encode_chats(
    examples: Sequence[dict], tokenizer, *, chunk: int = 512, chat=None
) -> list[Encoded]:
    """Encode curated examples (dicts with ``messages``, optionally ``metadata`` and
    ``provenance``), their messages put to the template as the chat block ``chat`` says
    (:class:`swarm.interface.chat_format.ChatFormat`; default native); raises
    :class:`EncodingError` naming an example with no target."""
    from swarm.interface.chat_format import ChatFormat
    from swarm.policies.lm import special_token_of

    chat = chat or ChatFormat()
    out: list[Encoded] = []
    markers = has_generation_markers(tokenizer)
    for start in range(0, len(examples), chunk):
        part = examples[start : start + chunk]
        convs = [chat.messages(ex["messages"]) for ex in part]
        if markers:
            enc = tokenizer.apply_chat_template(
                convs, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
            )
            pairs = list(zip(enc["input_ids"], enc["assistant_masks"], strict=True))
        else:
            pairs = [_masks_by_prefix(tokenizer, c) for c in convs]
        for k, (ex, (ids, mask)) in enumerate(zip(part, pairs, strict=True)):
            ids = list(ids)
            labels = [t if m else IGNORE for t, m in zip(ids, mask, strict=True)]
            eid = ex.get("provenance", {}).get("id") or f"#{start + k + 1}"
            for msg in ex["messages"]:
                token = special_token_of(tokenizer, msg.get("content") or "")
                if token is not None:
                    raise EncodingError(f"example {eid}: content holds the special token {token!r}")
            if not any(mask):
                raise EncodingError(f"example {eid}: no assistant tokens to train on")
            is_action = "action" in ex.get("metadata", {})
            out.append(Encoded(ids, labels, eid, is_action))
    return out


def shared_prefix(
    examples: Sequence[dict], tokenizer, min_share: float = 0.5, chat=None
) -> list[int]:
    """The tokens that the examples opening with the system turn that at least
    ``min_share`` of ``examples`` open with all start with ([] when none does): that
    system turn and what the template writes up to the user's text, the part of every
    such example computed once per batch. The same start as the language-model
    policy's (:func:`swarm.interface.chat_format.shared_prompt_prefix`)."""
    from swarm.interface.chat_format import ChatFormat, shared_prompt_prefix

    turns = Counter(
        (m[0]["role"], m[0]["content"])
        for ex in examples
        if (m := ex["messages"]) and m[0]["role"] == "system"
    )
    if not turns:
        return []
    (_, content), n = turns.most_common(1)[0]
    if n < min_share * len(examples):
        return []
    return shared_prompt_prefix(tokenizer, chat or ChatFormat(), content)[0]


def cut_prefix(data: Sequence[Encoded], prefix: Sequence[int]) -> list[Encoded]:
    """Examples that open with ``prefix`` (no target inside it or on the next token),
    without it and marked ``shared``; the others unchanged."""
    p, prefix = len(prefix), list(prefix)
    out = []
    for e in data:
        if (
            p
            and len(e) > p
            and e.input_ids[:p] == prefix
            and all(t == IGNORE for t in e.labels[: p + 1])
        ):
            e = replace(e, input_ids=e.input_ids[p:], labels=e.labels[p:], shared=True)
        out.append(e)
    return out


def encode_documents(texts: Sequence[str], tokenizer) -> list[Encoded]:
    """Plain documents for pretraining: ``bos + text + end_of_text``, every token a target."""
    bos = tokenizer.bos_token_id
    end = tokenizer.convert_tokens_to_ids("<|end_of_text|>")
    out = []
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        seq = [bos, *ids, end]
        out.append(Encoded(seq, [IGNORE, *seq[1:]]))
    return out


# Plans: which examples go in which row, per batch ----------------------------------------


def pack_rows(lengths: Sequence[int], order: Sequence[int], max_len: int, open_bins: int = 8):
    """First fit over a few open rows, in the given order: a list of rows (lists of
    example indices), each with total length <= ``max_len``."""
    rows: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (row index, room left) of the open rows
    for i in order:
        n = lengths[i]
        for k, (r, room) in enumerate(free):
            if n <= room:
                rows[r].append(int(i))
                free[k] = (r, room - n)
                break
        else:
            rows.append([int(i)])
            free.append((len(rows) - 1, max_len - n))
            if len(free) > open_bins:
                free.pop(0)
    return rows


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


def plan_epoch(
    lengths: Sequence[int], batch_size: int, max_len: int, seed: int, epoch: int, packing: bool
) -> list[list[list[int]]]:
    """Batches (lists of rows of example indices) for one epoch, seeded."""
    order = epoch_order(len(lengths), seed, epoch)
    rows = pack_rows(lengths, order, max_len) if packing else [[int(i)] for i in order]
    return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]


# Tensors ---------------------------------------------------------------------------------


def collate(
    batch: list[list[int]],
    data: Sequence[Encoded],
    pad_id: int,
    packing: bool,
    pad_to: int | None = None,
    prefix_len: int = 0,
):
    """Tensors for one batch, and its count of real tokens. Packed rows get position ids
    restarting per example and no attention mask; padded rows get an attention mask and
    are padded to the longest row (or to ``pad_to``: fixed shapes). With ``prefix_len``
    (a shared prefix of that many tokens comes first, as the model's cache), every row
    gets a 4-D additive mask over prefix + row instead (``shared`` examples see the
    prefix and themselves, the others only themselves) and positions continuing after
    the prefix for ``shared`` examples."""
    import torch

    if prefix_len:
        return _collate_after_prefix(batch, data, pad_id, pad_to, prefix_len)

    width = max(sum(len(data[i]) for i in row) for row in batch)
    width = max(width, pad_to or 0)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    pos = torch.zeros((len(batch), width), dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for r, row in enumerate(batch):
        at = 0
        for i in row:
            ex = data[i]
            n = len(ex)
            ids[r, at : at + n] = torch.tensor(ex.input_ids)
            labels[r, at : at + n] = torch.tensor(ex.labels)
            pos[r, at : at + n] = torch.arange(n)
            at += n
        attn[r, :at] = 1
        pos[r, at:] = torch.arange(width - at)  # the tail pad is its own segment
    out = {"input_ids": ids, "labels": labels, "position_ids": pos}
    if not packing:
        out["attention_mask"] = attn
    tokens = int(attn.sum())
    return out, tokens


def _collate_after_prefix(batch, data, pad_id, pad_to, past):
    import torch

    from swarm.policies.lm import segment_mask

    width = max(max(sum(len(data[i]) for i in row) for row in batch), pad_to or 0)
    n = len(batch)
    ids = torch.full((n, width), pad_id, dtype=torch.long)
    labels = torch.full((n, width), IGNORE, dtype=torch.long)
    pos = torch.zeros((n, width), dtype=torch.long)
    seg = torch.full((n, width), -1, dtype=torch.long)  # each example its own; pad: -1
    sees_prefix = torch.zeros((n, width), dtype=torch.bool)
    tokens = 0
    for r, row in enumerate(batch):
        at = 0
        for j, i in enumerate(row):
            ex = data[i]
            k = len(ex)
            start = past if ex.shared else 0
            ids[r, at : at + k] = torch.tensor(ex.input_ids)
            labels[r, at : at + k] = torch.tensor(ex.labels)
            pos[r, at : at + k] = torch.arange(start, start + k)
            seg[r, at : at + k] = j
            sees_prefix[r, at : at + k] = ex.shared
            at += k
        tokens += at
        pos[r, at:] = torch.arange(width - at)
    mask = segment_mask(seg, past, sees_prefix, torch.float32)
    return {"input_ids": ids, "labels": labels, "position_ids": pos, "attention_mask": mask}, tokens
