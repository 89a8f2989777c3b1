"""Test-wide settings: offline Hugging Face, a headless matplotlib, and hypothesis profiles."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def cli(capsys):
    """Run the ``swarm`` CLI in-process: returns (exit code, stdout, stderr)."""
    from swarm.cli import main

    def run(*argv):
        with pytest.raises(SystemExit) as exit_:
            main(list(argv))
        out = capsys.readouterr()
        return exit_.value.code, out.out, out.err

    return run


# Built once per session: a small curated dataset and a tiny base model.


@pytest.fixture(scope="session")
def curated(tmp_path_factory):
    from training.data.pipeline import curate

    out = tmp_path_factory.mktemp("curated")
    curate(
        {
            "sources": [
                {"kind": "transcripts", "count": 40},
                {"kind": "checkpoints", "count": 240},
                {"kind": "constitutional", "count": 40},
                {"kind": "reasoning", "count": 30},
            ],
            "augment": {"count": 60},
            "simulation": {"n_agents": 12, "steps": 120, "first_seed": 900},
            "eval_fraction": 0.15,
            "seed": 5,
        },
        out,
    )
    return out


@pytest.fixture(scope="session")
def tiny_base(curated, tmp_path_factory):
    from training.base_model import build_base

    out = tmp_path_factory.mktemp("base")
    report = build_base(curated, out, preset_name="tiny", steps=4, seed=1)
    return out, report
