import pytest

from swarm.config import ConfigError
from training.finetune.config import load_finetune

SPEC = """\
base_model: meta-llama/Llama-3.3-8B-Instruct
training: {epochs: 3, batch_size: 4, learning_rate: 2e-5, warmup_steps: 100}
lora: {enabled: true, rank: 16, alpha: 32, dropout: 0.05}
evaluation: {eval_steps: 100, save_steps: 500}
"""


def test_the_spec_yaml_loads_as_written(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    cfg = load_finetune(path)
    assert cfg.training.learning_rate == pytest.approx(2e-5)  # YAML reads "2e-5" as a string
    assert (cfg.training.epochs, cfg.training.batch_size, cfg.training.warmup_steps) == (3, 4, 100)
    assert (cfg.lora.rank, cfg.lora.alpha, cfg.lora.dropout) == (16, 32, 0.05)
    assert "down_proj" in cfg.lora.target_modules
    with pytest.raises(ConfigError, match="not a local directory"):
        cfg.base_dir()  # a hub id: there is no hub here


@pytest.mark.parametrize(
    "extra, message",
    [
        ("learning_rate: 0.1\n", "unknown key 'learning_rate'"),
        ("lora: {rnk: 3}\n", "unknown key 'lora.rnk'"),
        ("evaluation: {eval_steps: 100, save_steps: 250}\n", "multiple of eval_steps"),
        ("training: {batch_size: 0}\n", "training.batch_size"),
    ],
)
def test_bad_keys_are_one_line_errors(cli, tmp_path, extra, message):
    path = tmp_path / "bad.yaml"
    path.write_text("base_model: x\n" + extra)
    code, _, err = cli("train", "finetune", str(path))
    assert code == 2 and message in err and "Traceback" not in err


def test_a_hub_id_as_base_model_is_a_clear_error(cli, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    code, _, err = cli("train", "finetune", str(path))
    assert code == 2 and "is not a local directory" in err


@pytest.mark.parametrize("name", ["finetune.yaml", "finetune_cpu.yaml"])
def test_the_shipped_configs_load(name):
    from pathlib import Path

    cfg = load_finetune(Path(__file__).parents[3] / "experiments" / name)
    assert cfg.base_model == "runs/base" and cfg.lora.enabled


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"messages": [1, 2]}', ":1: messages: 0: Input should be a valid dictionary"),
        ('{"text": "hello"}', ":1: no 'messages'"),
        ("not json", ":1: not JSON"),
    ],
)
def test_malformed_training_records_are_one_line_errors(cli, tmp_path, tiny_base, line, message):
    data = tmp_path / "train.jsonl"
    data.write_text(line + "\n")
    path = tmp_path / "ft.yaml"
    path.write_text(
        f"base_model: {tiny_base[0]}\ndata: {{train: {data}, eval: {data}}}\n"
        f"output_dir: {tmp_path / 'out'}\n"
    )
    code, _, err = cli("train", "finetune", str(path))
    assert code == 2 and message in err and "Traceback" not in err
