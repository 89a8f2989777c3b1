"""Shared, built once per session: a small curated dataset and a tiny base model."""

import pytest


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
    from training.base import build_base

    out = tmp_path_factory.mktemp("base")
    report = build_base(curated, out, preset_name="tiny", steps=4, seed=1)
    return out, report
