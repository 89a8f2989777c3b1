import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml


def _config(tmp_path, base, curated, name, **over):
    cfg = {
        "base_model": str(base),
        "training": {
            "epochs": 1,
            "batch_size": 2,
            "learning_rate": 3e-3,
            "warmup_steps": 2,
            "max_steps": 8,
            "logging_steps": 2,
        },
        "lora": {"enabled": True, "rank": 8, "alpha": 16, "dropout": 0.05},
        "evaluation": {"eval_steps": 4, "save_steps": 4, "max_examples": 12},
        "data": {"train": str(curated / "train.jsonl"), "eval": str(curated / "eval.jsonl")},
        "output_dir": str(tmp_path / name),
        "max_seq_length": 1024,
        "seed": 2,
        "packing": False,
        "cost": {"price_per_hour": 2.5},
    }
    for key, value in over.items():
        if isinstance(value, dict):
            cfg[key] = {**cfg.get(key, {}), **value}
        else:
            cfg[key] = value
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_lora_finetune_writes_adapter_metrics_and_report(cli, tmp_path, tiny_base, curated):
    base, _ = tiny_base
    path = _config(tmp_path, base, curated, "lora", packing=True)
    code, out, err = cli("train", "finetune", str(path))
    assert code in (0, None), err
    run = tmp_path / "lora"
    report = json.loads((run / "training_report.json").read_text())
    assert report["method"] == "lora" and report["steps"] == 8
    assert 0 < report["trainable_parameters"] < report["parameters"] / 5
    # wall_s is rounded to 0.01 s and the cost to 1e-6 $: allow for both
    assert report["estimated_cost_usd"] == pytest.approx(report["wall_s"] / 3600 * 2.5, abs=1e-5)
    assert report["estimated_cost_usd"] > 0
    ev = report["eval"]
    assert ev["action_examples"] > 0 and 0 <= ev["next_action_accuracy"] <= 1
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines if "eval_loss" in r] == [4, 8]
    assert [r["step"] for r in lines if "loss" in r] == [2, 4, 6, 8]
    assert all(r["tokens"] > 0 and "cost_usd" in r for r in lines if "loss" in r)
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-8"]
    assert (run / "adapter" / "adapter_model.safetensors").exists()
    assert "next-action accuracy" in out

    # merge: a model plain transformers loads, with the adapter's outputs
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    code, _, err = cli("train", "merge", str(run / "adapter"), "--out", str(tmp_path / "m"))
    assert code in (0, None), err
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "m").eval()
    peft = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base), run / "adapter"
    ).eval()
    x = torch.tensor([[5, 17, 42, 99, 3]])
    with torch.no_grad():
        torch.testing.assert_close(merged(x).logits, peft(x).logits, atol=1e-4, rtol=1e-4)


def test_full_finetuning_when_lora_is_off(tmp_path, tiny_base, curated):
    from training.finetune.trainer import finetune

    base, _ = tiny_base
    path = _config(tmp_path, base, curated, "full", lora={"enabled": False})
    report = finetune(path, max_steps=4)
    assert report["method"] == "full"
    assert report["trainable_parameters"] == report["parameters"]
    assert (tmp_path / "full" / "model" / "model.safetensors").exists()


@pytest.mark.slow
def test_a_run_killed_and_resumed_ends_where_an_uninterrupted_run_ends(
    tmp_path, tiny_base, curated
):
    from training.finetune.trainer import finetune

    base, _ = tiny_base
    steps = {"max_steps": 12, "learning_rate": 3e-3}
    whole = _config(tmp_path, base, curated, "whole", training=steps)
    finetune(whole)

    cut = _config(tmp_path, base, curated, "cut", training=steps)
    run = tmp_path / "cut"
    cmd = [sys.executable, "-m", "swarm.cli", "train", "finetune", str(cut)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (run / "checkpoint-4").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "training_report.json").exists()  # it really was cut short

    res = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    report = json.loads((run / "training_report.json").read_text())
    assert report["resumed_from"].startswith("checkpoint-")
    a = _weights(tmp_path / "whole" / "adapter" / "adapter_model.safetensors")
    b = _weights(run / "adapter" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] == b[k]).all(), k
    log = lambda p: [json.loads(x) for x in (p / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    drop = ("elapsed_s", "tokens_per_s", "cost_usd")
    strip = lambda rs: [{k: v for k, v in r.items() if k not in drop} for r in rs]  # noqa: E731
    assert strip(log(run)) == strip(log(tmp_path / "whole"))


class _Payload:
    """Pickles to a call that writes a marker file: what a planted checkpoint would do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_checkpoint_runs_no_code_and_is_refused(cli, tmp_path, tiny_base, curated):
    import pickle

    base, _ = tiny_base
    path = _config(tmp_path, base, curated, "planted", training={"max_steps": 4})
    code, _, err = cli("train", "finetune", str(path))
    assert code in (0, None), err
    ckpt = tmp_path / "planted" / "checkpoint-4"
    assert (ckpt / "rng.json").exists() and not (ckpt / "rng.pt").exists()
    marker = tmp_path / "code-ran"
    (ckpt / "optimizer.pt").write_bytes(pickle.dumps({"state": _Payload(marker)}))
    code, _, err = cli("train", "finetune", str(path), "--resume")
    assert code == 2
    assert "optimizer.pt: refused" in err and "Traceback" not in err
    assert not marker.exists()


def test_checkpoints_of_another_run_are_neither_resumed_nor_replaced(
    cli, tmp_path, tiny_base, curated
):
    base, _ = tiny_base
    first = _config(tmp_path, base, curated, "shared", training={"max_steps": 4})
    code, _, err = cli("train", "finetune", str(first))
    assert code in (0, None), err
    run = tmp_path / "shared"
    before = (run / "checkpoint-4" / "state.json").read_text()
    other = _config(
        tmp_path, base, curated, "other", training={"max_steps": 4}, seed=3, output_dir=str(run)
    )
    for extra in (["--resume"], []):
        code, _, err = cli("train", "finetune", str(other), *extra)
        assert code == 2, err
        assert "holds checkpoints of another run: config.seed 2 there, 3 here" in err
    assert (run / "checkpoint-4" / "state.json").read_text() == before
    # the same settings again, fresh: its own old checkpoints make way for the new ones
    code, _, err = cli("train", "finetune", str(first))
    assert code in (0, None), err
    assert sorted(p.name for p in run.glob("checkpoint-*")) == ["checkpoint-4"]
    assert not list(run.glob(".tmp-*"))  # the adapter went in whole


def test_a_torn_metrics_line_and_a_truncated_checkpoint(cli, tmp_path, tiny_base, curated):
    base, _ = tiny_base
    path = _config(tmp_path, base, curated, "torn", training={"max_steps": 4})
    code, _, err = cli("train", "finetune", str(path))
    assert code in (0, None), err
    run = tmp_path / "torn"
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"step": 3, "loss": 1.2')  # killed mid-write
    code, _, err = cli("train", "finetune", str(path), "--resume")
    assert code in (0, None), err
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(x) for x in lines)
    weights = run / "checkpoint-4" / "adapter" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    code, _, err = cli("train", "finetune", str(path), "--resume")
    assert code == 2 and "weights cannot be read" in err and "Traceback" not in err


def test_another_base_or_a_finished_run_in_the_output_dir_is_refused(
    cli, tmp_path, tiny_base, curated
):
    import shutil

    from training.base_model import build_base

    base, _ = tiny_base
    mine = tmp_path / "base"
    shutil.copytree(base, mine)
    path = _config(tmp_path, mine, curated, "fp", training={"max_steps": 4})
    code, _, err = cli("train", "finetune", str(path))
    assert code in (0, None), err
    other = build_base(curated, tmp_path / "other", preset_name="tiny", steps=4, seed=9)
    assert other["parameters"] > 0
    shutil.copy(tmp_path / "other" / "model.safetensors", mine / "model.safetensors")
    code, _, err = cli("train", "finetune", str(path), "--resume")
    assert code == 2 and "base.model.safetensors" in err  # a rebuilt base, same path
    for ckpt in (tmp_path / "fp").glob("checkpoint-*"):
        shutil.rmtree(ckpt)  # a finished run whose checkpoints are gone
    reseeded = _config(
        tmp_path, mine, curated, "fp2", training={"max_steps": 4}, seed=5,
        output_dir=str(tmp_path / "fp"),
    )  # fmt: skip
    code, _, err = cli("train", "finetune", str(reseeded))
    assert code == 2 and "holds another run's outputs" in err
