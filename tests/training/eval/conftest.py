import pytest

SMALL = {
    "dataset": {
        "counts": {"coordination": 16, "handoff": 6, "conflict": 6, "constitutional": 6},
        "max_runs": 12,
        "n_agents": 16,
        "steps": 100,
        "per_run": 6,
    },
    "episodes": {"n_agents": 12, "steps": 80},
}


@pytest.fixture(scope="session")
def small_config():
    return SMALL


@pytest.fixture(scope="session")
def eval_dataset(tmp_path_factory):
    from training.eval.dataset import build_dataset

    out = tmp_path_factory.mktemp("evalset")
    build_dataset(out, SMALL)
    return out
