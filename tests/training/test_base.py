import json

import pytest

from swarm.config import ConfigError


def test_base_model_loads_with_plain_transformers(tiny_base):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out, report = tiny_base
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.model_type == "llama"
    assert 1_000_000 < report["parameters"] < 5_000_000  # "a few million"
    assert report["final_loss"] < report["first_loss"]
    assert json.loads((out / "base_report.json").read_text())["steps"] == 4
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "Actions: wait | explore"}], add_generation_prompt=True
    )["input_ids"]
    import torch

    out_ids = model.generate(torch.tensor([ids]), max_new_tokens=3, do_sample=False)
    assert out_ids.shape[1] > len(ids)


def test_presets_are_llama_of_the_advertised_size(tiny_base):
    from transformers import AutoTokenizer

    from training.base_model import build_model

    tok = AutoTokenizer.from_pretrained(tiny_base[0])
    small = build_model("small", tok)
    n = sum(p.numel() for p in small.parameters())
    assert 10_000_000 < n < 100_000_000  # "tens of millions"
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        build_model("huge", tok)


def test_cli_base_reports_a_missing_dataset(cli, tmp_path):
    code, _, err = cli("train", "base", "--data", str(tmp_path / "nope"), "--out", str(tmp_path))
    assert code == 2 and "train.jsonl: no such file" in err
