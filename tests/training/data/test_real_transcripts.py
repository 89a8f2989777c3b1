"""Every reader on real logs that public multi-agent frameworks committed (fixtures/
transcripts, with their sources and licences in SOURCES.md): the format is detected,
only dialogue becomes turns, the outcome and its evidence are right, a failure yields
no example, and each file balances (turns read = kept + rejected)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.data.config import CurationConfig, Source
from training.data.pipeline import curate
from training.data.readers import detect_format
from training.data.transcripts import iter_records, judge_outcome

FIXTURES = Path(__file__).parent / "fixtures" / "transcripts"
SIM = {"n_agents": 10, "steps": 80, "first_seed": 500}

#: file -> (format, outcome, evidence, speakers that must be among the turns' speakers)
REAL = {
    "camel/camel_success_math_initial_condition.md": (
        "camel",
        "success",
        "CAMEL_TASK_DONE",
        {"AI User (Mathematical Analyst)", "AI Assistant (Mathematical Analyst)"},
    ),
    "chatdev/chatdev_success_wclock_excerpt.log": (
        "chatdev",
        "success",
        "ChatDev Ends",
        {"Chief Executive Officer", "Chief Product Officer"},
    ),
    "chatdev/chatdev_failure_role_never_answered.log": (
        "chatdev",
        "failure",
        "never answered",
        {"Chief Executive Officer"},
    ),
    "agentverse/agentverse_success_party_plan_excerpt.txt": (
        "agentverse",
        "success",
        "Good score! Accept",
        {"Li Mei", "Wang Lei", "Liu Yang"},
    ),
    "agentverse/agentverse_failure_evaluator_traceback_excerpt.txt": (
        "agentverse",
        "failure",
        "Traceback",
        {"Bella", "Charlie"},
    ),
    "autogen/autogen_success_groupchat_console.txt": (
        "autogen",
        "success",
        "TERMINATE",
        {"User_proxy", "Coder", "Product_manager"},
    ),
    "autogen/autogen_unknown_groupchat_stops_after_planner.txt": (
        "autogen",
        "unknown",
        "no success or failure evidence",
        {"Admin", "Planner"},
    ),
}
#: Text that belongs to logs, tables, banners and tool dumps: never inside a turn.
NOT_DIALOGUE = (
    "HTTP Request:",
    "ChatEnvConfig.",
    "flask app.py did not start",
    "**[Preprocessing]**",
    "| Parameter | Value |",
    "OpenAI_Usage_Info",
    "Traceback (most recent call last)",
    "<span",
    "Tool Input:",
    "Loop Round",
    ">>>>>>>>",
    "\x1b[",
)


def _records(path: Path):
    src = Source(kind="transcripts", path=str(path))
    return src, [r for _, r in iter_records(path, "auto", src, 10**7)]


def test_every_fixture_is_listed_with_its_source_and_licence():
    files = {str(p.relative_to(FIXTURES)) for p in FIXTURES.rglob("*") if p.is_file()}
    files.discard("SOURCES.md")
    listed = (FIXTURES / "SOURCES.md").read_text()
    assert files == set(REAL) | {"chatdev/chatdev_failure_http401.log"}
    for f in files:
        assert f.split("/")[-1] in listed
    assert listed.count("Licence:") >= len(files)


@pytest.mark.parametrize("name", sorted(REAL))
def test_a_real_log_reads_as_its_framework_wrote_it(name):
    fmt, label, evidence, speakers = REAL[name]
    path = FIXTURES / name
    assert detect_format(path, path.read_bytes()) == fmt
    src, records = _records(path)
    assert len(records) == 1
    conv = records[0]
    assert speakers <= {t.speaker for t in conv.turns}
    for t in conv.turns:
        for junk in NOT_DIALOGUE:
            assert junk not in t.text, (t.speaker, junk)
        assert not t.speaker.startswith(("Tool", "Observation", "Score", "exitcode"))
    outcome = judge_outcome(conv, src)
    assert outcome.label == label and evidence in outcome.evidence, outcome


def test_a_chatdev_run_that_died_on_http_401_is_rejected_with_that_evidence():
    path = FIXTURES / "chatdev" / "chatdev_failure_http401.log"
    _, records = _records(path)
    assert len(records) == 1 and isinstance(records[0], ValueError)
    assert "HTTP 401" in str(records[0]) and "no dialogue" in str(records[0])


def test_the_fixture_directory_curates_with_failures_yielding_nothing(tmp_path):
    cfg = CurationConfig.model_validate(
        {
            "sources": [{"kind": "transcripts", "path": str(FIXTURES), "name": "real"}],
            "simulation": SIM,
            "seed": 1,
            "eval_fraction": 0.0,
        }
    )
    stats = curate(cfg, tmp_path / "ds")
    files = stats["sources"]["real"]["files"]
    assert len(files) == len(REAL) + 2  # SOURCES.md is read, and rejected, too
    for row in files.values():
        assert row["turns_read"] == row["turns_kept"] + row["turns_rejected"]
    by_name = {Path(f).name: row for f, row in files.items()}
    for name, (_, label, _, _) in REAL.items():
        row = by_name[Path(name).name]
        assert (row["turns_kept"] > 0) == (label == "success"), name
        assert next(iter(row["outcomes"])).startswith(label)
    assert by_name["chatdev_failure_http401.log"]["turns_kept"] == 0
    examples = [
        json.loads(x)
        for f in ("train.jsonl", "eval.jsonl")
        for x in (tmp_path / "ds" / f).read_text().splitlines()
    ]
    rejects = [json.loads(x) for x in (tmp_path / "ds" / "rejects.jsonl").read_text().splitlines()]
    failed = {r["source_file"] for r in rejects if r["reason"].startswith("failed conversation")}
    assert failed and not any(e["provenance"]["source_file"] in failed for e in examples)
    kinds = {e["metadata"]["task_type"] for e in examples}
    assert "synthesis" in kinds  # ChatDev's <INFO> conclusion after the CEO's opening


# MetaGPT and CrewAI: no permissively licensed public run log was found (SOURCES.md says
# where we looked), so fixtures/constructed holds logs written by hand in the formats as
# the real lines quoted in SOURCES.md show them (README.md there).

CONSTRUCTED = Path(__file__).parent / "fixtures" / "constructed"
METAGPT = (CONSTRUCTED / "metagpt_failure_exception.log").read_text()
CREWAI_NEW = (CONSTRUCTED / "crewai_success_new_format.log").read_text()
CREWAI_OLD = (CONSTRUCTED / "crewai_old_format.log").read_text()


def test_metagpt_roles_messages_are_their_outputs_and_an_exception_fails_the_run(tmp_path):
    path = tmp_path / "metagpt.log"
    path.write_text(METAGPT)
    assert detect_format(path, path.read_bytes()) == "metagpt"
    src, (conv,) = _records(path)
    assert [t.speaker for t in conv.turns] == ["Alice (Product Manager)", "Bob (Architect)"]
    assert conv.turns[0].text == "## Original Requirements\nA snake game in the terminal."
    assert not any("running cost" in t.text or "to do" in t.text for t in conv.turns)
    out = judge_outcome(conv, src)
    assert (
        out.label == "failure"
        and "metagpt.utils.common" in out.evidence
        and "line 8" in out.evidence
    )


@pytest.mark.parametrize(
    ("text", "speakers"),
    [
        (CREWAI_NEW, ["Senior Researcher", "Reporting Analyst"]),
        (CREWAI_OLD, ["Conversation Orchestrator"]),
    ],
)
def test_crewai_final_answers_are_the_messages_and_tool_calls_are_not(tmp_path, text, speakers):
    path = tmp_path / "crew.log"
    path.write_text(text)
    assert detect_format(path, path.read_bytes()) == "crewai"
    src, (conv,) = _records(path)
    assert [t.speaker for t in conv.turns] == speakers
    assert conv.task and conv.task.startswith(("Find three", "Plan the team"))
    for t in conv.turns:
        assert "Tool Output" not in t.text and "Action Input" not in t.text and "\x1b" not in t.text
    if text is CREWAI_NEW:
        assert judge_outcome(conv, src).label == "success"
