"""One browser tab's run: the model, the parameters it was built from, the selected agent
and what has been computed on it (no Solara here, so it is tested without a server).

Each page (:mod:`swarm.apps.dashboard`) holds one :class:`Session`; its controls are
:data:`CONTROLS`, each with the unit its value is shown in."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import pandas as pd

from swarm.config import ConfigError, RunConfig, validate
from swarm.model import SwarmModel


@dataclass(frozen=True)
class Control:
    """A slider or a choice on the page: the ``ModelParams`` key (or ``seed``), its label,
    its unit and range."""

    key: str
    label: str
    unit: str
    kind: str  # "int", "float" or "choice"
    min: float = 0
    max: float = 1
    step: float = 1

    def shown(self, value: Any) -> str:
        """The value as the page writes it beside the control: ``0.80 tasks / step``."""
        text = f"{value:.2f}" if self.kind == "float" else str(value)
        return f"{text} {self.unit}".strip()


CONTROLS: tuple[Control, ...] = (
    Control("n_agents", "agents", "agents", "int", 1, 100, 1),
    Control("size", "world size", "cells a side", "int", 5, 100, 1),
    Control("task_rate", "task rate", "tasks / step", "float", 0.0, 5.0, 0.05),
    Control("decay", "decay", "of the trace lost / step", "float", 0.0, 1.0, 0.01),
    Control("diffusion", "diffusion", "shared with the 8 neighbours / step", "float", 0, 1, 0.01),
    Control("voting", "voting rule", "", "choice"),
    Control("policy", "policy", "", "choice"),
    Control("seed", "seed", "", "int", 0, 10_000, 1),
)


def control(key: str) -> Control:
    return next(c for c in CONTROLS if c.key == key)


class Session:
    """A run on the page: ``model`` built from ``config`` (a :class:`RunConfig`, the
    page's controls applied to the config it was started with)."""

    def __init__(self, config: RunConfig | None = None) -> None:
        self.config = config or RunConfig()
        self.selected: int | None = None
        self._stamps: deque[float] = deque(maxlen=30)
        #: Held by every step, reset and read of the run (the play loop, renders, the
        #: export and the background tests run in different threads).
        self.lock = threading.RLock()
        self.model = self._build(self.config)
        self.channel: str = self.model.channel_names[0]  # the trace channel shown and tuned

    # Parameters ---------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The controls' current values (``decay`` and ``diffusion``: the shown channel's)."""
        m = self.config.model
        spec = self.model.traces.specs[self.channel]
        return {
            "n_agents": m.n_agents,
            "size": m.width,
            "task_rate": round(m.rate, 2),
            "decay": spec.decay,
            "diffusion": spec.diffusion,
            "voting": m.voting,
            "policy": m.policy if isinstance(m.policy, str) else "openai",
            "seed": self.config.seed,
        }

    def with_values(self, **changes: Any) -> RunConfig:
        """The config with ``changes`` (control keys) applied; a bad value is a
        :class:`ConfigError` naming the control, and nothing changes."""
        unknown = sorted(set(changes) - {c.key for c in CONTROLS})
        if unknown:
            raise ConfigError(f"dashboard: no control {unknown[0]!r}")
        data = self.config.model_dump(mode="python")
        for key, value in changes.items():
            if key == "seed":
                data["seed"] = value
            elif key == "size":
                data["model"].update(size=None, width=value, height=value)
            elif key in ("decay", "diffusion"):  # the shown channel's, the others as they are
                specs = {k: v.model_dump() for k, v in self.model.traces.specs.items()}
                specs[self.channel][key] = value
                data["model"].update(channels=specs, trace_decay=None, trace_diffusion=None)
            else:
                data["model"][key] = value
        return validate(RunConfig, data, "dashboard")

    def reset(self, **changes: Any) -> None:
        """Rebuild the model at step 0 from the current values with ``changes`` applied
        (validated first: a bad value raises and the run goes on untouched)."""
        with self.lock:
            config = self.with_values(**changes)
            model = self._build(config)
            self.config, self.model = config, model
            self._stamps.clear()
        if self.selected not in model.index_of:
            self.selected = None
        if self.channel not in model.channel_names:
            self.channel = model.channel_names[0]

    @staticmethod
    def _build(config: RunConfig) -> SwarmModel:
        # a language-model policy is loaded once per path (swarm.policies.lm.load_model)
        return SwarmModel(**config.model.kwargs(), rng=config.seed)

    # Running ------------------------------------------------------------------------------

    def step(self) -> None:
        with self.lock:
            self.model.step()
            self._stamps.append(time.perf_counter())

    def restart_rate(self) -> None:
        """Forget the step times (play starts again: a pause is not a slow step)."""
        self._stamps.clear()

    def snapshot(self) -> tuple[int, RunConfig, dict[str, pd.DataFrame]]:
        """The run so far, consistent (taken under the lock): steps, what ``swarm run``
        needs to reproduce it, and its frames (``model``, ``agents``, ``decisions``,
        ``work``), for work done outside the lock."""
        from swarm.analysis.emergence_report import run_frames

        with self.lock:
            return self.model.steps, self.run_config(), run_frames(self.model)

    def steps_per_second(self) -> float | None:
        """The rate of the last steps (up to 30), or None before two."""
        if len(self._stamps) < 2:
            return None
        span = self._stamps[-1] - self._stamps[0]
        return (len(self._stamps) - 1) / span if span > 0 else None

    def run_config(self) -> RunConfig:
        """What ``swarm run`` would need to reproduce this run: the config with ``steps``
        the steps run so far (at least 1: the export waits for the first step)."""
        return self.config.model_copy(update={"steps": max(1, self.model.steps)})

    def select(self, agent_id: int | None) -> None:
        """Select an agent by ``unique_id`` (None or an unknown id: none)."""
        self.selected = agent_id if agent_id in self.model.index_of else None
