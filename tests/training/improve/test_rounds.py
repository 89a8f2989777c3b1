"""swarm improve: the config's checks, and the rounds end to end on a tiny world."""

import json

import pytest

from swarm.config import ConfigError
from training.improve.config import ImproveConfig, as_improve

ROW_KEYS = {
    "completion_rate",
    "completion_rate_expert",
    "paired_diff",
    "ci_low",
    "ci_high",
    "conflict_rate",
    "agreement_with_expert",
}


def test_the_example_configs_load_and_their_seeds_are_disjoint():
    cfg = as_improve("experiments/improve.yaml")
    cfg.check_seeds()
    assert cfg.dpo.lora.enabled and cfg.rounds == 3
    dep = as_improve("experiments/improve-departures.yaml")
    dep.check_seeds()
    assert dep.labels.select == "departures" and dep.labels.pairs == "expert"


@pytest.mark.parametrize(
    "over, match",
    [
        ({"labls": {}}, "labls"),
        ({"dpo": {"lora": {"enabled": False}}}, "lora.enabled must be true"),
        ({"dpo": {"training": {"epochs": 0}}}, "epochs"),
        ({"labels": {"margin": 0}}, "margin"),
        ({"rounds": 0}, "rounds"),
        ({"dpo": {"sft_weight": -1}}, "sft_weight"),
        ({"labels": {"pairs": "expert"}}, "pairs: 'expert' does not fit select: 'sample'"),
        ({"labels": {"select": "departures", "anchors": -1}}, "anchors"),
        ({"labels": {"select": "departures", "pairs": "policy"}}, "pairs: 'policy' does not fit"),
    ],
)
def test_a_bad_key_or_value_is_one_error_naming_it(over, match):
    with pytest.raises(ConfigError, match=match):
        as_improve(over)


def test_seeds_shared_by_two_uses_are_refused():
    cfg = ImproveConfig(
        curation=None,
        rounds=2,
        labels={"seeds": {"first": 100, "count": 2}},
        evaluation={"heldout": {"first": 103, "count": 4}},
    )
    with pytest.raises(ConfigError, match="labels and heldout share seed 103"):
        cfg.check_seeds()
    clash = ImproveConfig(labels={"seeds": {"first": 1000, "count": 2}})
    with pytest.raises(ConfigError, match="labels and curation share seed 1000"):
        clash.check_seeds()


def test_the_cli_says_what_is_wrong_in_one_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("rounds: 2\ndpo: {bta: 0.1}\n")
    code, out, err = cli("improve", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "bta" in err and "Traceback" not in err
    missing = tmp_path / "m.yaml"
    missing.write_text("student: no/such/dir\ncuration: null\n")
    code, out, err = cli("improve", str(missing), "--out", str(tmp_path / "o"))
    assert code == 2 and "no/such/dir" in err
    assert not (tmp_path / "o" / "summary.json").exists()


def _tiny(student, **over):
    cfg = {
        "student": str(student),
        "curation": None,
        "rounds": 1,
        "episodes": {"n_agents": 10, "steps": 40},
        "labels": {
            "seeds": {"first": 50, "count": 1},
            "horizon": 8,
            "worlds": 1,
            "every": 2,
            "per_step": 2,
            "margin": 0.05,
        },
        "dpo": {
            "training": {"epochs": 1, "batch_size": 4, "max_steps": 2, "logging_steps": 1},
            "evaluation": {"eval_steps": 2, "save_steps": 2},
            "eval_fraction": 0.0,
            "device": "cpu",
        },
        "evaluation": {
            "heldout": {"first": 60, "count": 2},
            "confirm": {"first": 70, "count": 2},
            "agreement_seeds": [0],
            "agreement_steps": 10,
        },
        "departures": {"seeds": {"first": 80, "count": 1}, "sample": 3, "horizon": 3, "worlds": 1},
    }
    cfg.update(over)
    return cfg


@pytest.mark.slow
def test_rounds_end_to_end_write_the_summary_and_reuse_what_is_done(tmp_path, tiny_base):
    pytest.importorskip("trl")
    from training.improve.rounds import run_improve

    base, _ = tiny_base
    out = tmp_path / "improve"
    lines = list(run_improve(_tiny(base), out))
    summary = json.loads((out / "summary.json").read_text())
    assert [r["round"] for r in summary["rounds"]] == [0, 1]
    for row in summary["rounds"]:
        assert set(row) >= ROW_KEYS and "inputs" not in row
    zero, one = summary["rounds"]
    assert zero["kept"] and summary["best_round"] in (0, 1)
    assert one["kept"] == (summary["best_round"] == 1)
    assert one["pairs"] > 0 and one["labels"] > 0
    assert (out / "round-1" / "pairs.jsonl").is_file()
    assert (out / "round-1" / "dpo" / "student" / "config.json").is_file()
    # student and expert on the same worlds: the expert's figure is the same every round
    assert zero["completion_rate_expert"] == one["completion_rate_expert"]
    ev = json.loads((out / "round-1" / "eval.json").read_text())
    assert ev["seeds"] == [60, 61]
    assert set(summary["confirm"]) == {"round_0", f"round_{summary['best_round']}"}
    assert summary["confirm"]["round_0"]["seeds"] == [70, 71]
    assert any(line.startswith("confirm round 0") for line in lines)
    dep = json.loads((out / "departures.json").read_text())
    assert "round_0" in dep and dep["round_0"]["seeds"] == [80]

    stamp = (out / "round-1" / "round.json").stat().st_mtime_ns
    again = list(run_improve(_tiny(base), out))
    assert (out / "round-1" / "round.json").stat().st_mtime_ns == stamp  # reused
    assert json.loads((out / "summary.json").read_text())["rounds"] == summary["rounds"]
    assert not any("labelled" in line for line in again)


@pytest.mark.slow
def test_a_departures_round_labels_both_answers_and_keeps_the_expert_by_default(
    tmp_path, tiny_base
):
    pytest.importorskip("trl")
    from training.improve.rounds import run_improve

    base, _ = tiny_base
    out = tmp_path / "improve"
    labels = {"select": "departures", "pairs": "expert", "anchors": 1.0, "margin": 0.5}
    cfg = _tiny(base)
    cfg["labels"] |= labels
    list(run_improve(cfg, out))
    rows = [json.loads(x) for x in (out / "round-1" / "labels.jsonl").read_text().splitlines()]
    assert rows and all(len(r["candidates"]) == 2 and r["expert_action"] for r in rows)
    pairs = [json.loads(x) for x in (out / "round-1" / "pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == len(rows)  # one pair per label: the expert's answer and the other
    for p, r in zip(pairs, rows, strict=True):
        assert r["expert_action"] == (p["rejected"] if p["overturned"] else p["chosen"])
    row = json.loads((out / "summary.json").read_text())["rounds"][1]
    assert row["pairs"] == len(pairs)
