"""Outcome rules, task-type labels, the system turn and per-file accounting of
transcripts (training.data.transcripts, training.data.readers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.data.config import CurationConfig, Source
from training.data.pipeline import curate
from training.data.readers import Turn, read_chatdev
from training.data.transcripts import Conversation, iter_records, judge_outcome, label_turns

SIM = {"n_agents": 10, "steps": 80, "first_seed": 500}


def _cfg(sources, **kw):
    return CurationConfig.model_validate({"sources": sources, "simulation": SIM, "seed": 3, **kw})


def _conv(*turns, log=(), roles=1, **kw):
    return Conversation(
        [Turn(s, t, role, line=i + 1) for i, (s, t, role) in enumerate(turns)],
        "x",
        log=list(log),
        roles=roles,
        **kw,
    )


SRC = Source(kind="transcripts", path="x")


@pytest.mark.parametrize(
    ("conv", "label", "evidence"),
    [
        (_conv(("u", "go", "user"), ("a", "done. TERMINATE", "agent")), "success", "TERMINATE"),
        (
            _conv(
                ("u", "go", "user"),
                ("a", "ok", "agent"),
                log=[(9, 'HTTP Request: POST https://x/v1 "HTTP/1.1 401 Unauthorized"')],
            ),
            "failure",
            "HTTP 401",
        ),
        (
            _conv(
                ("u", "go", "user"),
                ("a", "ok", "agent"),
                log=[(9, "openai.RateLimitError: Rate limit reached")],
            ),
            "failure",
            "rate limited",
        ),
        (_conv(("AI User", "do it", "agent"), roles=2), "failure", "never answered"),
        (
            _conv(("u", "go", "user"), ("a", "I'm sorry, but I can't help with that.", "agent")),
            "failure",
            "refusal",
        ),
        (_conv(("u", "go", "user"), ("a", "", "agent")), "failure", "empty last reply"),
        (
            _conv(
                ("u", "go", "user"),
                ("a", "draft", "agent"),
                ("Evaluator", "verdict: reject", "agent"),
            ),
            "failure",
            "evaluator",
        ),
        (
            _conv(
                ("u", "go", "user"),
                ("a", "draft", "agent"),
                ("Critic", "Evaluation score: 9/10", "agent"),
            ),
            "success",
            "score 9/10",
        ),
        (_conv(("u", "go", "user"), ("a", "ok", "agent")), "unknown", "dropped"),
        (
            _conv(("u", "go", "user"), ("a", "ok", "agent"), outcome="failure"),
            "failure",
            "success=false",
        ),
    ],
)
def test_each_outcome_rule_names_its_evidence(conv, label, evidence):
    out = judge_outcome(conv, SRC)
    assert out.label == label and evidence in out.evidence
    assert (out.score is None) == (label != "success")


def test_an_error_before_the_last_message_does_not_fail_a_finished_chat():
    conv = _conv(
        ("u", "go", "user"),
        ("a", "retrying", "agent"),
        ("b", "done. TERMINATE", "agent"),
        log=[(2, 'HTTP Request: POST https://x "HTTP/1.1 429 Too Many Requests"')],
    )
    assert judge_outcome(conv, SRC).label == "success"


def test_task_types_follow_who_addresses_whom_and_decisions_among_proposals():
    conv = Conversation(
        [
            Turn("user", "Plan the release.", "user"),
            Turn("planner", "I propose we ship on Friday.", to="chat_manager"),
            Turn("tester", "I propose Monday, after the tests.", to="chat_manager"),
            Turn("lead", "We agree: Monday it is.", to="chat_manager"),
            Turn("lead", "Writer, please draft the notes.", to="writer"),
            Turn("writer", "Drafting now.", to="lead"),
        ],
        "x",
    )
    assert label_turns(conv) == [
        "coordination",
        "coordination",
        "coordination",
        "synthesis",
        "coordination",  # the lead answers itself: not a handoff
        "coordination",
    ]
    conv.turns[4] = Turn("lead", "Writer, over to you for the notes.", to="writer")
    assert label_turns(conv)[4] == "handoff"
    conv.turns[5] = Turn("writer", "Tester: your turn to check the notes.", to="tester")
    assert label_turns(conv)[5] == "handoff"  # addressed to someone other than the lead


def test_chatdev_config_tables_banners_and_http_lines_are_never_turns():
    log = "\n".join(
        [
            "[2023-28-12 12:20:19 INFO] **[Preprocessing]**",
            "",
            "**ChatDevConfig**:",
            "ChatEnvConfig.clear_structure: True",
            "",
            "[2023-28-12 12:21:00 INFO] HTTP Request: POST https://x/v1/chat/completions "
            '"HTTP/1.1 200 OK"',
            "[2023-28-12 12:21:00 INFO] Chief Product Officer: **Chief Product Officer<->"
            "Chief Executive Officer on : DemandAnalysis, turn 0**",
            "",
            "[ChatDev is a software company]",
            "",
            "I suggest a web application.",
            "",
            "[2023-28-12 12:21:05 INFO] HTTP Request: POST https://x/v1/chat/completions "
            '"HTTP/1.1 200 OK"',
        ]
    )
    parsed = read_chatdev(log)
    assert [t.speaker for t in parsed.turns] == ["Chief Product Officer"]
    assert "clear_structure" not in parsed.turns[0].text and "HTTP" not in parsed.turns[0].text
    assert parsed.turns[0].to == "Chief Executive Officer"
    assert any("HTTP/1.1 200" in text for _, text in parsed.log)


GOOD = {
    "messages": [
        {"role": "system", "content": "You are a careful planner."},
        {"role": "user", "content": "Plan the release."},
        {"role": "assistant", "name": "planner", "content": "Draft plan; over to QA."},
        {"role": "assistant", "name": "tester", "content": "Tests pass. TERMINATE"},
    ]
}
FAILED = {"messages": GOOD["messages"][:3], "metadata": {"success": False}}


@pytest.mark.parametrize("system", ["constitution", "original", "Answer as the team's scribe."])
def test_the_system_turn_is_the_sources_choice(tmp_path, system):
    from swarm.interface.constitution import constitution_text

    path = tmp_path / "chats.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    out = tmp_path / "ds"
    curate(
        _cfg([{"kind": "transcripts", "path": str(path), "system": system}], eval_fraction=0), out
    )
    rows = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    want = {"constitution": constitution_text(), "original": "You are a careful planner."}.get(
        system, system
    )
    assert rows and all(r["messages"][0]["content"] == want for r in rows)
    assert all("careful planner" not in r["messages"][1]["content"] for r in rows)


def test_original_system_without_one_is_rejected_with_its_reason(tmp_path):
    path = tmp_path / "chats.jsonl"
    no_system = {"messages": GOOD["messages"][1:]}
    path.write_text(json.dumps(no_system) + "\n")
    stats = curate(
        _cfg([{"kind": "transcripts", "path": str(path), "system": "original"}]), tmp_path / "ds"
    )
    assert next(iter(stats["sources"].values()))["record_reasons"] == {"no system prompt": 1}


def test_a_failed_conversation_yields_no_example_and_every_file_balances(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "good.jsonl").write_text(json.dumps(GOOD) + "\n" + json.dumps(FAILED) + "\n")
    (d / "binary.log").write_bytes(b"\x00\x01\x02 not text")
    (d / "truncated.jsonl").write_text(json.dumps(GOOD)[:40] + "\n")
    (d / "noise.txt").write_text("nothing here looks like a chat\njust words\n")
    out = tmp_path / "ds"
    stats = curate(_cfg([{"kind": "transcripts", "path": str(d)}], eval_fraction=0), out)
    files = next(iter(stats["sources"].values()))["files"]
    assert set(files) == {
        str(d / f) for f in ("good.jsonl", "binary.log", "truncated.jsonl", "noise.txt")
    }
    for row in files.values():
        assert row["turns_read"] == row["turns_kept"] + row["turns_rejected"]
        assert sum(row["reasons"].values()) == row["turns_rejected"]
    good = files[str(d / "good.jsonl")]
    assert good["turns_read"] == 4 + 3 and good["turns_kept"] == 2
    assert good["reasons"]["failed conversation"] == 3
    assert any(k.startswith("failure: metadata") for k in good["outcomes"])
    assert "binary file" in next(iter(files[str(d / "binary.log")]["outcomes"]))
    assert "malformed JSON" in next(iter(files[str(d / "truncated.jsonl")]["outcomes"]))
    train = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert {e["metadata"]["speaker"] for e in train} == {"planner", "tester"}
    assert all(e["metadata"]["outcome_from"].startswith("success") for e in train)
    card = (out / "datacard.md").read_text()
    assert "## Transcript files" in card and "binary file" in card


def test_a_whole_json_file_holding_one_group_chat_is_one_conversation(tmp_path):
    path = tmp_path / "groupchat.json"
    msgs = [
        {"content": "Plan the release.", "role": "user", "name": "Admin"},
        {"content": "Plan drafted.", "role": "assistant", "name": "Planner"},
        {"content": "Looks right. TERMINATE", "role": "assistant", "name": "Critic"},
    ]
    path.write_text(json.dumps(msgs, indent=2))
    src = Source(kind="transcripts", path=str(path))
    records = [r for _, r in iter_records(path, "auto", src, 10**6)]
    assert len(records) == 1 and len(records[0].turns) == 3
    assert judge_outcome(records[0], src).label == "success"


def test_camel_messages_saved_as_json_read_as_its_role_play(tmp_path):
    path = tmp_path / "camel_chat.json"
    msgs = [
        {
            "role_name": "Python Programmer",
            "role_type": "RoleType.USER",
            "meta_dict": None,
            "content": "Instruction: write the parser.\nInput: None",
        },
        {
            "role_name": "Stock Trader",
            "role_type": "RoleType.ASSISTANT",
            "meta_dict": None,
            "content": "Solution: here is the parser. Next request.",
        },
        {
            "role_name": "Python Programmer",
            "role_type": "RoleType.USER",
            "meta_dict": None,
            "content": "CAMEL_TASK_DONE",
        },
    ]
    path.write_text(json.dumps(msgs, indent=1))
    src = Source(kind="transcripts", path=str(path))
    (conv,) = [r for _, r in iter_records(path, "auto", src, 10**6)]
    assert [t.speaker for t in conv.turns] == [
        "AI User (Python Programmer)",
        "AI Assistant (Stock Trader)",
        "AI User (Python Programmer)",
    ]
    assert judge_outcome(conv, src).label == "success"
    conv.turns = conv.turns[:1]  # the assistant never answered
    assert "never answered" in judge_outcome(conv, src).evidence


# Regressions from the review of the readers (each was a real input that went wrong) ----

WCLOCK = Path(__file__).parent / "fixtures/transcripts/chatdev/chatdev_success_wclock_excerpt.log"


def _read(tmp_path, name, text, **src):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    source = Source(kind="transcripts", path=str(path), **src)
    return source, [r for _, r in iter_records(path, "auto", source, 10**6)]


def test_model_text_in_a_chatdev_conclusion_is_not_a_failure(tmp_path):
    text = WCLOCK.read_text().replace(
        "## Conclusion",
        "If you see a ModuleNotFoundError, run pip install again.\n"
        "    except Exception as e:\n        print(e)\n\n## Conclusion",
    )
    src, (conv,) = _read(tmp_path, "w.log", text)
    assert judge_outcome(conv, src).label == "success"


def test_ag2_group_chat_messages_sent_as_user_with_names_are_agents_turns(tmp_path):
    msgs = [
        {"content": "Plan the release.", "role": "user", "name": "Admin"},
        {"content": "Here is the plan.", "role": "user", "name": "Planner"},
        {"content": "Code written.", "role": "user", "name": "Coder"},
    ]
    src, (conv,) = _read(tmp_path, "groupchat.json", json.dumps(msgs))
    assert [t.role for t in conv.turns] == ["agent", "agent", "agent"]
    from training.data.transcripts import agent_turns

    assert agent_turns(conv) == [1, 2]


def test_an_explicit_failure_or_a_refusal_beats_a_score_or_a_quoted_marker():
    bad = _conv(("u", "go", "user"), ("a", "done", "agent"), outcome="failure", score=0.9)
    assert judge_outcome(bad, SRC).label == "failure"
    refused = _conv(
        ("User", "Solve 2+2. Reply TERMINATE when done.", "user"),
        ("Assistant", "I'm sorry, but I can't do that.", "agent"),
    )
    assert "refusal" in judge_outcome(refused, SRC).evidence


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.txt", "Alice: Have you tried ChatDev?\nBob: Not yet, is it good?\n", "speaker"),
        ("b.txt", "Human: write a haiku\nAI Assistant: Sure, here it is: ...\n", "speaker"),
        ("c.txt", "Round 1\nAlice: tabs\nBob: spaces\nRound 2\nAlice: fine\n", "speaker"),
        ("d.json", json.dumps([{"conversations": [{"from": "human", "value": "hi"}]}]), "sharegpt"),
        ("e.py", "class Game:\n    pass\nelse: x\n", None),
    ],
)
def test_ordinary_files_are_not_mistaken_for_a_framework(tmp_path, name, text, fmt):
    path = tmp_path / name
    path.write_text(text)
    from training.data.readers import detect_format

    if fmt is None:
        src, (rec,) = _read(tmp_path, name, text)
        assert "not a transcript" in str(rec)
    else:
        assert detect_format(path, path.read_bytes()) == fmt


def test_original_system_gives_each_chatdev_role_its_own_prompt(tmp_path):
    from training.data.readers import read_chatdev

    parsed = read_chatdev(WCLOCK.read_text())
    by = {t.speaker: t.system for t in parsed.turns}
    assert "You are Chief Executive Officer" in by["Chief Executive Officer"]
    assert "You are Chief Product Officer" in by["Chief Product Officer"]


def test_library_log_lines_and_evaluator_lookalikes_are_not_dialogue_or_verdicts(tmp_path):
    text = (
        "Alice: I will fetch the data.\n"
        "2024-05-01 10:00:00,123 - openai._base_client - INFO - Retrying request\n"
        "WARNING: rate limit reached for requests\n"
        "Bob: Reviewer: Failed builds are retried twice; looks good\n"
        "high_score = 0\n"
        "  score: 7/0\n"
    )
    src, (conv,) = _read(tmp_path, "chat.txt", text)
    assert [t.speaker for t in conv.turns] == ["Alice", "Bob"]
    assert "Retrying" not in conv.turns[0].text
    out = judge_outcome(conv, src)  # a retried rate limit mid-run, no verdict: unknown
    assert out.label == "unknown", out


def test_a_reader_error_rejects_its_file_and_the_rest_curates(tmp_path):
    d = tmp_path / "logs"
    d.mkdir()
    (d / "a.txt").write_text("Alice: hi\nBob: hello\nAlice: TERMINATE\n")
    (d / "half.json").write_text('[{"role": "user", "content": "x"},\n {"role": "ass')
    (d / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + json.dumps(GOOD).encode() + b"\n")
    src = {"kind": "transcripts", "path": str(d)}
    odd = {"speaker_pattern": r"^(?:(?P<speaker>[A-Z]\w+): )?(?P<text>.+)$"}
    stats = curate(_cfg([src | odd]), tmp_path / "ds")
    files = next(iter(stats["sources"].values()))["files"]
    half = files[str(d / "half.json")]
    assert half["records"] == 1 and "malformed JSON" in next(iter(half["outcomes"]))  # one reject
    assert files[str(d / "bom.jsonl")]["turns_kept"] == 2
    assert all(r["turns_read"] == r["turns_kept"] + r["turns_rejected"] for r in files.values())


def test_a_turn_that_is_only_a_termination_marker_is_no_example(tmp_path):
    chat = {
        "messages": [
            {"role": "user", "content": "Plan the release."},
            {"role": "assistant", "name": "planner", "content": "The plan: ship Monday."},
            {"role": "assistant", "name": "critic", "content": "TERMINATE"},
        ]
    }
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(chat) + "\n")
    stats = curate(
        _cfg([{"kind": "transcripts", "path": str(path)}], eval_fraction=0), tmp_path / "d"
    )
    row = next(iter(stats["sources"].values()))["files"][str(path)]
    assert (
        row["turns_kept"] == 1 and row["reasons"]["a termination marker only, not a message"] == 1
    )
