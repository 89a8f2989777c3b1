"""Outcome rules, task-type labels, the system turn and per-file accounting of
transcripts (training.data.transcripts, training.data.readers)."""

from __future__ import annotations

import json

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
