import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm.model import SwarmModel
from swarm.policies import HeuristicPolicy
from training.eval.dataset import build_dataset, freeze, load_dataset, thaw


@settings(max_examples=8)
@given(st.integers(0, 10_000), st.integers(1, 30))
def test_freeze_thaw_round_trips_what_a_policy_sees(seed, steps):
    model = SwarmModel(n_agents=12, agent_report_every=0, rng=seed)
    for _ in range(steps):
        model.step()
    obs = model.observe()
    thawed = [thaw(json.loads(json.dumps(freeze(o)))) for o in obs]
    for o, t in zip(obs, thawed, strict=True):
        assert freeze(t) == freeze(o)
    expert = HeuristicPolicy()
    want = [d.action for d in expert.decide(obs)]
    got = [d.action for d in expert.decide(thawed)]
    assert got == want


def test_dataset_has_the_counts_and_is_reproducible(eval_dataset, small_config, tmp_path):
    manifest = json.loads((eval_dataset / "manifest.json").read_text())
    assert manifest["counts"] == small_config["dataset"]["counts"]
    scenarios = load_dataset(eval_dataset)
    assert len(scenarios) == sum(manifest["counts"].values())
    for s in scenarios:
        assert s.acceptable and s.acceptable < set(s.observation.candidates)
        assert s.record["messages"][0]["role"] == "system"
    again = build_dataset(tmp_path, small_config)
    assert again["sha256"] == manifest["sha256"]
    lo, hi = manifest["seeds"]
    assert hi < 1000 or lo > 1199  # the default curation seeds


def test_seeds_overlapping_training_data_are_refused(small_config, tmp_path):
    cfg = {**small_config, "dataset": {**small_config["dataset"], "first_seed": 1150}}
    with pytest.raises(ValueError, match="overlap the training data"):
        build_dataset(tmp_path, cfg)


def test_seeds_named_in_curated_records_are_refused(small_config, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rec = {"provenance": {"source_file": "simulation:seed=5003"}}
    (data / "train.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(ValueError, match="5003"):
        build_dataset(tmp_path / "out", small_config, training_data=data)


def test_a_bad_scenario_line_is_named(eval_dataset, tmp_path):
    lines = (eval_dataset / "scenarios.jsonl").read_text().splitlines()
    bad = tmp_path / "scenarios.jsonl"
    bad.write_text("\n".join([lines[0], '{"category": "gossip"}']) + "\n")
    with pytest.raises(ValueError, match=r"scenarios.jsonl:2: .*gossip"):
        load_dataset(bad)


def test_a_dataset_that_no_longer_matches_its_manifest_is_refused(tmp_path, cli):
    import shutil

    from training.eval.dataset import build_dataset, load_dataset

    out = tmp_path / "ds"
    build_dataset(out, {"dataset": {"counts": {"coordination": 3}, "max_runs": 3}})
    load_dataset(out)
    lines = (out / "scenarios.jsonl").read_text().splitlines()
    (out / "scenarios.jsonl").write_text("\n".join(lines[:-1]) + "\n")  # one scenario gone
    with pytest.raises(ValueError, match="does not match its manifest"):
        load_dataset(out)
    shutil.copy(out / "scenarios.jsonl", tmp_path / "loose.jsonl")  # no manifest beside it
    assert len(load_dataset(tmp_path / "loose.jsonl")) == 2


def test_a_negative_count_is_refused(tmp_path, cli):
    config = tmp_path / "eval.yaml"
    config.write_text("dataset: {counts: {coordination: -1}}\n")
    code, _, err = cli("eval", "build", "--out", str(tmp_path / "ds"), "--config", str(config))
    assert code == 2 and "dataset.counts.coordination" in err


def test_counts_that_ask_for_nothing_are_refused(tmp_path, cli):
    config = tmp_path / "eval.yaml"
    config.write_text("dataset: {counts: {coordination: 0}}\n")
    code, _, err = cli("eval", "build", "--out", str(tmp_path / "ds"), "--config", str(config))
    assert code == 2 and "no scenarios at all" in err
