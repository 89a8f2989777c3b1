"""The CLI under mutated configs and data files, as a careless or hostile user would drive it.

For every command and input: the exit code is 0 or 2 (1 where the command says some work
failed and can be retried), never an uncaught exception; an exit 2 is one line on stderr;
a command's outputs are all there or none are; every input record is accounted for.

A bounded number of examples per property runs in ``make test``;
``HYPOTHESIS_PROFILE=thorough`` runs many more.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
FUZZ = settings(
    max_examples=300 if THOROUGH else 12,
    derandomize=not THOROUGH,  # make test: the same examples every run; thorough: new ones
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Small values, so that a mutated config that is valid still runs in well under a second.
VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 6)
    | st.floats(-2, 2)
    | st.sampled_from([float("nan"), float("inf"), -float("inf")])
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)

SMALL_MODEL = {"n_agents": 3, "width": 6, "height": 6}
#: name -> (a valid config, its command line, its outputs: all or none)
COMMANDS = {
    "run": (
        {"seed": 0, "steps": 3, "model": dict(SMALL_MODEL)},
        lambda cfg, out: ["run", "--config", cfg, "--out", out],
        ["model.parquet", "agents.parquet", "config.yaml", "summary.png"],
    ),
    "sweep": (
        {
            "model": {**SMALL_MODEL, "n_agents": [2, 3]},
            "seeds": 1,
            "steps": 3,
            "metrics": ["completed"],
        },  # fmt: skip
        lambda cfg, out: ["sweep", cfg, "--out", out],
        ["results.parquet"],
    ),
    "bench": (
        {"seeds": 1, "steps": 3, "model": {**SMALL_MODEL, "n_agents": 2}},
        lambda cfg, out: ["bench", "swarm-vs-single", "--config", cfg, "--out", out],
        ["table.md", "table.csv", "per_seed.csv"],
    ),
    "eval build": (
        {"dataset": {"counts": {"coordination": 2}, "max_runs": 2, "steps": 20, "n_agents": 4}},
        lambda cfg, out: ["eval", "build", "--out", out, "--config", cfg],
        ["scenarios.jsonl", "manifest.json"],
    ),
    "curate": (
        {
            "sources": [{"kind": "checkpoints", "count": 4}],
            "simulation": {"n_agents": 4, "steps": 20, "max_runs": 2},
        },  # fmt: skip
        lambda cfg, out: ["data", "curate", cfg, "--out", out],
        ["train.jsonl", "eval.jsonl", "rejects.jsonl", "stats.json", "datacard.md"],
    ),
}


def run_cli(*argv: str) -> tuple[int, str]:
    """The ``swarm`` CLI in process: (exit code, stderr). Anything but SystemExit fails."""
    from swarm.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(list(argv))
            code = 0
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
    return code, err.getvalue()


def check_outcome(code: int, err: str, out: Path, outputs: list[str], allowed=(0, 2)) -> None:
    assert code in allowed, (code, err)
    assert "Traceback" not in err
    if code == 2:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), err
    present = [n for n in outputs if (out / n).exists()]
    assert present in ([], outputs), f"partial outputs: {present}"
    if code == 0:
        assert present == outputs


def _paths(cfg, prefix=()):
    """Every key path of a nested config (dicts and lists)."""
    if isinstance(cfg, dict):
        for k, v in cfg.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(cfg, list):
        for i, v in enumerate(cfg):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated(draw, base):
    """``base`` with a few keys set to random values, deleted, or added; or not YAML."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=60) | st.text(max_size=60))
    cfg = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(cfg))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = cfg
        for k in path[:-1]:
            parent = parent[k]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=5))] = draw(VALUES)
        else:
            parent[path[-1]] = draw(VALUES)
    return cfg


def _write(path: Path, cfg) -> None:
    if isinstance(cfg, bytes):
        path.write_bytes(cfg)
    elif isinstance(cfg, str):
        path.write_text(cfg, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(cfg), encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_mutated_configs_exit_0_or_2_with_all_outputs_or_none(name):
    base, argv, outputs = COMMANDS[name]
    allowed = (0, 1, 2) if name == "sweep" else (0, 2)

    @FUZZ
    @given(cfg=mutated(base))
    def check(cfg):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            _write(tmp / "config.yaml", cfg)
            out = tmp / "out"
            code, err = run_cli(*argv(str(tmp / "config.yaml"), str(out)))
            check_outcome(code, err, out, outputs, allowed)

    check()


def _chat(first: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": first},
                         {"role": "assistant", "name": "a", "content": answer}]}  # fmt: skip


RECORD = st.one_of(
    st.builds(lambda a, b: json.dumps(_chat(a, b)), st.text(max_size=20), st.text(max_size=20)),
    st.builds(json.dumps, VALUES),
    st.text(max_size=40),
    st.just("[" * 5000),
    st.just('{"messages": [{"role": "user"'),  # a torn line
)


@FUZZ
@given(lines=st.lists(RECORD, min_size=1, max_size=8), fmt=st.sampled_from(["auto", "openai"]))
def test_mutated_transcripts_are_each_kept_or_rejected(lines, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "chats.jsonl"
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")
        config = tmp / "c.yaml"
        _write(config, {"sources": [{"kind": "transcripts", "path": str(data), "format": fmt}]})
        out = tmp / "out"
        code, err = run_cli("data", "curate", str(config), "--out", str(out))
        check_outcome(code, err, out, ["train.jsonl", "eval.jsonl", "rejects.jsonl", "stats.json"])
        if code == 0:
            stats = json.loads((out / "stats.json").read_text())
            for s in stats["sources"].values():
                assert s["records_read"] == s["records_kept"] + s["records_rejected"]
            records = sum(1 for ln in data.read_bytes().split(b"\n") if ln.strip())
            read = sum(s["records_read"] for s in stats["sources"].values())
            assert read in (records, 1)  # per line, or the file as one unreadable record


@FUZZ
@given(files=st.dictionaries(st.sampled_from(["a", "b", "c.x", "agent-1"]),
                             st.builds(json.dumps, VALUES) | st.binary(max_size=40),
                             max_size=3))  # fmt: skip
def test_a_soul_store_of_anything_lists_and_shows_in_one_line(files):
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp)
        for name, content in files.items():
            path = store / f"{name}.json"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        code, err = run_cli("soul", "list", "--store", str(store))
        check_outcome(code, err, store, [])
        for name in files:
            code, err = run_cli("soul", "show", name, "--store", str(store))
            check_outcome(code, err, store, [])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from training.data.pipeline import curate

    out = tmp_path_factory.mktemp("fuzz") / "ds"
    curate(
        {
            "sources": [{"kind": "checkpoints", "count": 20}],
            "simulation": {"n_agents": 6, "steps": 60, "max_runs": 2},
        },  # fmt: skip
        out,
    )
    return out


@FUZZ
@given(rows=st.lists(st.dictionaries(st.sampled_from(["id", "label", "note"]), VALUES), max_size=4))
def test_mutated_review_labels_change_the_dataset_only_when_they_are_valid(dataset, rows):
    with tempfile.TemporaryDirectory() as tmp:
        ds = Path(tmp) / "ds"
        import shutil

        shutil.copytree(dataset, ds)
        before = {p.name: p.read_bytes() for p in ds.iterdir() if p.is_file()}
        labels = Path(tmp) / "labels.jsonl"
        labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
        code, err = run_cli("data", "review-import", str(labels), "--dataset", str(ds))
        check_outcome(code, err, ds, [])
        if code == 2:
            assert {p.name: p.read_bytes() for p in ds.iterdir() if p.is_file()} == before
