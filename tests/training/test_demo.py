import json

import pytest
import yaml


@pytest.mark.slow
def test_the_demo_pipeline_runs_end_to_end_and_reuses_its_artefacts(tmp_path):
    from training.demo import run_demo

    curation = tmp_path / "curation.yaml"
    curation.write_text(
        yaml.safe_dump(
            {
                "sources": [
                    {"kind": "transcripts", "count": 20},
                    {"kind": "checkpoints", "count": 120},
                    {"kind": "constitutional", "count": 20},
                    {"kind": "reasoning", "count": 10},
                ],
                "augment": {"count": 20},
                "simulation": {"n_agents": 10, "steps": 80, "first_seed": 1000},
            }
        )
    )
    finetune = tmp_path / "finetune.yaml"
    finetune.write_text(
        yaml.safe_dump(
            {
                "base_model": "set-by-the-demo",
                "training": {"batch_size": 2, "learning_rate": 1e-3, "max_steps": 3},
                "evaluation": {"eval_steps": 3, "save_steps": 3, "max_examples": 8},
            }
        )
    )
    sizes = dict(
        curation=curation,
        finetune_config=finetune,
        base_steps=2,
        swarm={"n_agents": 6, "steps": 8},
        agreement={"n_agents": 6, "steps": 4},
        bench_seeds=0,  # the benchmark has tests of its own
        eval_config={
            "dataset": {
                "counts": {"coordination": 4, "handoff": 2, "conflict": 2, "constitutional": 2},
                "n_agents": 12,
                "steps": 60,
            },
            "episodes": {"n_agents": 6, "steps": 8},
        },
        evaluation={"episodes": 1, "ab_episodes": 2, "split": 0.5},
    )
    out = tmp_path / "demo"
    lines = list(run_demo(out, **sizes))
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["agreement_with_expert"]) == {"fine-tuned", "base (untuned)"}
    assert set(summary["completion_rate"]) == {"expert", "fine-tuned", "base (untuned)", "random"}
    for name in ("comparison.md", "comparison_completed.png", "comparison_xp.png"):
        assert (out / "swarm" / name).exists()
    assert (out / "finetune" / "adapter" / "adapter_model.safetensors").exists()
    assert any("summary.json" in line for line in lines)
    assert summary["ab"]["decision"] in ("GO", "NO-GO")
    assert len(summary["ab"]["go_no_go"]) == 8
    for name in ("eval/dataset/scenarios.jsonl", "eval/fine-tuned/report.json", "ab/ab.md"):
        assert (out / name).exists()
    assert "Go/No-Go" in lines[-3]
    print(summary["timings_s"])

    again = list(run_demo(out, **sizes))
    assert sum("reusing" in line for line in again) == 3


def test_demo_seeds_must_not_overlap_the_training_simulations(tmp_path):
    from training.demo import run_demo

    with pytest.raises(ValueError, match="overlap"):
        list(run_demo(tmp_path, seed=1000))
