"""Souls carried across runs against fresh souls on the same worlds."""

from __future__ import annotations

import json

import pytest

from swarm.experiments.persistence import PersistenceConfig, episode_seed, soul_persistence

SMALL = {"n_agents": 8, "size": 15, "task_rate": 0.8, "agent_report_every": 0}


def test_episode_zero_is_the_same_run_and_carried_souls_keep_what_they_earned(tmp_path):
    cfg = PersistenceConfig(seeds=2, episodes=2, steps=80, model=SMALL)
    per_episode, paired = soul_persistence(tmp_path, cfg)
    assert len(per_episode) == 2 * 2 * 2
    first = paired[paired["episode"] == 0]
    assert (first["mean_diff"].fillna(0) == 0).all()  # the same world, the same new souls
    xp = per_episode.pivot_table("mean_xp", ["seed", "episode"], "condition")
    assert (xp.loc[(slice(None), 1), "carried"] > xp.loc[(slice(None), 1), "fresh"]).all()
    assert {"paired.csv", "paired.md", "per_episode.csv"} <= {p.name for p in tmp_path.iterdir()}


def test_episode_seeds_differ_across_chains_and_episodes():
    seeds = {episode_seed(s, e) for s in range(20) for e in range(20)}
    assert len(seeds) == 400 and all(0 <= s < 2**63 for s in seeds)


def test_a_bad_setting_is_one_line(cli, tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text("seeds: 2\nmetrics: [completed, nonsense]\n")
    code, _, err = cli("bench", "soul-persistence", "--config", str(cfg), "--out", str(tmp_path))
    assert code == 2 and "nonsense" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="model.souls"):
        PersistenceConfig(model={"souls": str(tmp_path)})


def test_the_command_ends_with_a_json_line(cli, tmp_path):
    cfg = tmp_path / "p.yaml"
    cfg.write_text(json.dumps({"model": SMALL, "metrics": ["completed"]}))
    code, out, _ = cli(
        "bench",
        "soul-persistence",
        "--config",
        str(cfg),
        "--out",
        str(tmp_path / "o"),
        "--quick",
        "--steps",
        "40",
        "--json",
    )
    assert code in (0, None)
    last = json.loads(out.strip().splitlines()[-1])
    assert last["episode"] == 1 and set(last["carried_minus_fresh"]) == {
        "completed",
        "calibration_error",
    }
