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
