"""Parameter sweeps: a grid of model parameters × seeds, run locally or on Ray, resumable.

A sweep config (YAML or a dict) has four keys:

* ``model``: :class:`swarm.SwarmModel` keyword arguments; a list value expands to a
  cartesian product (for ``domains``, a list of lists does);
* ``seeds``: a count (seeds ``0 .. n-1``) or a list of seeds;
* ``steps``: steps per run;
* ``metrics``: model reporter names whose final values go into the results table;

plus, optionally, ``ray: {address: ...}`` for an existing Ray cluster, an ``emergence:``
block (``window``, ``n_surrogates``, ``measures``, ``pairs``: every run's emergence report
against its nulls, summarised into ``em_*`` columns of its row and paired like the
metrics; ``OUT/emergence.csv`` has, per grid point and condition, the share of runs in
which each indicator beat its null), and a ``compare:`` block for paired comparisons::

    compare:
      reference: swarm                 # the condition every other is paired with
      conditions:                      # name: changes to every grid point's parameters
        swarm: {}
        no-traces: {stigmergy: false}
      primary: completed               # optional: the primary metric (one of metrics)

With ``compare``, every grid point runs once per condition and seed (the results get a
``condition`` column); each condition is paired with the reference at the same grid
point and seed, and ``OUT/paired.csv`` / ``OUT/paired.md`` hold the paired table
(:func:`swarm.analysis.paired.paired_table`: one row per grid point, condition and
metric, the grid's varying parameters first; Holm's adjustment across the whole table).
A seed fixes the world (:mod:`swarm.streams`), so conditions that do not change the
world see the same tasks.

Every run has an id derived from its parameters, seed, steps and the engine's version
(:data:`swarm.model.ENGINE_VERSION`). As each run finishes, its
per-step frame goes to ``OUT/runs/<run_id>.parquet`` and its row (parameters, seed,
metrics, status) to ``OUT/runs/<run_id>.json``; ``OUT/results.parquet`` gathers the rows in
the config's order at the end. Running the same sweep again skips finished runs, so an
interrupted sweep resumes where it stopped. A run that raises is recorded with its error
(``status == "error"``), the others go on, and the next invocation tries it again.

>>> df = run_sweep({"model": {"n_agents": [5, 10], "width": 10, "height": 10},
...                 "seeds": 2, "steps": 20, "metrics": ["completed"]}, "runs/doc-sweep")
>>> len(df)
4
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from soul.files import exclusive
from swarm.config import ConfigError, load_yaml, validate
from swarm.experiments.rollout import rollout
from swarm.experiments.runs import souls_held
from swarm.io import atomic_write_text, write_parquet
from swarm.metrics import MODEL_REPORTERS, final_metrics, is_metric, model_frame
from swarm.model import ENGINE_VERSION, SwarmModel
from swarm.params import ModelParams
from swarm.progress import Bars

Executor = Literal["local", "ray"]
#: The most runs one sweep may have (its grid times its seeds), checked before expanding.
MAX_RUNS = 100_000


class RaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str | None = None  # an existing cluster; default: RAY_ADDRESS, else local


class CompareSettings(BaseModel):
    """The ``compare:`` block of a sweep (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    reference: str
    conditions: dict[str, dict[str, Any]] = Field(min_length=2)
    primary: str | None = None

    @model_validator(mode="after")
    def _reference_is_a_condition(self) -> CompareSettings:
        if self.reference not in self.conditions:
            known = ", ".join(self.conditions)
            raise ValueError(f"reference {self.reference!r} is not a condition ({known})")
        return self


class EmergenceSettings(BaseModel):
    """The ``emergence:`` block of a sweep: each run's
    :func:`swarm.analysis.emergence_report.emergence_report`, summarised into its row
    (:func:`swarm.analysis.emergence_report.emergence_summary`: ``em_*`` columns)."""

    model_config = ConfigDict(extra="forbid")

    window: int = Field(50, ge=1)
    n_surrogates: int = Field(100, ge=1)
    measures: list[Literal["psi", "delta", "gamma"]] = Field(default_factory=lambda: ["psi"])
    pairs: list[Literal["holding", "hotspot", "domains"]] = Field(
        default_factory=lambda: ["holding", "hotspot", "domains"]
    )


class SweepConfig(BaseModel):
    """A validated sweep config (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    model: dict[str, Any] = Field(default_factory=dict)
    seeds: int | list[int] = Field(3)
    steps: int = Field(200, ge=1)
    metrics: list[str] = Field(
        default_factory=lambda: ["completed", "completion_rate", "conflict_rate"]
    )
    ray: RaySettings = Field(default_factory=RaySettings)
    compare: CompareSettings | None = None
    emergence: EmergenceSettings | None = None

    @model_validator(mode="after")
    def _emergence_has_agent_rows(self) -> SweepConfig:
        every = self.model.get("agent_report_every", 1)
        if self.emergence is not None and (every == 0 or every == [0]):
            raise ValueError(
                "emergence needs the agents' rows (its micro variables): remove "
                "model.agent_report_every: 0 or set it to 1"
            )
        return self

    @model_validator(mode="after")
    def _compare_fits(self) -> SweepConfig:
        if self.compare is None:
            return self
        if self.compare.primary is not None and self.compare.primary not in self.metrics:
            raise ValueError(
                f"compare.primary {self.compare.primary!r} is not one of the metrics {self.metrics}"
            )
        for name, change in self.compare.conditions.items():
            varied = sorted(set(change) & set(self.axes()))
            if varied:
                raise ValueError(
                    f"compare.conditions.{name} sets model.{varied[0]}, which the grid varies "
                    "(a condition must not change a grid parameter)"
                )
        return self

    def axes(self) -> list[str]:
        """The model parameters the grid varies (list values), in the config's order."""
        return [k for k, v in self.model.items() if _expands(k, v)]

    def conditions(self) -> dict[str, dict[str, Any]]:
        """Each condition's changes to a grid point (one unnamed condition without
        ``compare``)."""
        return {"": {}} if self.compare is None else self.compare.conditions

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, int) and v < 1:
            raise ValueError("seeds must be a positive count or a list of seeds")
        if isinstance(v, int) and v > MAX_RUNS:
            raise ValueError(f"{v} seeds is more than a sweep may run ({MAX_RUNS:,})")
        if isinstance(v, list) and (not v or len(set(v)) != len(v)):
            raise ValueError("the list of seeds must be non-empty and without repeats")
        return v

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, v: list[str]) -> list[str]:
        for name in v:
            if not is_metric(name):
                known = ", ".join(MODEL_REPORTERS)
                raise ValueError(f"unknown metric {name!r} (model reporters: {known})")
        return v

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


@dataclass(frozen=True)
class RunSpec:
    """One run: model parameters, a seed, a number of steps, the metrics to keep, and
    labels (extra columns for the results, e.g. a benchmark's condition)."""

    params: Mapping[str, Any]
    seed: int
    steps: int
    metrics: tuple[str, ...]
    labels: Mapping[str, Any] = field(default_factory=dict)
    emergence: Mapping[str, Any] | None = None  # emergence_report's settings, if any

    @property
    def run_id(self) -> str:
        """A hash of the parameters, seed, steps, :data:`swarm.model.ENGINE_VERSION`
        (runs stored by another engine are not this run) and the emergence settings."""
        key: dict[str, Any] = {
            "model": dict(self.params),
            "seed": self.seed,
            "steps": self.steps,
            "engine": ENGINE_VERSION,
        }
        if self.emergence is not None:
            key["emergence"] = dict(self.emergence)
        key = json.dumps(key, sort_keys=True, default=str)
        return hashlib.sha1(key.encode()).hexdigest()[:16]


def _expands(key: str, value: Any) -> bool:
    if key == "domains":
        return isinstance(value, list) and bool(value) and all(isinstance(v, list) for v in value)
    return isinstance(value, list)


def grid(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cartesian product of the list-valued parameters (in the config's key order)."""
    keys = list(model)
    axes = [model[k] if _expands(k, model[k]) else [model[k]] for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes)]


def load_sweep(config: str | Path | Mapping[str, Any]) -> SweepConfig:
    """A sweep config from a YAML path or a dict; errors name the file and the key."""
    source = str(config) if isinstance(config, str | Path) else "sweep config"
    data = load_yaml(config) if isinstance(config, str | Path) else config
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    return validate(SweepConfig, dict(data), source)


def size(cfg: SweepConfig) -> int:
    """How many runs the sweep has (computed without expanding the grid)."""
    axes = [len(v) for k, v in cfg.model.items() if _expands(k, v)]
    seeds = len(cfg.seeds if isinstance(cfg.seeds, list) else range(cfg.seeds))
    return math.prod(axes) * len(cfg.conditions()) * seeds


def expand(cfg: SweepConfig, source: str = "sweep config") -> list[RunSpec]:
    """Every (parameter combination × seed) run of a sweep, each parameter set checked
    against :class:`swarm.config.ModelParams`. A sweep of more than :data:`MAX_RUNS` runs
    is refused before its grid is built."""
    n = size(cfg)
    if n > MAX_RUNS:
        raise ConfigError(f"{source}: the sweep has {n:,} runs, more than {MAX_RUNS:,}")
    if n == 0:
        empty = next(k for k, v in cfg.model.items() if _expands(k, v) and not v)
        raise ConfigError(f"{source}: model.{empty} is an empty list: the sweep has no runs")
    specs = []
    for point in grid(cfg.model):
        for name, change in cfg.conditions().items():
            params = point | change
            where = f"compare.conditions.{name}" if change else "model"
            validate(ModelParams, params, source, prefix=where)
            labels = {"condition": name} if cfg.compare is not None else {}
            em = None if cfg.emergence is None else cfg.emergence.model_dump()
            for seed in cfg.seed_list():
                specs.append(RunSpec(params, seed, cfg.steps, tuple(cfg.metrics), labels, em))
    return specs


def emergence_columns(results: pd.DataFrame) -> list[str]:
    """The ``em_*`` value columns of a results table (not their ``_p`` / ``_detected``)."""
    return [
        c
        for c in results.columns
        if c.startswith("em_") and not c.endswith(("_p", "_detected", "_null"))
    ]


def sweep_paired(results: pd.DataFrame, cfg: SweepConfig) -> pd.DataFrame:
    """The paired table of a sweep with a ``compare`` block: per grid point (the varying
    parameters' columns first), every condition against the reference, seed by seed."""
    from swarm.analysis.paired import holm, paired_table

    if cfg.compare is None:
        raise ValueError("the sweep has no compare block")
    ok = results[results["status"] == "ok"]
    axes = cfg.axes()
    cells = ok.groupby(axes, sort=False, dropna=False) if axes else [((), ok)]
    tables = []
    for key, rows in cells:
        if cfg.compare.reference not in set(rows["condition"]):
            continue  # every reference run of this grid point failed
        table = paired_table(
            rows,
            [*cfg.metrics, *emergence_columns(rows)],
            reference=cfg.compare.reference,
            primary=cfg.compare.primary,
            adjust=False,
        )
        values = key if isinstance(key, tuple) else (key,)
        for axis, value in zip(axes, values, strict=True):
            table.insert(axes.index(axis), axis, value)
        tables.append(table)
    if not tables:
        raise ConfigError("no grid point has a finished run of the reference condition")
    return holm(pd.concat(tables, ignore_index=True))


# Running one ---------------------------------------------------------------------------


def run_one(spec: RunSpec) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Run one spec; return its results row and its per-step frame (None on error).
    Exceptions are caught and recorded, so one bad run never stops a sweep."""
    row: dict[str, Any] = {"run_id": spec.run_id, **spec.labels, **_flat(spec.params)}
    row["seed"] = spec.seed
    row["steps"] = spec.steps
    start = time.perf_counter()
    try:
        params = ModelParams.model_validate(spec.params)
        with souls_held(params.souls, wait=True):  # runs sharing a store take turns
            model = rollout(SwarmModel(params, rng=spec.seed), spec.steps)
            model.save_souls()
        frame = model_frame(model)
        row |= final_metrics(frame, spec.metrics)
        if spec.emergence is not None:
            from swarm.analysis.emergence_report import emergence_report, emergence_summary

            em = dict(spec.emergence)
            kw = {"pairs": tuple(em.pop("pairs")), "measures": tuple(em.pop("measures"))}
            row |= emergence_summary(emergence_report(model, rng=spec.seed, **em, **kw))
        row["status"], row["error"] = "ok", None
    except Exception as exc:  # recorded, not raised: the sweep goes on
        frame = None
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc()
    row["wall_s"] = round(time.perf_counter() - start, 3)
    return row, frame


def _flat(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as table columns: lists and dicts become JSON text."""
    return {
        k: json.dumps(v, sort_keys=True) if isinstance(v, list | dict) else v
        for k, v in params.items()
    }


# Running many --------------------------------------------------------------------------


class RunStore:
    """The ``runs/`` folder of a sweep: one parquet frame and one JSON row per run."""

    def __init__(self, out: str | Path) -> None:
        self.dir = Path(out) / "runs"
        self.dir.mkdir(parents=True, exist_ok=True)

    def row_path(self, run_id: str) -> Path:
        return self.dir / f"{run_id}.json"

    def frame_path(self, run_id: str) -> Path:
        return self.dir / f"{run_id}.parquet"

    def finished(self, spec: RunSpec) -> bool:
        """The run is done and its row has every metric ``spec`` asks for; a row written
        for other metrics gets them from the run's saved frame (no rerun needed)."""
        row = self.read(spec.run_id)
        if row is None or row.get("status") != "ok":
            return False
        missing = [m for m in spec.metrics if m not in row]
        if not missing:
            return True
        frame = self.frame_path(spec.run_id)
        try:
            values = final_metrics(pd.read_parquet(frame), missing)
        except (OSError, KeyError, ValueError):
            return False  # no usable frame: run it again
        atomic_write_text(self.row_path(spec.run_id), json.dumps(row | values))
        return True

    def read(self, run_id: str) -> dict[str, Any] | None:
        path = self.row_path(run_id)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None  # a torn write: the run is done again

    def write(self, row: dict[str, Any], frame: pd.DataFrame | None) -> None:
        if frame is not None:
            write_parquet(frame, self.frame_path(row["run_id"]))
        atomic_write_text(self.row_path(row["run_id"]), json.dumps(row))


def _local(specs: Sequence[RunSpec], workers: int) -> Iterator[tuple[dict, pd.DataFrame | None]]:
    if workers <= 1:
        for spec in specs:
            yield run_one(spec)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Spawned workers (as Mesa's batch_run uses): safe on every platform and with threads;
    # scripts that sweep in parallel need the usual ``if __name__ == "__main__":`` guard.
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(run_one, spec) for spec in specs]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _host(address: str) -> str:
    """The host of a Ray address (``HOST:PORT``, ``ray://HOST:PORT``, ``[::1]:PORT``)."""
    hostport = address.split("://", 1)[-1]
    host = hostport.rsplit(":", 1)[0] if ":" in hostport else hostport
    return host.strip("[]")


def _reachable(address: str, timeout_s: float = 3.0) -> None:
    """A ConfigError unless something accepts connections at the Ray address."""
    import socket

    hostport = address.split("://", 1)[-1]
    if address == "auto" or ":" not in hostport:
        return
    port = hostport.rsplit(":", 1)[1]
    try:
        with socket.create_connection((_host(address), int(port)), timeout=timeout_s):
            return
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "timeout"
        raise ConfigError(f"cannot connect to the Ray cluster at {address} ({why})") from None


def _ray(
    specs: Sequence[RunSpec], workers: int | None, address: str | None
) -> Iterator[tuple[dict, pd.DataFrame | None]]:
    address = address or os.environ.get("RAY_ADDRESS")
    loopback = bool(address) and _host(address) in ("127.0.0.1", "localhost", "::1")
    if loopback:
        # Ray turns 127.0.0.1 into the machine's network address (so that other machines
        # could join); a cluster on loopback must stay there. Read when Ray is imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'swarm-soul[ray]'") from None
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address:
            if loopback:
                kwargs["_node_ip_address"] = "127.0.0.1"
            try:
                ray.init(address=address, **kwargs)
            except Exception as exc:  # unreachable, refused, not a Ray head, ...
                first = (str(exc).strip().splitlines() or [""])[0][:160]
                raise ConfigError(
                    f"cannot connect to the Ray cluster at {address} ({type(exc).__name__}: "
                    f"{first})"
                ) from None
        else:
            ray.init(num_cpus=workers, **kwargs)
    remote = ray.remote(run_one)
    pending = [remote.remote(spec) for spec in specs]
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            ray.cancel(ref)


def execute(
    specs: Sequence[RunSpec],
    out: str | Path,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    progress: bool = False,
    ray_address: str | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
) -> pd.DataFrame:
    """Run the unfinished specs (skipping those already in ``OUT/runs``) and return one
    row per spec, in the order given, read back from ``OUT/runs``."""
    store = RunStore(out)
    ids = [s.run_id for s in specs]
    if len(set(ids)) != len(ids):
        raise ConfigError("the sweep has duplicate runs (same parameters and seed)")
    todo = [s for s in specs if not store.finished(s)]
    workers = workers or 1
    if executor == "local":
        stream: Iterable = _local(todo, workers)
    elif executor == "ray":
        if ray_address or os.environ.get("RAY_ADDRESS"):
            # Ray itself waits minutes for a head that is not there: check first, before
            # any progress bar (a sweep has checked before writing anything)
            _reachable(ray_address or os.environ["RAY_ADDRESS"])
        stream = _ray(todo, workers if workers > 1 else None, ray_address)
    else:
        raise ConfigError(f"--executor must be 'local' or 'ray', got {executor!r}")
    with Bars(progress) as bars:
        advance = bars.add("runs", len(specs), done=len(specs) - len(todo))
        for row, frame in stream:
            store.write(row, frame)
            if on_row is not None:
                on_row(row)
            advance()
    rows = [store.read(i) for i in ids]
    # labels describe the spec (a condition's name), not the run: the spec's own win
    rows = [r | dict(s.labels) for r, s in zip(rows, specs, strict=True) if r is not None]
    return pd.DataFrame(rows).drop(columns=["wall_s", "traceback"], errors="ignore")


def run_sweep(
    config: str | Path | Mapping[str, Any],
    out: str | Path,
    *,
    executor: Executor = "local",
    workers: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Run (or resume) a sweep; write ``OUT/runs/*`` and ``OUT/results.parquet``; return
    the results (one row per run: ``run_id``, parameters, ``seed``, ``steps``, metrics,
    ``status``, ``error``)."""
    cfg = load_sweep(config)
    source = str(config) if isinstance(config, str | Path) else "sweep config"
    specs = expand(cfg, source)
    out = Path(out)
    address = cfg.ray.address or os.environ.get("RAY_ADDRESS")
    if executor == "ray" and address:
        _reachable(address)  # before anything is written
    with exclusive(out, "the sweep directory"):  # two sweeps into one --out would mix rows
        atomic_write_text(out / "sweep.json", cfg.model_dump_json(indent=2))
        results = execute(
            specs,
            out,
            executor=executor,
            workers=workers,
            progress=progress,
            ray_address=cfg.ray.address,
        )
        write_parquet(results, out / "results.parquet")
        if cfg.emergence is not None:
            from swarm.analysis.emergence_report import sweep_detections

            by = [*cfg.axes(), *(["condition"] if cfg.compare is not None else [])]
            table = sweep_detections(results, by)
            atomic_write_text(out / "emergence.csv", table.to_csv(index=False))
        if cfg.compare is not None:
            from swarm.analysis.paired import paired_markdown

            paired = sweep_paired(results, cfg)
            atomic_write_text(out / "paired.csv", paired.to_csv(index=False))
            atomic_write_text(out / "paired.md", paired_markdown(paired, cells=cfg.axes()))
    return results
