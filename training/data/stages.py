"""The curation stages after extraction: filter, dedup, split, augment.

Every stage returns what it keeps and a list of :class:`Reject` for what it drops, so the
pipeline can account for every example.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

import numpy as np

from training.data.config import Augment, Dedup, Filters
from training.data.schema import Reject, TrainingExample, make_example

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_CONFLICT = re.compile(r"\bconflict(?:ed|ing)?\b|\balready (?:claimed|taken|held)\b", re.I)


def _reject(stage: str, reason: str, ex: TrainingExample, record: bool = True) -> Reject:
    return Reject(
        stage=stage,
        reason=reason,
        source=ex.metadata.source,
        source_file=ex.provenance.source_file,
        line=ex.provenance.line,
        id=ex.id,
        record=ex.model_dump(mode="json", exclude_none=True) if record else None,
    )


# Filter -------------------------------------------------------------------------------------


def filter_reason(ex: TrainingExample, f: Filters) -> str | None:
    """Why ``ex`` fails the filters, or None. Checked in this order: success score,
    conflicts, empty assistant turn, length bounds, repetition."""
    score = ex.metadata.success_score
    if score < f.min_success_score:
        what = "failure" if score == 0 else "low success"
        return f"{what}: success_score {score:g} < {f.min_success_score:g}"
    answer = ex.text("assistant")
    if getattr(ex.metadata, "conflict", False) or _CONFLICT.search(answer):
        return "conflict: the turn reports or causes a conflict"
    if not answer.strip():
        return "empty assistant turn"
    if len(answer) < f.min_assistant_chars:
        return f"assistant turn too short ({len(answer)} < {f.min_assistant_chars} chars)"
    if len(answer) > f.max_assistant_chars:
        return f"assistant turn too long ({len(answer)} > {f.max_assistant_chars} chars)"
    if len(ex.text("user")) > f.max_user_chars:
        return f"context too long ({len(ex.text('user'))} > {f.max_user_chars} chars)"
    words = _WORD.findall(answer.lower())
    if len(words) >= 12:
        grams = [tuple(words[i : i + 4]) for i in range(len(words) - 3)]
        repeated = 1.0 - len(set(grams)) / len(grams)
        if repeated > f.max_repetition:
            return f"repetition: {repeated:.0%} of the 4-word sequences repeat"
    return None


def reason_key(reason: str) -> str:
    """The kind of a reason, for counting (``near duplicate of X (…)`` → ``near duplicate``)."""
    return re.split(r":| of | \(", reason, maxsplit=1)[0].strip()


def apply_filters(
    examples: Iterable[TrainingExample], f: Filters
) -> tuple[list[TrainingExample], list[Reject]]:
    kept, rejects = [], []
    for ex in examples:
        why = filter_reason(ex, f)
        if why is None:
            kept.append(ex)
        else:
            rejects.append(_reject("filter", why, ex))
    return kept, rejects


# Dedup --------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    return _WS.sub(" ", text.lower()).strip()


def exact_key(ex: TrainingExample) -> str:
    joined = "\x1f".join(normalise(m.content) for m in ex.messages)
    return hashlib.sha1(joined.encode()).hexdigest()


class Deduplicator:
    """Exact (hash of normalised messages) and near-duplicate (MinHash LSH over word
    shingles of the user and assistant messages) detection; remembers what it kept."""

    def __init__(self, cfg: Dedup) -> None:
        from datasketch import MinHashLSH

        self.cfg = cfg
        self.exact: dict[str, str] = {}
        self.lsh = MinHashLSH(threshold=cfg.near_threshold, num_perm=cfg.num_perm)
        self._perm_seed = 1

    def _minhash(self, ex: TrainingExample):
        from datasketch import MinHash

        words = _WORD.findall(normalise(ex.text("user") + " \x1f " + ex.text("assistant")))
        k = self.cfg.shingle
        shingles = {" ".join(words[i : i + k]).encode() for i in range(max(1, len(words) - k + 1))}
        mh = MinHash(num_perm=self.cfg.num_perm, seed=self._perm_seed)
        mh.update_batch(sorted(shingles))
        return mh

    def check(self, ex: TrainingExample) -> str | None:
        """None (and remember ``ex``) if new; else the reason it is a duplicate."""
        key = exact_key(ex)
        if key in self.exact:
            return f"exact duplicate of {self.exact[key]}"
        mh = self._minhash(ex)
        near = self.lsh.query(mh)
        if near:
            return f"near duplicate of {min(near)} (Jaccard >= {self.cfg.near_threshold:g})"
        self.exact[key] = ex.id
        if ex.id not in self.lsh:
            self.lsh.insert(ex.id, mh)
        return None

    def run(
        self, examples: Iterable[TrainingExample], stage: str = "dedup"
    ) -> tuple[list[TrainingExample], list[Reject]]:
        kept, rejects = [], []
        for ex in examples:
            why = self.check(ex)
            if why is None:
                kept.append(ex)
            else:
                rejects.append(_reject(stage, why, ex, record=False))
        return kept, rejects


# Split --------------------------------------------------------------------------------------


def is_eval(example_id: str, fraction: float, seed: int) -> bool:
    """Deterministic split by id (so a parent and its variants always go together)."""
    h = hashlib.sha1(f"{seed}:{example_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fraction


# Augment ------------------------------------------------------------------------------------

_AGENT = re.compile(r"\b(agent[ _])(\d+)\b", re.I)
_STEPS_LEFT = re.compile(r"\b(\d+) steps left\b")
_DIFFICULTY = re.compile(r"\bdifficulty (\d\.\d+)\b")
PARAPHRASES: tuple[tuple[str, str], ...] = (
    ("Tasks in view:", "Visible tasks:"),
    ("Agents in view:", "Agents nearby:"),
    ("Holding:", "Currently holding:"),
    ("best skills:", "strongest skills:"),
    ("Conversation so far:", "Chat history:"),
    ("Write your next message.", "Reply with your next message."),
    (
        "Combine the proposals component by component.",
        "Merge the proposals one component at a time.",
    ),
)


def rename_agents(user: str, answer: str, rng: np.random.Generator) -> tuple[str, str] | None:
    ids = sorted({int(m[2]) for m in _AGENT.finditer(user + "\n" + answer)})
    if not ids:
        return None
    pool = np.setdiff1d(np.arange(1000), ids)
    new = dict(zip(ids, rng.choice(pool, len(ids), replace=False).tolist(), strict=True))

    def sub(text: str) -> str:
        return _AGENT.sub(lambda m: f"{m[1]}{new[int(m[2])]}", text)

    return sub(user), sub(answer)


def reorder_items(user: str, answer: str, rng: np.random.Generator) -> tuple[str, str] | None:
    lines = user.split("\n")
    changed = False
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].startswith("- "):
            j += 1
        if j - i >= 2:
            block = lines[i:j]
            order = rng.permutation(len(block))
            if list(order) != list(range(len(block))):
                lines[i:j] = [block[k] for k in order]
                changed = True
        i = max(j, i + 1)
    return ("\n".join(lines), answer) if changed else None


def perturb_numbers(user: str, answer: str, rng: np.random.Generator) -> tuple[str, str] | None:
    """Steps left (the expert ignores deadlines) and, in chats, a task's difficulty,
    changed the same way everywhere they appear."""
    out_user, out_answer = user, answer
    steps = sorted({int(m[1]) for m in _STEPS_LEFT.finditer(user)})
    if steps:
        shift = int(rng.choice([-3, -2, -1, 1, 2, 3]))
        mapping = {s: max(1, s + shift) for s in steps}
        out_user = _STEPS_LEFT.sub(lambda m: f"{mapping[int(m[1])]} steps left", out_user)
    elif "Conversation so far:" in user and _DIFFICULTY.search(user):
        delta = float(rng.choice([-0.05, -0.03, 0.03, 0.05]))

        def shift_d(m: re.Match) -> str:
            return f"difficulty {min(1.0, max(0.05, float(m[1]) + delta)):.2f}"

        out_user = _DIFFICULTY.sub(shift_d, out_user)
        out_answer = _DIFFICULTY.sub(shift_d, out_answer)
    if (out_user, out_answer) == (user, answer):
        return None
    return out_user, out_answer


def paraphrase(user: str, answer: str, rng: np.random.Generator) -> tuple[str, str] | None:
    present = [p for p in PARAPHRASES if p[0] in user]
    if not present:
        return None
    chosen = [p for p in present if rng.random() < 0.6] or [
        present[int(rng.integers(len(present)))]
    ]
    for old, new in chosen:
        user = user.replace(old, new)
    return user, answer


STRATEGIES = {
    "rename_agents": rename_agents,
    "reorder_items": reorder_items,
    "perturb_numbers": perturb_numbers,
    "paraphrase": paraphrase,
}


def augment(
    parents: list[TrainingExample],
    cfg: Augment,
    rng: np.random.Generator,
    advance: Callable[[], None] | None = None,
) -> list[TrainingExample]:
    """``cfg.count`` variants of randomly drawn parents (each keeps its parent's answer
    right); a parent that no strategy applies to is skipped."""
    out: list[TrainingExample] = []
    if not parents or cfg.count == 0:
        return out
    attempts = 0
    while len(out) < cfg.count and attempts < cfg.count * 5:
        attempts += 1
        parent = parents[int(rng.integers(len(parents)))]
        name = cfg.strategies[int(rng.integers(len(cfg.strategies)))]
        changed = STRATEGIES[name](parent.text("user"), parent.text("assistant"), rng)
        if changed is None:
            continue
        user, answer = changed
        meta = parent.metadata.model_dump()
        meta.pop("source")
        meta.pop("task_type")
        meta.pop("success_score")
        out.append(
            make_example(
                parent.text("system"),
                user,
                answer,
                task_type=parent.task_type,
                success_score=parent.metadata.success_score,
                source="synthetic",
                source_file=parent.provenance.source_file,
                line=parent.provenance.line,
                parent_id=parent.id,
                strategy=name,
                parent_source=parent.metadata.source,
                variant=len(out),
                **meta,
            )
        )
        if advance is not None:
            advance()
    return out
