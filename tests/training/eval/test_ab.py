import json

from training.eval.ab import ab_test

CRITERIA = {
    "task success",
    "constitutional compliance",
    "conflict rate",
    "latency (p95 per decision)",
    "cost per task",
    "cost reduction vs control",
    "error rate",
    "quality parity (non-inferiority)",
}


def test_random_test_arm_gets_no_go_with_evidence(eval_dataset, small_config, tmp_path):
    r = ab_test(
        "heuristic",
        "random",
        tmp_path,
        split=0.3,
        episodes=3,
        dataset=eval_dataset,
        config=small_config,
    )
    assert json.loads((tmp_path / "ab.json").read_text())["decision"] == r["decision"] == "NO-GO"
    rows = {g["criterion"]: g for g in r["go_no_go"]}
    assert set(rows) == CRITERIA
    assert not rows["quality parity (non-inferiority)"]["pass"]
    assert all(g["evidence"] for g in r["go_no_go"])
    p = r["paired"]
    assert p["only_test_correct"] == 0 and p["only_control_correct"] > 0
    assert p["p_mcnemar"] < 0.01
    assert r["arms"]["test"]["agents"] + r["arms"]["control"]["agents"] == 3 * 12
    md = (tmp_path / "ab.md").read_text()
    assert "Go/No-Go: **NO-GO**" in md and "| task success |" in md


def test_cli_ab_and_eval_usage_errors(cli, tmp_path):
    code, _, err = cli("ab", "--control", "heuristic", "--test", "nope", "--out", str(tmp_path))
    assert code == 2 and "not a policy" in err
    code, _, err = cli(
        "eval", "run", "--policy", "heuristic", "--dataset", str(tmp_path), "--out", str(tmp_path)
    )
    assert code == 2 and "scenarios.jsonl: no such file" in err
