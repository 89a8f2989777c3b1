"""Group-chat transcripts: read the formats people have, find each conversation's outcome,
and turn every successful agent turn into an example.

Formats (``format:`` in a source; ``auto`` detects them):

* ``openai``: JSONL, a line is ``{"messages": [{"role", "content", "name"?}], ...}`` or a
  bare list of such messages; outcome keys (``success``, ``outcome``, ``score``,
  ``success_score``, ``task``) at the top level or under ``metadata``.
* ``sharegpt``: JSONL, ``{"conversations": [{"from", "value"}], ...}``.
* ``speaker``: plain text, ``Name: text`` or ``[Name]: text`` (``speaker_pattern`` sets
  the regex; groups ``speaker`` and ``text``); other lines continue the previous turn.
* ``autogen``: AutoGen group-chat console logs (``name (to chat_manager):`` blocks
  separated by dashes).
* ``camel``: CAMEL role-play logs (``AI User (role):`` / ``AI Assistant (role):``).
* ``chatdev``: ChatDev logs (``**[Role A<->Role B on : Phase, turn N]**`` headers).
* ``agentverse``: AgentVerse console logs (``[Name]: text`` / ``Name (role): text`` lines,
  ``Round N`` markers and evaluation score lines).

A JSONL line, or a whole text file, is one conversation (one input record). The outcome
comes from metadata when present, else from the source's success and failure markers
in the last turns, else from an evaluation score line; unknown outcomes follow the
source's ``unknown_outcome`` policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.data.config import Source

NON_AGENTS = {"system", "user", "human", "admin"}
_SCORE = re.compile(r"(?:evaluation\s+)?score\s*[:=]\s*(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?", re.I)
_DEFAULT_SPEAKER = r"^\[?(?P<speaker>[A-Za-z][\w .'-]{0,40}?)\]?:\s?(?P<text>.*)$"
_AUTOGEN = re.compile(r"^(?P<speaker>[\w.-]+) \(to (?P<to>[\w .-]+)\):\s*$")
_CAMEL = re.compile(r"^AI (?P<side>User|Assistant) \((?P<speaker>[^)]+)\):\s*$")
_CHATDEV = re.compile(
    r"\*\*\[?(?P<speaker>[^<*\[\]]+?)<->(?P<to>[^*\]]+?) on : (?P<phase>[^,*\]]+)"
)
_AGENTVERSE = re.compile(
    r"^\s*\[?(?P<speaker>[A-Z][\w .-]{0,40}?)\]?\s*(?:\([^)]*\))?:\s+(?P<text>\S.*)$"
)
_ROUND = re.compile(r"^\s*(?:\*\*)?Round \d+", re.I)


class RecordError(ValueError):
    """A record that cannot be used; the message is the reject reason."""


@dataclass
class Turn:
    speaker: str
    text: str
    role: str = "agent"  # agent | user | system


@dataclass
class Conversation:
    turns: list[Turn]
    source_file: str
    line: int | None = None
    task: str | None = None
    outcome: str | None = None  # success | failure | None (unknown)
    score: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)


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
    if fmt == "auto":
        fmt = detect_format(path, raw)
        if fmt is None:
            yield None, RecordError("unknown format (auto-detection failed)")
            return
    if fmt in ("openai", "sharegpt"):
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
    try:
        turns = TEXT_PARSERS[fmt](text, src)
    except RecordError as exc:
        yield None, exc
        return
    if not turns:
        yield None, RecordError(f"no turns found for format {fmt!r}")
        return
    yield None, Conversation(turns, str(path), meta={"format": fmt, "text_tail": text[-2000:]})


def detect_format(path: Path, raw: bytes) -> str | None:
    head = raw[:20000].decode("utf-8", errors="replace")
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    if path.suffix in (".jsonl", ".json") or first.lstrip().startswith(("{", "[")):
        try:
            obj = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if isinstance(obj, dict) and "conversations" in obj:
            return "sharegpt"
        if isinstance(obj, list) or (isinstance(obj, dict) and "messages" in obj):
            return "openai"
        if path.suffix in (".jsonl", ".json"):
            return "openai"  # a JSONL file whose first line is bad: per-line rejects
    lines = head.splitlines()
    if any(_AUTOGEN.match(ln) for ln in lines):
        return "autogen"
    if any(_CAMEL.match(ln) for ln in lines):
        return "camel"
    if any(_CHATDEV.search(ln) for ln in lines):
        return "chatdev"
    if "AgentVerse" in head or any(_ROUND.match(ln) for ln in lines):
        return "agentverse"
    pattern = re.compile(_DEFAULT_SPEAKER)
    if sum(bool(pattern.match(ln)) for ln in lines) >= 2:
        return "speaker"
    return None


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
    try:
        return _conversation_from_json(obj, fmt, str(path), n)
    except RecordError as exc:
        return exc


def _conversation_from_json(obj: Any, fmt: str, path: str, n: int) -> Conversation:
    meta: dict[str, Any] = {}
    if isinstance(obj, list):
        messages = obj
    elif isinstance(obj, dict):
        key = "conversations" if fmt == "sharegpt" else "messages"
        messages = obj.get(key)
        if messages is None:
            raise RecordError(f"wrong type: no {key!r} list")
        meta = {k: v for k, v in obj.items() if k != key}
        if isinstance(meta.get("metadata"), dict):
            meta = {**meta, **meta.pop("metadata")}
    else:
        raise RecordError(
            f"wrong type: a record must be an object or a list, not {type(obj).__name__}"
        )
    if not isinstance(messages, list):
        raise RecordError(f"wrong type: messages must be a list, not {type(messages).__name__}")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise RecordError(f"wrong type: message {i} is not an object")
        if fmt == "sharegpt":
            who, content = m.get("from"), m.get("value")
            role = "user" if who in ("human", "user") else "system" if who == "system" else "agent"
            speaker = who
        else:
            role_raw, content = m.get("role"), m.get("content")
            if role_raw not in ("system", "user", "assistant", "tool", "function"):
                raise RecordError(f"wrong type: message {i} has role {role_raw!r}")
            role = {"assistant": "agent", "tool": "user", "function": "user"}.get(
                role_raw, role_raw
            )
            speaker = m.get("name") or role_raw
        if not isinstance(content, str) or not isinstance(speaker, str):
            raise RecordError(f"wrong type: message {i} needs string speaker and content")
        turns.append(Turn(speaker, content, role))
    if not turns:
        raise RecordError("empty conversation")
    conv = Conversation(turns, path, line=n, meta=meta)
    _outcome_from_meta(conv, meta)
    return conv


def _outcome_from_meta(conv: Conversation, meta: dict[str, Any]) -> None:
    task = meta.get("task") or meta.get("goal")
    conv.task = task if isinstance(task, str) else None
    if isinstance(meta.get("success"), bool):
        conv.outcome = "success" if meta["success"] else "failure"
    elif meta.get("outcome") in ("success", "failure"):
        conv.outcome = meta["outcome"]
    for key in ("success_score", "score"):
        v = meta.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool):
            conv.score = float(v) if 0 <= v <= 1 else None


# Text formats ------------------------------------------------------------------------------


def _blocks(text: str, header: re.Pattern[str], speaker_of) -> list[Turn]:
    """Turns from a log where a header line starts each message."""
    turns: list[Turn] = []
    for line in text.splitlines():
        m = header.match(line) if header is not _CHATDEV else header.search(line)
        if m:
            turns.append(Turn(speaker_of(m), ""))
        elif turns:
            if set(line.strip()) <= {"-"} and len(line.strip()) >= 10:
                continue  # AutoGen's separators
            turns[-1].text += line + "\n"
    for t in turns:
        t.text = t.text.strip()
    return turns


def _speaker_lines(text: str, pattern: re.Pattern[str], skip=None) -> list[Turn]:
    turns: list[Turn] = []
    for line in text.splitlines():
        if skip is not None and skip.match(line):
            continue
        m = pattern.match(line)
        if m:
            turns.append(Turn(m["speaker"].strip(), m["text"]))
        elif turns and line.strip():
            turns[-1].text += "\n" + line
    return turns


def _parse_speaker(text: str, src: Source) -> list[Turn]:
    try:
        pattern = re.compile(src.speaker_pattern or _DEFAULT_SPEAKER)
    except re.error as exc:
        raise RecordError(f"bad speaker_pattern ({exc})") from None
    return _speaker_lines(text, pattern)


TEXT_PARSERS = {
    "speaker": _parse_speaker,
    "autogen": lambda text, src: _blocks(text, _AUTOGEN, lambda m: m["speaker"]),
    "camel": lambda text, src: _blocks(text, _CAMEL, lambda m: m["speaker"]),
    "chatdev": lambda text, src: _blocks(text, _CHATDEV, lambda m: m["speaker"].strip()),
    "agentverse": lambda text, src: _speaker_lines(text, _AGENTVERSE, skip=_ROUND),
}


# Outcomes and examples ---------------------------------------------------------------------


def resolve_outcome(conv: Conversation, src: Source) -> tuple[float | None, str]:
    """``(success_score, how)``: from metadata, markers, a score line, or the unknown
    policy (None: reject)."""
    if conv.score is not None:
        return conv.score, "metadata score"
    if conv.outcome is not None:
        return (1.0 if conv.outcome == "success" else 0.0), "metadata outcome"
    tail = "\n".join(f"{t.speaker}: {t.text}" for t in conv.turns[-2:])
    if any(m in tail for m in src.failure_markers):
        return 0.0, "failure marker"
    if any(m in tail for m in src.success_markers):
        return 1.0, "success marker"
    scores = _SCORE.findall(tail)
    if scores:
        value, scale = scores[-1]
        top = float(scale) if scale else (10.0 if float(value) > 1 else 1.0)
        return min(1.0, float(value) / top), "score line"
    if src.unknown_outcome == "keep":
        return src.unknown_score, "unknown (kept by policy)"
    return None, "unknown outcome (rejected by policy)"


_HANDOFF = re.compile(
    r"\bhand(?:ing)?[ -]?(?:off|over)\b|\bpass(?:ing)? (?:it |this )?(?:on|to)\b|over to you", re.I
)
_SYNTHESIS = re.compile(r"\bsynthes|\bcombin|\bmerg|\bconsensus|\bvote|\bproposal", re.I)


def classify(text: str) -> str:
    """The spec's task_type of a turn, from what it says."""
    if _HANDOFF.search(text):
        return "handoff"
    if _SYNTHESIS.search(text):
        return "synthesis"
    return "coordination"


def context(conv: Conversation, upto: int, budget: int) -> str:
    """The user message for turn ``upto``: the task and the conversation so far, oldest
    turns dropped first to fit ``budget`` characters."""
    first = conv.turns[0].text.splitlines() if conv.turns else []
    task = conv.task or (first[0][:300] if first else "")
    lines = [f"{t.speaker}: {t.text}" for t in conv.turns[:upto]]
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
    return [
        i
        for i, t in enumerate(conv.turns)
        if t.role == "agent" and t.speaker.lower() not in NON_AGENTS and i > 0
    ]
