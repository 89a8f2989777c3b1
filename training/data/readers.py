"""Readers of the logs multi-agent frameworks write: each turns one file (or one JSONL
line) into dialogue turns, and keeps aside the lines that are not dialogue.

Only dialogue becomes turns. Configuration tables, banners, HTTP and library log lines,
tracebacks and phase markers are never speakers or messages; they are kept as
:attr:`Parsed.log` (line number and text), where the outcome rules
(:mod:`training.data.transcripts`) look for failures. Each reader is one function of the
text; :func:`detect_format` picks one (the ``auto`` format), from the most specific
evidence to the least.

Formats (``format:`` in a transcripts source; one example line each):

* ``openai``: JSONL, ``{"messages": [{"role": "assistant", "name": "planner", "content":
  "..."}], "metadata": {...}}`` or a bare list of messages (AutoGen/AG2's
  ``groupchat.messages`` and ``chat_history`` are such lists; a ``.json`` file may hold
  one such list or a list of them). CAMEL's messages as JSON (``{"role_name": "Stock
  Trader", "role_type": "RoleType.USER", "content": "..."}``) read the same way, speakers
  named as in its Markdown (``AI User (Stock Trader)``).
* ``sharegpt``: JSONL, ``{"conversations": [{"from": "gpt", "value": "..."}]}``.
* ``speaker``: plain text, ``Alice: I'll take the parser.`` (``speaker_pattern`` sets
  the regex).
* ``autogen``: AutoGen/AG2 console output, ``planner (to chat_manager):`` then the
  message, blocks separated by dashes.
* ``camel``: CAMEL role-playing logs, ``AI User (Stock Trader):`` or the Markdown CAMEL
  writes, ``<span style='color: blue;'>AI User: Source Code Parser</span>`` (HTML
  spans and entities removed).
* ``chatdev``: ChatDev WareHouse logs, ``[2023-25-08 07:23:39 INFO] Chief Executive
  Officer: **[Start Chat]**`` / ``**Chief Product Officer<->Chief Executive Officer on :
  DemandAnalysis, turn 0**``; the ``**ChatDevConfig**`` tables, ``[Preprocessing]``
  banners and ``HTTP Request:`` lines are log.
* ``agentverse``: AgentVerse console logs, ``[Solver]: ...`` / ``Critic (reviewer):
  ...`` lines, ``Round N`` markers, evaluation score lines.
* ``metagpt``: MetaGPT's loguru output, ``2024-01-01 12:00:00.000 | INFO |
  metagpt.roles.role:_act:357 - Alice(Product Manager): to do WritePRD`` (the role's
  message follows until the next log line).
* ``crewai``: CrewAI verbose output, ``# Agent: Senior Researcher`` followed by ``##
  Task:`` / ``## Final Answer:`` sections.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Turn:
    speaker: str
    text: str
    role: str = "agent"  # agent | user | system | tool
    line: int | None = None  # where it starts in a text log (1-based)
    to: str | None = None  # whom it is addressed to, where the log says
    system: str | None = None  # the speaker's own system prompt, where the log shows it


@dataclass
class Parsed:
    """What a reader found: dialogue ``turns``, the non-dialogue ``log`` lines (line
    number, text), the conversation's own ``system`` prompt if it has one, the task if
    the log states it, and ``roles``: how many distinct speakers a finished conversation
    of this format has at least (2 for role-play frameworks: a role that never answered
    is a failure)."""

    turns: list[Turn]
    log: list[tuple[int, str]] = field(default_factory=list)
    system: str | None = None
    task: str | None = None
    roles: int = 1


# Lines that are never dialogue, in any text format ---------------------------------------

#: An HTTP client's request log line (httpx, openai, requests).
HTTP_LINE = re.compile(r"HTTP Request: [A-Z]+ \S+ \"HTTP/\d(?:\.\d)? \d{3}[^\"]*\"")
#: A library log prefix: ``[2023-25-08 07:23:39 INFO]``, ``2024-01-01 12:00:00.123 |
#: INFO |``, ``INFO:httpx:``, ``WARNING:root:``.
LOG_PREFIX = re.compile(
    r"^\s*(?:\[\d{4}-\d{2}-\d{2}[ T][\d:.,]+ (?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\]"
    r"|\d{4}-\d{2}-\d{2}[ T][\d:.,]+\s*\|\s*(?:DEBUG|INFO|WARNING|ERROR|CRITICAL|SUCCESS)\s*\|"
    r"|\d{4}-\d{2}-\d{2}[ T][\d:.,]+ - [\w.]+ - (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) - "
    r"|(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):(?:[\w.]+:| ))"
)
#: The level of a library log line, where it has one.
LOG_LEVEL = re.compile(r"\b(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
#: The first line of a Python traceback (anywhere in a line: ``(Pdb) Traceback ...``).
TRACEBACK = re.compile(r"Traceback \(most recent call last\):")
#: The last line of a traceback: ``AttributeError: 'tuple' object has no attribute 'x'``.
EXCEPTION_LINE = re.compile(r"^\s*[\w.]*(?:Error|Exception|Exit|Interrupt)(?::|$)")


def _collect_tracebacks(lines: list[str], start: int = 1) -> tuple[set[int], list[tuple[int, str]]]:
    """Line indices inside tracebacks (from the header to the exception line), and the
    exception lines themselves as log entries."""
    inside: set[int] = set()
    log = []
    i = 0
    while i < len(lines):
        if TRACEBACK.search(lines[i]):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            end = min(j, len(lines) - 1)
            inside.update(range(i, end + 1))
            log.append((i + start, lines[i].strip()))
            if end > i:
                log.append((end + start, lines[end].strip()))
            i = end + 1
        else:
            i += 1
    return inside, log


# JSON formats -----------------------------------------------------------------------------


class ReaderError(ValueError):
    """A record that cannot be read; the message is the reject reason."""


def read_json_messages(obj: Any, fmt: str) -> tuple[Parsed, dict[str, Any]]:
    """Turns and metadata of one JSON record (``openai`` or ``sharegpt``)."""
    meta: dict[str, Any] = {}
    if isinstance(obj, list):
        messages = obj
    elif isinstance(obj, dict):
        key = "conversations" if fmt == "sharegpt" else "messages"
        messages = obj.get(key)
        if messages is None:
            raise ReaderError(f"wrong type: no {key!r} list")
        meta = {k: v for k, v in obj.items() if k != key}
        if isinstance(meta.get("metadata"), dict):
            meta = {**meta, **meta.pop("metadata")}
    else:
        raise ReaderError(
            f"wrong type: a record must be an object or a list, not {type(obj).__name__}"
        )
    if not isinstance(messages, list):
        raise ReaderError(f"wrong type: messages must be a list, not {type(messages).__name__}")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise ReaderError(f"wrong type: message {i} is not an object")
        if fmt == "sharegpt":
            who, content = m.get("from"), m.get("value")
            role = "user" if who in ("human", "user") else "system" if who == "system" else "agent"
            speaker = who
        elif "role_name" in m and "role" not in m:  # CAMEL's BaseMessage as JSON
            content = m.get("content")
            kind = str(m.get("role_type", "")).rsplit(".", 1)[-1].upper()
            role = "system" if kind in ("SYSTEM", "DEFAULT") and i == 0 else "agent"
            side = {"USER": "AI User", "ASSISTANT": "AI Assistant"}.get(kind, "AI")
            speaker = f"{side} ({m['role_name']})" if isinstance(m["role_name"], str) else None
        else:
            role_raw, content = m.get("role"), m.get("content")
            if role_raw not in ("system", "user", "assistant", "tool", "function"):
                raise ReaderError(f"wrong type: message {i} has role {role_raw!r}")
            role = {"assistant": "agent", "tool": "tool", "function": "tool"}.get(
                role_raw, role_raw
            )
            speaker = m.get("name") or role_raw
            if content is None and (m.get("tool_calls") or m.get("function_call")):
                content = ""  # a tool call: attached to the turn that made it, no text
        if not isinstance(content, str) or not isinstance(speaker, str):
            raise ReaderError(f"wrong type: message {i} needs string speaker and content")
        turns.append(Turn(speaker, content, role))
    if not turns:
        raise ReaderError("empty conversation")
    names = {m.get("name") for m in messages if isinstance(m.get("name"), str)}
    if fmt == "openai" and len(names) > 1:
        # AG2/AutoGen group chats send every agent's message as role "user" with its
        # name: a named message is that agent's turn (the opening one stays the task)
        for m, t in zip(messages, turns, strict=True):
            if t.role == "user" and isinstance(m.get("name"), str):
                t.role = "agent"
    system = None
    if turns[0].role == "system":
        system = turns[0].text
    # AutoGen/AG2 group chats name every speaker, user proxies included: several named
    # agents in one list is a role play, and one of them never answering is a failure
    named = {t.speaker for t in turns if t.role in ("agent", "user") and t.speaker not in _ROLES}
    if any(t.speaker.startswith("AI User (") for t in turns):
        named.add("AI User")  # a CAMEL role play: two roles, even before the second answers
    return Parsed(turns, system=system, roles=2 if len(named) > 1 else 1), meta


_ROLES = {"system", "user", "assistant", "tool", "function", "human", "gpt"}


# Text formats -----------------------------------------------------------------------------

_DEFAULT_SPEAKER = r"^\[?(?P<speaker>[A-Za-z][\w .'-]{0,40}?)\]?:\s?(?P<text>.*)$"
_AUTOGEN = re.compile(r"^(?P<speaker>[\w.-]+) \(to (?P<to>[\w .-]+)\):\s*$")
_CAMEL = re.compile(r"^AI (?P<side>User|Assistant)(?: \((?P<role>[^)]+)\))?:\s*$")
#: CAMEL's Markdown header, once its span is removed: ``AI User: Source Code Parser``.
_CAMEL_MD = re.compile(r"^AI (?P<side>User|Assistant): (?P<role>[^<>]{1,80}?)\s*$")
_CAMEL_SPAN_HEAD = re.compile(r"^<span style='color: \w+;'>AI (?:User|Assistant): [^<]+</span>\s*$")
_CHATDEV_HEAD = re.compile(
    r"\*\*\[?(?P<speaker>[^<*\[\]]+?)<->(?P<to>[^*\]]+?) on : (?P<phase>[^,*\]]+)"
)
_CHATDEV_SAYS = re.compile(r"^\[[\d\- :]+ INFO\] (?P<speaker>[A-Z][\w ]{1,60}?): \*\*(?P<rest>.*)$")
_AGENTVERSE = re.compile(
    r"^\s*\[?(?P<speaker>[A-Z][\w .-]{0,40}?)\]?\s*(?:\([^)]*\))?:\s+(?P<text>\S.*)$"
)
_ROUND = re.compile(r"^\s*(?:\*\*)?(?:Loop )?Round \d+", re.I)
_METAGPT = re.compile(
    r"^\d{4}-\d{2}-\d{2} [\d:.]+\s*\|\s*\w+\s*\|\s*[\w.]+(?::[\w<>]+:\d+)?\s+-\s+"
    r"(?P<speaker>[A-Z][\w ]{0,40}?)\((?P<role>[^)]+)\):\s*(?P<text>.*)$"
)
_CREWAI_AGENT = re.compile(r"^\s*#\s*Agent:\s*(?P<speaker>.+?)\s*$")
_CREWAI_SECTION = re.compile(
    r"^\s*##\s*(?P<name>Task|Final Answer|Thought|Using tool|Tool Input|Tool Output):?"
    r"\s*(?P<text>.*)$"
)
_SPAN = re.compile(r"</?span[^>]*>")


def _plain(lines: list[str]) -> tuple[Parsed, set[int]]:
    """Shared by the line-oriented readers: tracebacks and library log lines are log.
    Returns the parse so far and the indices of every line that is not dialogue."""
    inside, log = _collect_tracebacks(lines)
    for i, ln in enumerate(lines):
        if i not in inside and (LOG_PREFIX.match(ln) or HTTP_LINE.search(ln)):
            log.append((i + 1, ln.strip()))
    return Parsed([], log=sorted(log)), inside | {n - 1 for n, _ in log}


def _blocks(
    lines: list[str],
    header: Callable[[str], re.Match[str] | None],
    speaker_of,
    roles: int,
    to_of=lambda m: None,
    extra_log: re.Pattern[str] | None = None,
) -> Parsed:
    """Turns from a log where a header line starts each message; log lines (and lines
    matching ``extra_log``) end one."""
    parsed, skip = _plain(lines)
    if extra_log is not None:
        extra = {i for i, ln in enumerate(lines) if extra_log.match(ln)}
        parsed.log = sorted(set(parsed.log) | {(i + 1, lines[i].strip()) for i in extra})
        skip |= extra
    turns: list[Turn] = []
    open_turn = False
    for i, line in enumerate(lines):
        m = header(line)
        if m:
            turns.append(Turn(speaker_of(m), "", line=i + 1, to=to_of(m)))
            open_turn = True
        elif i in skip:
            open_turn = False
        elif turns and open_turn:
            if set(line.strip()) <= {"-"} and len(line.strip()) >= 10:
                continue  # AutoGen's separators
            turns[-1].text += line + "\n"
    for t in turns:
        t.text = t.text.strip()
    parsed.turns = turns
    parsed.roles = roles
    return parsed


def _speaker_lines(lines: list[str], pattern: re.Pattern[str], skip_line=None) -> Parsed:
    parsed, skip = _plain(lines)
    turns: list[Turn] = []
    for i, line in enumerate(lines):
        if i in skip or (skip_line is not None and skip_line.match(line)):
            continue
        m = pattern.match(line)
        if m:
            turns.append(Turn(m["speaker"].strip(), m["text"], line=i + 1))
        elif turns and line.strip():
            turns[-1].text += "\n" + line
    parsed.turns = turns
    return parsed


def read_speaker(text: str, speaker_pattern: str | None = None) -> Parsed:
    try:
        pattern = re.compile(speaker_pattern or _DEFAULT_SPEAKER)
    except re.error as exc:
        raise ReaderError(f"bad speaker_pattern ({exc})") from None
    return _speaker_lines(text.splitlines(), pattern)


_AUTOGEN_LOG = re.compile(
    r"^\s*(?:>>>>>>>> |Next speaker: |\[autogen[\w.]*: [^\]]*\] \{\d+\} \w+ -"
    r"|Provide feedback to \w+\. Press enter|ChatResult\()"
)


def read_autogen(text: str) -> Parsed:
    """AutoGen/AG2 console output: ``name (to recipient):`` starts a message; a message
    that is a code run's result (``exitcode: 0 (execution succeeded)``) is a tool turn
    (context for the next message, never an example). ``>>>>>>>> USING AUTO REPLY...`` /
    ``EXECUTING CODE BLOCK`` lines, ``Next speaker: X`` and the library's own log lines
    (``[autogen.oai.client: ...] {164} WARNING - ...``) are log."""
    parsed = _blocks(
        text.splitlines(),
        _AUTOGEN.match,
        lambda m: m["speaker"],
        roles=2,
        to_of=lambda m: m["to"],
        extra_log=_AUTOGEN_LOG,
    )
    for t in parsed.turns:
        if t.text.startswith("exitcode:"):
            t.role = "tool"
    return parsed


def read_camel(text: str) -> Parsed:
    """CAMEL's role-play log, plain or as the Markdown with coloured spans it writes:
    spans are removed and HTML entities decoded first. The speaker is ``AI User`` /
    ``AI Assistant`` with the role played, e.g. ``AI User (Source Code Parser)``."""
    header = _CAMEL.match
    if "<span" in text:
        text = html.unescape(_SPAN.sub("", text))
        header = lambda ln: _CAMEL.match(ln) or _CAMEL_MD.match(ln)  # noqa: E731

    def speaker(m: re.Match[str]) -> str:
        role = m["role"]
        return f"AI {m['side']}" + (f" ({role.strip()})" if role else "")

    return _blocks(text.splitlines(), header, speaker, roles=2)


def read_chatdev(text: str) -> Parsed:
    """A ChatDev WareHouse log. A message starts at a log line naming its speaker,
    ``[date INFO] Chief Product Officer: **Chief Product Officer<->Chief Executive
    Officer on : DemandAnalysis, turn 0**`` (addressed to the second role) or ``...
    Chief Executive Officer: **[Start Chat]**``, or at a bare ``**[Role A<->Role B on :
    Phase, turn N]**`` header; it runs to the next log line. The bracketed role prompt
    that opens a message (``[ChatDev is a software company ...]``) is the role's system
    prompt, not its message. Everything else is log: the preprocessing banner, the
    configuration tables, ``System: **[chatting]**`` markers, seminar conclusions (the
    environment's record of a phase), usage reports, ``HTTP Request:`` lines, ``**[Post
    Info]**`` and ``ChatDev Ends``."""
    lines = text.splitlines()
    in_tb = _collect_tracebacks(lines)[0]
    turns: list[Turn] = []
    log: list[tuple[int, str]] = []
    open_turn = False
    for i, line in enumerate(lines):
        says = _CHATDEV_SAYS.match(line)
        head = _CHATDEV_HEAD.search(line)
        if says and says["speaker"].strip() != "System":
            to = head["to"].strip() if head else None
            turns.append(Turn(says["speaker"].strip(), "", line=i + 1, to=to))
            open_turn = True
        elif head and line.lstrip().startswith("**") and not LOG_PREFIX.match(line):
            turns.append(Turn(head["speaker"].strip(), "", line=i + 1, to=head["to"].strip()))
            rest = line[head.end() :].split("]**", 1)[-1].split("**", 1)[-1]
            if rest.strip():
                turns[-1].text += rest.strip() + "\n"
            open_turn = True
        elif LOG_PREFIX.match(line) or HTTP_LINE.search(line) or (i in in_tb and not open_turn):
            log.append((i + 1, line.strip()))
            open_turn = False
        elif open_turn and turns:
            turns[-1].text += line + "\n"  # a traceback quoted in a message stays in it
        elif line.strip():
            log.append((i + 1, line.strip()))
    prompts: dict[str, str] = {}  # ChatDev prints a role's prompt in whichever turn: by name
    for t in turns:
        t.text, prompt = _role_prompt(t.text.strip())
        who = re.search(r"\bYou are ([A-Z][\w ]{1,60}?)[.,]", prompt or "")
        if who:
            prompts.setdefault(who[1].strip(), prompt)
    for t in turns:
        t.system = prompts.get(t.speaker)
    system = next(iter(prompts.values()), None)
    parsed = Parsed([t for t in turns if t.text], log=log, system=system, roles=2)
    task = re.search(r"^\|?\s*\*\*task_prompt\*\*\s*[:|]\s*(.+?)\s*\|?\s*$", text, re.M)
    parsed.task = task[1].strip() if task else None
    return parsed


def _role_prompt(text: str) -> tuple[str, str | None]:
    """A ChatDev message without the bracketed role prompt that opens it, and the prompt."""
    if not text.startswith("["):
        return text, None
    lines = text.splitlines()
    for k, ln in enumerate(lines):
        if ln.rstrip().endswith("]"):
            prompt = "\n".join(lines[: k + 1]).strip()[1:-1].strip()
            return "\n".join(lines[k + 1 :]).strip(), prompt
    return text, None


_AV_TURN = re.compile(
    r"^\s*\[(?P<speaker>[^\]\n]{1,40})\]:\s*(?P<text>.*)$"
    r"|^\s*(?P<speaker2>[A-Z][\w .-]{0,40}?) \([^)]*\):\s+(?P<text2>\S.*)$"
)
_AV_LOG = re.compile(
    r"^\s*(?:(?:Loop )?Round \d+|Role Assignment:|Reviews:|Decision Plan:|Execution Result:"
    r"|Evaluation result:|Evaluation\b.*:|(?:Good|Bad) score!|Final Result:"
    r"|(?:Score|Advice|Tool|Tool Input|Observation|Thought|Action|Action Input):"
    r"|\(Pdb\)|Error communicating)"
)
_AV_NAME = re.compile(r"^\s*[A-Z][\w.-]*(?: [A-Z][\w.-]*){0,3}\s*$")


def read_agentverse(text: str) -> Parsed:
    """AgentVerse console output. A message starts at ``[Name]: text`` (or ``Name
    (role): text``) and runs on over its continuation lines. Loop and round markers, the
    section headers (``Role Assignment:``, ``Reviews:``, ``Decision Plan:``, ``Execution
    Result:``, ``Evaluation result:``), the evaluator's ``Score:`` / ``Advice:`` and
    ``Good score! Accept!`` lines, tool calls and their results (``Tool:``, ``Tool
    Input:``, ``Observation:``, after the bare name of the agent that made them),
    tracebacks and library lines end a message and are log."""
    lines = text.splitlines()
    in_tb = _collect_tracebacks(lines)[0]
    turns: list[Turn] = []
    log: list[tuple[int, str]] = []
    open_turn = False
    for i, line in enumerate(lines):
        m = _AV_TURN.match(line)
        if i in in_tb or LOG_PREFIX.match(line) or HTTP_LINE.search(line) or _AV_LOG.match(line):
            log.append((i + 1, line.strip()))
            open_turn = False
        elif m:
            speaker = m["speaker"] or m["speaker2"]
            turns.append(Turn(speaker.strip(), m["text"] or m["text2"] or "", line=i + 1))
            open_turn = True
        elif _AV_NAME.match(line) and i + 1 < len(lines) and lines[i + 1].startswith("Tool:"):
            log.append((i + 1, line.strip()))  # the agent a tool call belongs to
            open_turn = False
        elif open_turn and turns:
            turns[-1].text += "\n" + line
        elif line.strip():
            log.append((i + 1, line.strip()))
    for t in turns:
        t.text = t.text.strip()
    return Parsed(turns, log=log, roles=2)


_ANNOUNCE = re.compile(r"^(?:to do|ready to) \w")


def read_metagpt(text: str) -> Parsed:
    """MetaGPT's loguru output: a line ``... | INFO | metagpt.roles.role:_act:373 -
    Alice(Product Manager): to do WritePRD`` starts that role's message, which is the
    raw model output printed after it, up to the next log line (the ``to do`` / ``ready
    to`` announcement itself is not a message); cost reports, ``publish_message``
    debug lines, warnings and tracebacks are log. MetaGPT writes no success marker:
    add one to the source's ``success_markers`` (e.g. a file your run always writes
    last) or its conversations' outcome is unknown."""
    lines = text.splitlines()
    parsed, skip = _plain(lines)
    turns: list[Turn] = []
    open_turn = False
    for i, line in enumerate(lines):
        m = _METAGPT.match(line)
        if m:
            said = "" if _ANNOUNCE.match(m["text"]) else m["text"] + "\n"
            turns.append(Turn(f"{m['speaker'].strip()} ({m['role'].strip()})", said, line=i + 1))
            open_turn = True
        elif i in skip:
            open_turn = False
        elif open_turn:
            turns[-1].text += line + "\n"
    for t in turns:
        t.text = t.text.strip()
    parsed.turns = [t for t in turns if t.text]
    parsed.roles = 2
    return parsed


_CREW_OLD_AGENT = re.compile(r"^(?:\[[^\]]*\])?\[DEBUG\]: == Working Agent:\s*(?P<speaker>.+?)\s*$")
_CREW_OLD_TASK = re.compile(r"^(?:\[[^\]]*\])?\[INFO\]: == Starting Task:\s*(?P<text>.*)$")
_CREW_FINAL = re.compile(r"^\s*Final Answer:\s*(?P<text>.*)$")
_CREW_LOG = re.compile(
    r"^\s*(?:> (?:Entering new|Finished chain)|(?:\[[^\]]*\])?\[(?:DEBUG|INFO)\]: =="
    r"|Thought:|Action:|Action Input:|Observation:)"
)


def read_crewai(text: str) -> Parsed:
    """CrewAI's verbose output, in either of its two forms. Newer: ``# Agent: Senior
    Researcher`` starts an agent's section; its ``## Final Answer:`` (to the next header)
    is the agent's message and its ``## Task:`` the task it was given. Older: ``[DEBUG]:
    == Working Agent: Senior Researcher`` and ``[INFO]: == Starting Task: ...``, then the
    agent's executor chain, whose ``Final Answer:`` (to ``> Finished chain.``) is the
    message. Thoughts and tool calls (``## Using tool``, ``## Tool Input``, ``## Tool
    Output``; ``Thought:``, ``Action:``, ``Action Input:``, ``Observation:``) stay with the
    agent's section and are never messages; chain markers and task-output echoes are
    log. CrewAI writes no success marker either (see :func:`read_metagpt`)."""
    lines = [_ANSI.sub("", ln) for ln in text.splitlines()]
    in_tb, log = _collect_tracebacks(lines)
    turns: list[Turn] = []
    agent = None
    section = None
    task = None
    for i, line in enumerate(lines):
        if i in in_tb:
            continue
        m = _CREWAI_AGENT.match(line) or _CREW_OLD_AGENT.match(line)
        if m:
            agent, section = m["speaker"], None
            log.append((i + 1, line.strip()))
            continue
        old_task = _CREW_OLD_TASK.match(line)
        if old_task:
            task = task or old_task["text"].strip() or None
            log.append((i + 1, line.strip()))
            section = None
            continue
        s = _CREWAI_SECTION.match(line) or _CREW_FINAL.match(line)
        if s and agent is not None:
            section = s["name"] if "name" in s.groupdict() else "Final Answer"
            if section == "Final Answer":
                turns.append(Turn(agent, s["text"] + "\n", line=i + 1))
            elif section == "Task" and task is None:
                task = s["text"].strip() or None
            continue
        if LOG_PREFIX.match(line) or HTTP_LINE.search(line) or _CREW_LOG.match(line):
            log.append((i + 1, line.strip()))
            section = None if _CREW_LOG.match(line) else section
            continue
        if section == "Final Answer" and turns:
            turns[-1].text += line + "\n"
        elif line.strip():
            log.append((i + 1, line.strip()))
    for t in turns:
        t.text = t.text.strip()
    return Parsed([t for t in turns if t.text], log=sorted(log), task=task, roles=1)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (AutoGen and CrewAI colour speaker names)."""
    return _ANSI.sub("", text)


#: The text readers, by format name.
TEXT_READERS: dict[str, Callable[[str], Parsed]] = {
    "speaker": read_speaker,
    "autogen": read_autogen,
    "camel": read_camel,
    "chatdev": read_chatdev,
    "agentverse": read_agentverse,
    "metagpt": read_metagpt,
    "crewai": read_crewai,
}


def detect_format(path: Path, raw: bytes) -> str | None:
    """The format of a file, from its first 20 kB: JSON(L) by its first line, then the
    frameworks' own headers (most specific first), then ``Name: text`` lines."""
    head = strip_ansi(raw[:20000].decode("utf-8", errors="replace"))
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    if path.suffix in (".jsonl", ".json") or first.lstrip().startswith(("{", "[")):
        try:
            obj = json.loads(first)
        except (json.JSONDecodeError, RecursionError):
            obj = None
        if obj is None and path.suffix == ".json":
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                obj = None
        inner = obj[0] if isinstance(obj, list) and obj else obj
        if isinstance(inner, dict) and "conversations" in inner:
            return "sharegpt"
        if isinstance(obj, list) or (isinstance(obj, dict) and "messages" in obj):
            return "openai"
        if path.suffix in (".jsonl", ".json"):
            return "openai"  # a JSONL file whose first line is bad: per-line rejects
    lines = head.splitlines()
    chatdev = ("**ChatDev Starts**" in head or "**ChatDevConfig**" in head) or any(
        _CHATDEV_SAYS.match(ln) or (_CHATDEV_HEAD.search(ln) and ln.lstrip().startswith("**"))
        for ln in lines
    )
    if chatdev:
        return "chatdev"
    if any(_CAMEL.match(ln.strip()) for ln in lines) or any(
        _CAMEL_SPAN_HEAD.match(ln.strip()) for ln in lines
    ):
        return "camel"
    if any(_AUTOGEN.match(ln) for ln in lines):
        return "autogen"
    if any(_METAGPT.match(ln) for ln in lines) or "| metagpt." in head:
        return "metagpt"
    if any(_CREWAI_AGENT.match(ln) or _CREW_OLD_AGENT.match(ln) for ln in lines):
        return "crewai"
    sections = sum(bool(_AV_LOG.match(ln)) for ln in lines)
    bracketed = sum(bool(re.match(r"^\s*\[[^\]\n]{1,40}\]: ", ln)) for ln in lines)
    if any(_ROUND.match(ln) for ln in lines) and (sections >= 3 or bracketed >= 2):
        return "agentverse"
    pattern = re.compile(_DEFAULT_SPEAKER)
    said = [m for ln in lines if (m := pattern.match(ln)) and m["text"].strip()]
    said = [m for m in said if m["speaker"].split()[0].lower() not in _CODE_WORDS]
    if len(said) >= 2 and len({m["speaker"] for m in said}) >= 2:
        return "speaker"
    return None


#: First words of code lines that look like ``Name: text`` (``class Game:``, ``else:``).
_CODE_WORDS = {
    "class", "def", "if", "elif", "else", "for", "while", "try", "except", "finally", "with",
    "return", "lambda", "async", "case", "match", "http", "https", "note", "warning", "error",
    "info", "debug", "todo", "step", "input", "output",
}  # fmt: skip


__all__ = [
    "HTTP_LINE",
    "LOG_PREFIX",
    "TEXT_READERS",
    "TRACEBACK",
    "Parsed",
    "ReaderError",
    "Turn",
    "detect_format",
    "read_json_messages",
]
