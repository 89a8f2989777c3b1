"""Group-chat transcripts: read the logs people have (:mod:`training.data.readers`),
decide each conversation's outcome with the evidence for it, and turn every agent turn
of a successful conversation into an example.

One JSONL line, one record of a ``.json`` file, or one whole text file is a conversation
(one input record).

Outcomes (:func:`judge_outcome`; the first rule that applies decides, and its evidence
becomes the examples' ``outcome_from``):

1. **Metadata**: ``success`` (bool), ``outcome`` (``success``/``failure``) or a score
   (``success_score``/``score`` in [0, 1]) at the top level or under ``metadata``.
2. **Failure in the log** after the last message: a non-dialogue line
   (:attr:`training.data.readers.Parsed.log`) with an HTTP status of 400 or more, a rate
   limit, a traceback or exception, or one of the source's ``failure_markers``. A log
   that has no message at all and such a line anywhere failed too.
3. **Success markers** (``success_markers``, e.g. ``CAMEL_TASK_DONE``, ``TERMINATE``) in
   the last two turns.
4. **A role that never answered**: a role-play format (two or more roles) where only one
   speaker ever spoke.
5. **An empty or refusing last reply** (``I'm sorry, but I can't ...``).
6. **An evaluator's verdict**: a score line (``Evaluation score: 8/10``) or an accept /
   reject line (``Evaluator: accept``) in the last turns or the log.
7. Otherwise the outcome is unknown: dropped (``unknown_outcome: drop``, the default)
   with the reason in ``rejects.jsonl``, or kept at ``unknown_score``.

A failed conversation yields no examples (every turn is rejected with the failure's
evidence).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.data.config import Source
from training.data.readers import (
    EXCEPTION_LINE,
    HTTP_LINE,
    LOG_LEVEL,
    LOG_PREFIX,
    TEXT_READERS,
    TRACEBACK,
    Parsed,
    ReaderError,
    Turn,
    detect_format,
    read_json_messages,
    read_speaker,
    strip_ansi,
)

NON_AGENTS = {"system", "user", "human", "admin", "tool", "function"}
_SCORE = re.compile(
    r"^\s*(?:evaluation\s+)?score\s*[:=]\s*(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?\s*$", re.I | re.M
)
_VERDICT = re.compile(
    r"^\s*(?:(?:Good|Bad) score! |(?:evaluation|evaluator|verdict)(?: result)?\s*[:=]\s*)"
    r"(accept\w*|reject\w*|pass(?:ed)?|fail(?:ed)?)\b",
    re.I | re.M,
)
_STATUS = re.compile(r"HTTP/\d(?:\.\d)? ([45]\d\d)[^\"\n]*|Error code: ([45]\d\d)")
_RATE = re.compile(r"rate.?limit|RateLimitError|Too Many Requests|insufficient_quota", re.I)
_REFUSAL = re.compile(
    r"^(?:I'm sorry|I am sorry|Sorry)[, ]+(?:but )?I (?:can(?:no|')t|am unable|won't)"
    r"|^As an AI(?: language model)?, I (?:can(?:no|')t|am unable)"
    r"|^I (?:can(?:no|')t|am unable to) (?:help|assist|comply|do that)",
    re.I,
)

# Re-exported: the readers' vocabulary is part of this module's API.
__all__ = [
    "Conversation",
    "Outcome",
    "RecordError",
    "Turn",
    "agent_turns",
    "context",
    "detect_format",
    "iter_records",
    "judge_outcome",
    "label_turns",
]

RecordError = ReaderError


@dataclass
class Conversation:
    turns: list[Turn]
    source_file: str
    line: int | None = None
    task: str | None = None
    outcome: str | None = None  # from metadata: success | failure | None
    score: float | None = None  # from metadata
    meta: dict[str, Any] = field(default_factory=dict)
    log: list[tuple[int, str]] = field(default_factory=list)  # non-dialogue lines
    system: str | None = None  # the conversation's own system prompt, if any
    roles: int = 1  # speakers a finished conversation of its format has at least


# Reading files ---------------------------------------------------------------------------


def iter_records(
    path: Path, fmt: str, src: Source, max_bytes: int
) -> Iterator[tuple[int | None, Conversation | RecordError]]:
    """``(line, conversation or error)`` for every record of a file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        yield None, RecordError(f"cannot read file ({exc.strerror})")
        return
    if not raw.strip():
        yield None, RecordError("empty file")
        return
    if raw.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark (Windows editors)
        raw = raw[3:]
    if path.suffix.lower() in CODE_SUFFIXES:
        yield None, RecordError(f"not a transcript (a {path.suffix} file)")
        return
    binary = b"\x00" in raw[:8192]
    if fmt == "auto":
        fmt = detect_format(path, raw)
        if fmt is None:
            why = "binary file (NUL bytes)" if binary else "unknown format (auto-detection failed)"
            yield None, RecordError(why)
            return
    if binary and fmt not in ("openai", "sharegpt"):  # JSONL: each line is judged alone
        yield None, RecordError("binary file (NUL bytes)")
        return
    if fmt in ("openai", "sharegpt"):
        whole = _whole_json(path, raw, max_bytes)
        if isinstance(whole, RecordError):
            yield None, whole
            return
        if whole is not None:
            for n, obj in whole:
                yield n, _json_record(obj, n, fmt, path)
            return
        for n, line in enumerate(raw.split(b"\n"), start=1):
            if not line.strip():
                continue
            yield n, _jsonl_record(line, n, fmt, path, max_bytes)
        return
    if len(raw) > max_bytes:
        yield None, RecordError(f"file too large ({len(raw)} bytes > {max_bytes})")
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield None, RecordError(f"invalid UTF-8 at byte {exc.start}")
        return
    text = strip_ansi(text)
    try:
        parsed = (
            read_speaker(text, src.speaker_pattern) if fmt == "speaker" else TEXT_READERS[fmt](text)
        )
    except RecordError as exc:
        yield None, exc
        return
    except Exception as exc:  # a reader's bug (or a pattern it cannot use): this file only
        yield None, RecordError(f"unreadable as {fmt} ({type(exc).__name__}: {exc})"[:200])
        return
    conv = _conversation(parsed, str(path), None, {"format": fmt})
    if not parsed.turns:
        failure = _log_failure(conv, anywhere=True)
        why = f"; {failure[1]}" if failure else ""
        yield None, RecordError(f"no dialogue found for format {fmt!r}{why}")
        return
    yield None, conv


def _whole_json(
    path: Path, raw: bytes, max_bytes: int
) -> list[tuple[int, Any]] | RecordError | None:
    """A ``.json`` file that is one JSON document: its records (one conversation, or a
    list of conversations), numbered from 1; None when it is JSONL (its first line is a
    JSON value of its own); an error when it is neither (too large, truncated)."""
    if path.suffix != ".json":
        return None
    first = raw.split(b"\n", 1)[0]
    try:
        json.loads(first.decode("utf-8"))
        jsonl = b"\n" in raw.strip()
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        jsonl = False
    if len(raw) > max_bytes:
        return None if jsonl else RecordError(f"file too large ({len(raw)} bytes > {max_bytes})")
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return RecordError(f"invalid UTF-8 at byte {exc.start}")
    except (json.JSONDecodeError, RecursionError) as exc:
        if jsonl:
            return None
        where = (
            f" ({exc.msg} at line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        return RecordError(f"malformed JSON{where}: truncated or not JSON")
    if isinstance(obj, list) and obj and all(isinstance(x, list | dict) for x in obj):
        if all(isinstance(x, dict) and ("role" in x or "role_name" in x) for x in obj):
            return [(1, obj)]  # one message list (AutoGen's groupchat.messages)
        return list(enumerate(obj, start=1))
    return [(1, obj)]


#: Files a log directory holds beside its logs (ChatDev's WareHouse keeps the code it
#: wrote): never transcripts, rejected without being read as one.
CODE_SUFFIXES = {
    ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".c", ".h", ".cpp", ".hpp", ".go", ".rs",
    ".sh", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".css", ".html", ".png", ".jpg",
    ".jpeg", ".gif", ".svg", ".pdf", ".zip", ".gz", ".pyc", ".lock",
}  # fmt: skip


def _jsonl_record(
    line: bytes, n: int, fmt: str, path: Path, max_bytes: int
) -> Conversation | RecordError:
    if len(line) > max_bytes:
        return RecordError(f"line too long ({len(line)} bytes > {max_bytes})")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RecordError(f"invalid UTF-8 at byte {exc.start}")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return RecordError(f"malformed JSON ({exc.msg} at column {exc.colno})")
    except RecursionError:
        return RecordError("malformed JSON (nested too deeply)")
    return _json_record(obj, n, fmt, path)


def _json_record(obj: Any, n: int, fmt: str, path: Path) -> Conversation | RecordError:
    try:
        parsed, meta = read_json_messages(obj, fmt)
    except RecordError as exc:
        return exc
    conv = _conversation(parsed, str(path), n, {**meta, "format": fmt})
    _outcome_from_meta(conv, meta)
    return conv


def _conversation(parsed: Parsed, path: str, line: int | None, meta: dict) -> Conversation:
    return Conversation(
        parsed.turns,
        path,
        line=line,
        task=parsed.task,
        meta=meta,
        log=parsed.log,
        system=parsed.system,
        roles=parsed.roles,
    )


def _outcome_from_meta(conv: Conversation, meta: dict[str, Any]) -> None:
    task = meta.get("task") or meta.get("goal")
    if isinstance(task, str):
        conv.task = task
    if isinstance(meta.get("success"), bool):
        conv.outcome = "success" if meta["success"] else "failure"
    elif meta.get("outcome") in ("success", "failure"):
        conv.outcome = meta["outcome"]
    for key in ("success_score", "score"):
        v = meta.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            conv.score = float(v) if 0 <= v <= 1 else None


# Outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A conversation's outcome: ``label`` (success, failure or unknown), the
    ``success_score`` its examples get (None: it yields none), and the ``evidence``
    (the examples' ``outcome_from``)."""

    label: str
    score: float | None
    evidence: str


def _log_failure(conv: Conversation, src: Source | None = None, anywhere: bool = False):
    """The first failing log line after the last message (anywhere: in the whole log).
    Only machine lines count (a library log line, an HTTP request line, a traceback or
    the exception that ends one), never free text a model wrote that landed in the log
    (a phase's conclusion, an evaluator's advice): an HTTP status of 400 or more, a rate
    limit, a traceback or exception, a library line at level ERROR or CRITICAL, or one
    of the source's ``failure_markers``."""
    after = 0 if anywhere or not conv.turns else max(t.line or 0 for t in conv.turns)
    markers = src.failure_markers if src is not None else ()
    for n, text in conv.log:
        if n <= after:
            continue
        logged = bool(LOG_PREFIX.match(text))
        http = bool(HTTP_LINE.search(text))
        crash = bool(TRACEBACK.search(text) or EXCEPTION_LINE.match(text))
        if not (logged or http or crash):
            continue
        status = _STATUS.search(text)
        if status:
            return n, f"failure: HTTP {status[1] or status[2]} ({_clip(text)}, line {n})"
        if _RATE.search(text):
            return n, f"failure: rate limited ({_clip(text)}, line {n})"
        if crash:
            return n, f"failure: {_clip(text)} (line {n})"
        level = LOG_LEVEL.search(text[:60]) if logged else None
        if level and level[1] in ("ERROR", "CRITICAL"):
            return n, f"failure: {_clip(text)} (line {n})"
        hit = next((m for m in markers if m in text), None)
        if hit:
            return n, f"failure: marker {hit!r} (line {n})"
    return None


def _clip(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def judge_outcome(conv: Conversation, src: Source) -> Outcome:
    """The conversation's outcome and the evidence for it (the rules in the module
    docstring, in order)."""
    if conv.outcome is not None:  # an explicit outcome wins over a score
        ok = conv.outcome == "success"
        score = conv.score if ok and conv.score is not None else (1.0 if ok else None)
        return Outcome(conv.outcome, score, f"metadata: success={str(ok).lower()}")
    if conv.score is not None:
        label = "success" if conv.score >= 0.5 else "failure"
        score = conv.score if label == "success" else None
        return Outcome(label, score, f"metadata: score {conv.score:g}")
    failure = _log_failure(conv, src)
    if failure is not None:
        return Outcome("failure", None, failure[1])
    final = next((t for t in reversed(conv.turns) if t.role == "agent"), None)
    if final is not None and not final.text.strip():
        return Outcome("failure", None, f"failure: an empty last reply ({final.speaker})")
    if final is not None and _REFUSAL.search(final.text.strip()):
        return Outcome("failure", None, f"failure: a refusal ({_clip(final.text, 60)})")
    after = max((t.line or 0 for t in conv.turns), default=0)
    last = [t for t in conv.turns if t.role == "agent"][-2:]
    for t in reversed(last):  # markers count in agents' turns, not in the task or a user's
        hit = next((m for m in src.success_markers if m in t.text), None)
        if hit:
            return Outcome("success", 1.0, f"success: marker {hit!r} ({t.speaker})")
        hit = next((m for m in src.failure_markers if m in t.text), None)
        if hit:
            return Outcome("failure", None, f"failure: marker {hit!r} ({t.speaker})")
    for n, text in conv.log:
        hit = next((m for m in src.success_markers if m in text), None) if n > after else None
        if hit:
            return Outcome("success", 1.0, f"success: marker {hit!r} (line {n})")
    speakers = {t.speaker for t in conv.turns if t.role == "agent"}
    if conv.roles >= 2 and len(speakers) < 2:
        who = next(iter(speakers), "nobody")
        return Outcome("failure", None, f"failure: only {who} spoke; the other role never answered")
    tail = "\n".join([*(t.text for t in last), *(text for n, text in conv.log if n > after)])
    verdict = _VERDICT.search(tail)
    if verdict:
        ok = verdict[1].lower().startswith(("accept", "pass"))
        return Outcome(
            "success" if ok else "failure",
            1.0 if ok else None,
            f"{'success' if ok else 'failure'}: evaluator {_clip(verdict[0].strip())}",
        )
    scores = [(v, k) for v, k in _SCORE.findall(tail) if k != "0"]
    if scores:
        value, scale = scores[-1]
        top = float(scale) if scale else (10.0 if float(value) > 1 else 1.0)
        score = min(1.0, float(value) / top)
        label = "success" if score >= 0.5 else "failure"
        shown = value + (f"/{scale}" if scale else "")
        return Outcome(
            label, score if label == "success" else None, f"{label}: evaluator score {shown}"
        )
    if src.unknown_outcome == "keep":
        return Outcome("unknown", src.unknown_score, "unknown (kept by policy)")
    return Outcome(
        "unknown", None, "unknown outcome (no success or failure evidence; dropped by policy)"
    )


# Examples ----------------------------------------------------------------------------------


_HANDOFF = re.compile(
    r"\bhand(?:ing|ed)?[ -]?(?:it |this |the (?:work|task) )?(?:off|over)\b"
    r"|\bpass(?:ing|ed)? (?:it|this|the (?:work|task|baton)) (?:on|over|to)\b"
    r"|\bover to you\b|\byour turn\b",
    re.I,
)
_DECISION = re.compile(
    r"\bconsensus\b|\bwe (?:all )?agree\b|\bagreed\b|\bfinal (?:decision|choice|answer)\b"
    r"|\blet'?s go with\b|\bvot(?:e|ed|ing)\b|\bwe (?:will|'ll) (?:use|go with|choose)\b"
    r"|\bI (?:choose|pick|decide)\b|<INFO>|\bsynthesi[sz]e\b"
    r"|\bcombin(?:e|ing) (?:the|both|these)\b",
    re.I,
)
_MANAGERS = {"chat_manager", "manager", "group_chat_manager"}


def label_turns(conv: Conversation) -> list[str]:
    """The spec's task type of each turn, by these rules (the first that applies):

    * ``synthesis``: a decision among proposals: the turn states a decision (a
      consensus, an agreement, a vote, a final choice, ChatDev's ``<INFO>`` conclusion,
      "let's go with ...") and at least one other agent has spoken since the
      conversation began or since the last decision (so two views are in it).
    * ``handoff``: a passing of work between roles: a new speaker addresses someone
      other than the speaker it answers (the log names an addressee that is not a chat
      manager), or the turn says it passes the work on ("over to you", "handing it
      off", "passing the task to").
    * ``coordination``: every other turn.
    """
    out = []
    since: set[str] = set()
    prev: Turn | None = None
    for t in conv.turns:
        label = "coordination"
        addressed_away = (
            t.to is not None
            and t.to not in _MANAGERS
            and prev is not None
            and t.to != prev.speaker
            and t.speaker != prev.speaker
        )
        if (
            _DECISION.search(t.text)
            and len(since - {t.speaker}) >= 1
            and len(since | {t.speaker}) >= 2
        ):
            label = "synthesis"
            since = set()
        elif addressed_away or _HANDOFF.search(t.text):
            label = "handoff"
        if t.role == "agent":
            since.add(t.speaker)
        out.append(label)
        prev = t
    return out


def context(conv: Conversation, upto: int, budget: int) -> str:
    """The user message for turn ``upto``: the task and the conversation so far (the
    system prompt aside), oldest turns dropped first to fit ``budget`` characters."""
    dialogue = [t for t in conv.turns[:upto] if t.role != "system"]
    opening = next((t for t in conv.turns if t.role != "system"), None)
    first = opening.text.splitlines() if opening is not None else []
    task = conv.task or (first[0][:300] if first else "")
    lines = [f"{t.speaker}: {t.text}" for t in dialogue]
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        if used + len(line) > budget and kept:
            break
        kept.append(line[-budget:])
        used += len(line) + 1
    kept.reverse()
    dropped = len(lines) - len(kept)
    history = ("(" + str(dropped) + " earlier messages omitted)\n" if dropped else "") + "\n".join(
        kept
    )
    me = conv.turns[upto].speaker
    return (
        f"Task: {task}\n\nConversation so far:\n{history or '(none)'}\n\n"
        f"You are {me}. Write your next message."
    )


def agent_turns(conv: Conversation) -> list[int]:
    """The turns that become examples: agents' messages after the opening one (not the
    system prompt, users, tools, or the task's first message)."""
    opening = next((i for i, t in enumerate(conv.turns) if t.role != "system"), 0)
    return [
        i
        for i, t in enumerate(conv.turns)
        if t.role == "agent" and t.speaker.lower() not in NON_AGENTS and i > opening
    ]
