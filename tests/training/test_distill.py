"""``swarm distill``: the recipe end to end at toy sizes, its reuse of built stages, and
the same YAML pointed at an endpoint that is already serving a teacher."""

import json

import pytest
import yaml

pytest.importorskip("fastapi")
pytest.importorskip("openai")

pytestmark = pytest.mark.timeout(600)

SIM = {"n_agents": 8, "steps": 60, "first_seed": 900, "max_runs": 5}
FINETUNE = {
    "training": {"max_steps": 2, "batch_size": 2, "warmup_steps": 0},
    "lora": {"enabled": False},
    "evaluation": {"eval_steps": 2, "save_steps": 2, "max_examples": 8},
    "max_seq_length": 1024,
    "device": "cpu",
}


def _recipe(tmp_path):
    cur = tmp_path / "curation.yaml"
    cur.write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {"kind": "checkpoints", "count": 60},
                    {"kind": "reasoning", "count": 8},
                ],
                "simulation": SIM,
                "eval_fraction": 0.2,
                "seed": 1,
            }
        )
    )
    return {
        "seed": 0,
        "expert": {"curation": str(cur), "reuse": None},
        "teacher": {
            "preset": "tiny",
            "base_steps": 3,
            "finetune": FINETUNE,
            "openai": {
                "model": "teacher",
                "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
            },
        },
        "transcripts": {"runs": 1, "n_agents": 4, "steps": 12, "every": 1},
        "student": {
            "base_steps": 2,
            "finetune": FINETUNE,
            "curation": {
                "sources": [{"kind": "reasoning", "count": 4}],
                "simulation": SIM,
                "eval_fraction": 0.2,
            },
        },
        "evaluation": {
            "config": {
                "curation": str(cur),
                "dataset": {
                    "counts": {"coordination": 4, "handoff": 2, "conflict": 2, "constitutional": 2},
                    "max_runs": 3,
                    "n_agents": 8,
                    "steps": 40,
                },
                "episodes": {"n_agents": 6, "steps": 80},
            },
            "agreement": {"seeds": [0], "n_agents": 4, "steps": 6, "every": 2},
            "episodes": 2,
            "ab_episodes": 1,
        },
    }


@pytest.mark.slow
def test_the_recipe_runs_end_to_end_then_reuses_its_stages_and_a_hosted_teacher(
    tmp_path, cli, monkeypatch
):
    from swarm.apps.serve import make_app, running
    from training.distill import run_distill

    recipe = _recipe(tmp_path)
    out = tmp_path / "out"
    lines = list(run_distill(recipe, out))
    text = "\n".join(lines)
    for k in range(1, 9):
        assert f"{k}/8 " in text  # every stage says what it does
    summary = json.loads((out / "summary.json").read_text())
    rows = summary["table"]["rows"]
    assert list(rows) == ["teacher", "student", "expert", "random"]
    assert rows["teacher"]["policy"] == "openai:teacher"
    assert rows["student"]["policy"].startswith("lm:")
    assert rows["expert"]["agreement"] == 1.0  # the expert agrees with itself
    assert rows["teacher"]["tokens_in"] > 0  # priced per token, from the server's usage
    assert rows["teacher"]["diff_vs_teacher"] == 0.0  # paired with itself
    lo, hi = rows["expert"]["completion_ci"]
    assert 0 <= lo <= rows["expert"]["completion_rate"] <= hi  # tasks ended: a real interval
    assert len(rows["random"]["completion_per_episode"]) == 2
    assert "| student (" in (out / "table.md").read_text()
    ab = json.loads((out / "ab" / "ab.json").read_text())
    assert ab["control"] == "openai:teacher" and ab["test"].startswith("lm:")
    assert ab["paired"]["scenarios"] == 10
    assert ab["arms"]["control"]["cost"]["input_tokens"] > 0
    assert "cost reduction vs control" in (out / "ab" / "ab.md").read_text()
    # Recorded transcripts are the student's data: one example per kept teacher decision.
    data = summary["student_data"]
    assert data["decisions_read"] == 4 * 12
    train = [json.loads(x) for x in (out / "student_data" / "train.jsonl").read_text().splitlines()]
    taught = [e for e in train if e["metadata"]["source"] == "teacher-transcripts"]
    assert taught and all(e["metadata"]["policy"] == "openai:teacher" for e in taught)

    # A rerun reuses every stage (the teacher's answers replay from its cache) ...
    reports = {w: out / w / "finetune" / "training_report.json" for w in ("teacher", "student")}
    stamps = {w: p.stat().st_mtime_ns for w, p in reports.items()}
    again = "\n".join(run_distill(recipe, out))
    assert "reusing the 1 recorded runs" in again and "student data: reusing" in again
    assert {w: p.stat().st_mtime_ns for w, p in reports.items()} == stamps
    rerun = json.loads((out / "summary.json").read_text())
    assert rerun["teacher_stats"]["requests"] == 0  # every answer from the cache
    assert (
        rerun["table"]["rows"]["teacher"]["completion_per_episode"]
        == (rows["teacher"]["completion_per_episode"])
    )
    # ... and a changed setting rebuilds its stage and those downstream, nothing upstream.
    recipe["student"]["finetune"] = FINETUNE | {"training": FINETUNE["training"] | {"max_steps": 3}}
    list(run_distill(recipe, out))
    assert reports["teacher"].stat().st_mtime_ns == stamps["teacher"]
    assert json.loads(reports["student"].read_text())["steps"] == 3

    # The same recipe pointed at an endpoint: nothing is trained or served for the teacher.
    teacher = out / "teacher" / "finetune" / "model"
    with running(make_app(teacher, device="cpu", name="hosted")) as url:
        recipe["teacher"]["openai"] |= {"base_url": url, "model": "hosted"}
        hosted = "\n".join(run_distill(recipe, tmp_path / "hosted"))
        # The A/B by hand, as the README shows it: swarm ab --control openai:TEACHER.
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        ev = tmp_path / "eval.yaml"
        ev.write_text(yaml.safe_dump(recipe["evaluation"]["config"]))
        student = out / "student" / "finetune" / "model"
        code, stdout, err = cli(
            "ab", "--control", "openai:hosted", "--test", f"lm:{student}", "--split", "0.2",
            "--episodes", "1", "--config", str(ev), "--out", str(tmp_path / "ab-cli"),
        )  # fmt: skip
    assert f"the hosted endpoint {url}" in hosted
    assert not (tmp_path / "hosted" / "teacher").exists()
    assert json.loads((tmp_path / "hosted" / "ab" / "ab.json").read_text())["control"] == (
        "openai:hosted"
    )
    assert code == 0, err
    by_hand = json.loads((tmp_path / "ab-cli" / "ab.json").read_text())
    assert by_hand["control"] == "openai:hosted"
    assert by_hand["arms"]["control"]["cost"]["input_tokens"] > 0


def test_a_bad_recipe_key_is_one_line(tmp_path, cli):
    bad = tmp_path / "d.yaml"
    bad.write_text("teacher: {preset: mini, base_stepz: 3}\n")
    code, _, err = cli("distill", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "base_stepz" in err and len(err.strip().splitlines()) == 1
    clash = tmp_path / "c.yaml"
    clash.write_text("evaluation: {agreement: {seeds: [1000]}}\n")
    code, _, err = cli("distill", str(clash), "--out", str(tmp_path / "o"))
    assert code == 2 and "evaluation seeds [1000] are training seeds" in err
