"""Every common family's chat template: fine-tuning, the lm: policy and swarm serve render
prompts the same way under the chat block, and a template we cannot use is one line."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from swarm import SwarmModel
from swarm.config import ConfigError
from swarm.interface.chat_format import ChatFormat, load_chat_format
from swarm.interface.text import render_action, render_observation
from swarm.policies.lm import LMPolicy, check_model_dir
from tests.training.families import FAMILIES, build_family
from training.base_model import read_jsonl
from training.finetune.trainer import finetune

pytestmark = pytest.mark.timeout(600)

#: What each family needs: Mistral v0.3 and Gemma cannot take our system turn as given.
SYSTEM = {"llama3": "native", "qwen2.5": "native", "mistral-v0.3": "fold", "gemma": "fold"}


@pytest.fixture(scope="module")
def data(curated, tmp_path_factory):
    """A few decision examples (short observations first) as train and eval files."""
    rows = [r for r in read_jsonl(curated / "train.jsonl") if "action" in r["metadata"]]
    rows.sort(key=lambda r: len(r["messages"][1]["content"]))
    out = tmp_path_factory.mktemp("family-data")
    for name, part in (("train", rows[:6]), ("eval", rows[6:9])):
        (out / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in part))
    return out, rows[:40]


@pytest.fixture(scope="module")
def observations():
    model = SwarmModel(n_agents=6, width=8, height=8, rng=3)
    for _ in range(6):
        model.step()
    return model.observe()[:3]


def _config(base: Path, data: Path, out: Path, system: str) -> dict:
    return {
        "base_model": str(base),
        "data": {"train": str(data / "train.jsonl"), "eval": str(data / "eval.jsonl")},
        "output_dir": str(out),
        "training": {"max_steps": 2, "batch_size": 2, "warmup_steps": 0, "learning_rate": 1e-3},
        "lora": {"enabled": True, "rank": 4, "alpha": 8},
        "evaluation": {"eval_steps": 2, "save_steps": 2},
        "max_seq_length": 4096,
        "chat": {"system": system},
        "device": "cpu",
    }


def _reference_scores(policy, obs):
    """Each candidate scored the slow way: the template's own rendering of the answered
    conversation, one plain forward pass each."""
    import torch

    lm = policy.lm
    tok = lm.tokenizer
    msgs = lm.chat.messages(render_observation(obs))
    prompt = tok(
        tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False),
        add_special_tokens=False,
    )["input_ids"]
    scores = []
    for c in obs.candidates:
        answered = [*msgs, {"role": "assistant", "content": render_action(c)}]
        full = tok(tok.apply_chat_template(answered, tokenize=False), add_special_tokens=False)
        full = full["input_ids"]
        cand = policy.candidate_ids(c)
        assert full[: len(prompt)] == prompt
        assert full[len(prompt) : len(prompt) + len(cand)] == cand  # the template's answer
        with torch.no_grad():
            logp = torch.log_softmax(lm.model(torch.tensor([full])).logits[0].float(), -1)
        span = range(len(prompt), len(prompt) + len(cand))
        scores.append(float(np.mean([logp[t - 1, full[t]].item() for t in span])))
    return np.array(scores)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_each_family_fine_tunes_decides_and_serves_under_its_chat_block(
    family, data, observations, tmp_path
):
    files, examples = data
    base = build_family(family, examples, tmp_path / "base")
    system = SYSTEM[family]
    report = finetune(_config(base, files, tmp_path / "ft", system))
    assert report["steps"] == 2 and report["train_examples"] == 6
    assert report["train_sharing_prefix"] == 6  # the shared start found under the block
    adapter = Path(report["output"])
    assert load_chat_format(adapter).system == system  # saved beside the adapter
    check_model_dir(adapter)

    policy = LMPolicy.from_pretrained(adapter, device="cpu")
    assert policy.lm.chat.system == system
    decisions = policy.decide(observations)
    for obs, d in zip(observations, decisions, strict=True):
        ref = _reference_scores(policy, obs)
        want = np.exp(ref - ref.max())
        np.testing.assert_allclose(d.probs, want / want.sum(), atol=2e-4)

    pytest.importorskip("fastapi")
    import openai

    from swarm.apps.serve import make_app, running

    with running(make_app(adapter, device="cpu")) as url:
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
        obs = observations[0]
        resp = client.chat.completions.create(
            model="x",
            messages=render_observation(obs),
            extra_body={"guided_choice": [render_action(c) for c in obs.candidates]},
        )
        assert resp.choices[0].message.content == render_action(decisions[0].action)
        client.close()


@pytest.mark.parametrize(
    ("family", "why"),
    [("mistral-v0.3", "not prefix-stable"), ("gemma", "refuses our conversation")],
)
def test_a_template_we_cannot_use_as_given_is_one_line_naming_the_directory_and_the_fix(
    family, why, data, tmp_path, cli
):
    files, examples = data
    base = build_family(family, examples, tmp_path / "base")
    with pytest.raises(ConfigError) as exc:
        finetune(_config(base, files, tmp_path / "ft", "native"))
    msg = str(exc.value)
    assert "\n" not in msg and str(base) in msg and why in msg and "system: fold" in msg
    with pytest.raises(ValueError, match=re.escape(why)):
        LMPolicy.from_pretrained(base, device="cpu")
    code, out, err = cli("run", "--out", str(tmp_path / "r"), "--policy", f"lm:{base}")
    assert code == 2 and why in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    code, out, err = cli("serve", str(base))
    assert code == 2 and why in err and "Traceback" not in err
    # The fix the line names works: the saved block is read by the policy.
    (base / "chat_format.json").write_text('{"system": "fold"}')
    assert LMPolicy.from_pretrained(base, device="cpu").lm.chat == ChatFormat(system="fold")


def test_drop_leaves_the_system_turn_out_and_a_template_override_replaces_the_tokenizers(
    data, tmp_path
):
    from transformers import AutoTokenizer

    files, examples = data
    base = build_family("gemma", examples, tmp_path / "base")
    tok = AutoTokenizer.from_pretrained(str(base))
    dropped = ChatFormat(system="drop").messages(render_observation(_obs()))
    assert [m["role"] for m in dropped] == ["user"]
    assert "constitution" not in tok.apply_chat_template(dropped, tokenize=False).lower()
    # A template file replaces the tokenizer's: Gemma's turns, with a system role.
    (tmp_path / "system.jinja").write_text(
        "{{ bos_token }}{% for m in messages %}{{ '<start_of_turn>' + m['role'] + '\\n' + "
        "m['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<start_of_turn>assistant\\n' }}{% endif %}"
    )
    fmt = ChatFormat(template=str(tmp_path / "system.jinja"))
    report = finetune(_config(base, files, tmp_path / "ft", "native") | {"chat": fmt.model_dump()})
    saved = AutoTokenizer.from_pretrained(report["output"])
    assert "<start_of_turn>assistant" in saved.chat_template  # trained with it, saved with it
    policy = LMPolicy.from_pretrained(report["output"], device="cpu")
    assert policy.lm.tokenizer.decode([policy.lm.eot_id]) == "<end_of_turn>"
    assert policy.lm.prefix_text.count("<start_of_turn>system") == 1


def _obs():
    return SwarmModel(n_agents=2, width=6, height=6, rng=1).observe()[0]
