"""DPO on preference pairs: the policy's own tokens, a real move, exact resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("trl")

from swarm.config import ConfigError  # noqa: E402
from swarm.interface.text import render_action, render_user  # noqa: E402
from swarm.model import SwarmModel  # noqa: E402
from training.improve.config import DPO  # noqa: E402
from training.improve.dpo import dpo_train, pair_messages, split_pairs  # noqa: E402


def _observations(n=12, seed=3):
    m = SwarmModel(n_agents=10, width=12, height=12, policy="heuristic", rng=seed)
    out = []
    m.on_decisions.append(lambda _m, obs, _d: out.extend(o for o in obs if len(o.candidates) > 2))
    while len(out) < n:
        m.step()
    return out[:n]


def _pairs(policy, observations):
    """Per observation: the candidate the untrained model likes least as chosen, the one
    it likes most as rejected (what DPO must turn round)."""
    pairs = []
    for k, obs in enumerate(observations):
        d = policy.decide([obs])[0]
        p = np.asarray(d.probs)
        pairs.append(
            {
                "prompt": render_user(obs),
                "chosen": render_action(obs.candidates[int(p.argmin())]),
                "rejected": render_action(obs.candidates[int(p.argmax())]),
                "seed": 0,
                "step": k,
                "agent_id": obs.agent_id,
            }
        )
    return pairs


def _margins(policy, observations, pairs):
    out = []
    for obs, pair in zip(observations, pairs, strict=True):
        p = np.asarray(policy.decide([obs])[0].probs)
        texts = [render_action(c) for c in obs.candidates]
        out.append(
            np.log(p[texts.index(pair["chosen"])]) - np.log(p[texts.index(pair["rejected"])])
        )
    return np.array(out)


def _cfg(**over):
    base = {
        "beta": 0.5,
        "training": {
            "epochs": 6,
            "batch_size": 4,
            "learning_rate": 1e-2,
            "warmup_steps": 0,
            "logging_steps": 2,
        },
        "lora": {"rank": 8, "alpha": 16, "dropout": 0.0},
        "evaluation": {"eval_steps": 4, "save_steps": 4},
        "eval_fraction": 0.0,
        "device": "cpu",
    }
    base.update(over)
    return DPO.model_validate(base)


def test_the_pairs_tokens_are_the_policy_s_own(tiny_base):
    """What DPO ranks is what the lm: policy scores: the same prompt tokens (system and
    user turns through the chat template) and the same answer tokens (end of turn
    included)."""
    from transformers import AutoTokenizer
    from trl.trainer.dpo_trainer import _tokenize

    from swarm.interface.chat_format import load_chat_format
    from swarm.policies.lm import LMPolicy, prompt_ids

    base, _ = tiny_base
    policy = LMPolicy.from_pretrained(base, device="cpu")
    tok = AutoTokenizer.from_pretrained(str(base))
    for obs in _observations(3):
        pair = {"prompt": render_user(obs), "chosen": render_action(obs.candidates[1])}
        msg = pair_messages({**pair, "rejected": pair["chosen"]}, load_chat_format(base))
        prompt = _tokenize(tok, msg["prompt"], add_generation_prompt=True)["input_ids"]
        whole = _tokenize(tok, msg["prompt"] + msg["chosen"])["input_ids"]
        assert prompt == policy.lm.prefix_ids + prompt_ids(policy.lm, obs)
        assert whole[: len(prompt)] == prompt
        assert whole[len(prompt) :] == policy.text_ids(pair["chosen"])


@pytest.mark.parametrize("sft_weight", [0.0, 1.0])
def test_dpo_turns_the_student_towards_the_chosen_answers(
    tmp_path, tiny_base, sft_weight, capfd, monkeypatch
):
    """With or without TRL's sft loss on the chosen answers beside the preference loss;
    without ``progress`` nothing is printed (TRL's reference pass included)."""
    from swarm.policies.lm import LMPolicy

    monkeypatch.delenv("TQDM_DISABLE", raising=False)

    base, _ = tiny_base
    before = LMPolicy.from_pretrained(base, device="cpu")
    obs = _observations(8)
    pairs = _pairs(before, obs)
    report = dpo_train(pairs, base, tmp_path / "dpo", _cfg(sft_weight=sft_weight), seed=1)
    assert ("sft" in report["method"]) == bool(sft_weight)
    after = LMPolicy.from_pretrained(report["output"], device="cpu")
    gain = _margins(after, obs, pairs) - _margins(before, obs, pairs)
    assert (gain > 0).mean() >= 0.75 and gain.mean() > 0.5, gain
    log = [json.loads(x) for x in (tmp_path / "dpo" / "metrics.jsonl").read_text().splitlines()]
    assert any("loss" in r for r in log) and all("step" in r for r in log)
    assert report["steps"] == 12 and report["train_pairs"] == 8 and report["resumed_from"] is None
    assert json.loads((tmp_path / "dpo" / "training_report.json").read_text()) == report
    assert not list((tmp_path / "dpo").glob("checkpoint-*"))  # a finished run needs none
    printed = capfd.readouterr()
    assert "log probs" not in printed.err + printed.out and "TQDM_DISABLE" not in os.environ


def test_pairs_split_by_decision():
    pairs = [
        {"seed": 0, "step": s, "agent_id": a, "k": k}
        for s in range(10)
        for a in range(2)
        for k in range(3)
    ]
    train, evals = split_pairs(pairs, 0.2, seed=0)
    assert len(train) + len(evals) == len(pairs) and len(evals) == 4 * 3
    key = lambda p: (p["seed"], p["step"], p["agent_id"])  # noqa: E731
    assert not {key(p) for p in train} & {key(p) for p in evals}
    assert split_pairs(pairs, 0.2, seed=0) == (train, evals)


def test_no_pairs_or_a_bad_pair_is_one_error(tmp_path, tiny_base):
    base, _ = tiny_base
    with pytest.raises(ConfigError, match="no preference pairs"):
        dpo_train([], base, tmp_path / "x", _cfg())
    with pytest.raises(ConfigError, match=r"pairs:1: no 'rejected'"):
        dpo_train(
            [{"prompt": "p", "chosen": "wait", "seed": 0, "step": 0, "agent_id": 0}],
            base,
            tmp_path / "x",
            _cfg(),
        )
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_a_run_killed_and_resumed_ends_where_an_uninterrupted_run_ends(tmp_path, tiny_base):
    from safetensors.torch import load_file

    from swarm.policies.lm import LMPolicy

    base, _ = tiny_base
    obs = _observations(8)
    pairs = _pairs(LMPolicy.from_pretrained(base, device="cpu"), obs)
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    cfg = _cfg(eval_fraction=0.25)
    (tmp_path / "cfg.json").write_text(cfg.model_dump_json())
    whole = dpo_train(pairs, base, tmp_path / "whole", cfg, seed=1)

    script = (
        "import json, sys; from training.improve.config import DPO; "
        "from training.improve.dpo import dpo_train; "
        f"d = {str(tmp_path)!r}; "
        "dpo_train(json.load(open(d + '/pairs.json')), sys.argv[1], d + '/cut', "
        "DPO.model_validate_json(open(d + '/cfg.json').read()), seed=1)"
    )
    cmd = [sys.executable, "-c", script, str(base)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    run = tmp_path / "cut"
    deadline = time.time() + 300
    while not (run / "checkpoint-4" / "trainer_state.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # the checkpoint's last files
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "training_report.json").exists()

    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((run / "training_report.json").read_text())
    assert report["resumed_from"] is not None and report["steps"] == whole["steps"]
    a = load_file(str(tmp_path / "whole" / "student" / "model.safetensors"))
    b = load_file(str(run / "student" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert (a[k] - b[k]).abs().max() < 1e-6, k
