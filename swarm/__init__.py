"""The swarm: a Mesa model of agents with souls coordinating through traces.

``import swarm`` is light: torch and transformers load only inside the language-model
policy, and nothing of :mod:`training` is imported. Main entry points:
:class:`swarm.SwarmModel` (its parameters: :class:`swarm.ModelParams`),
:func:`swarm.rollout` (the step loop, with recorders), :class:`swarm.TraceGrid`.

The package, by layer (imports point down; ``make test`` checks it with import-linter):

* ``cli/``: the ``swarm`` command (other packages add commands through entry points);
* ``apps/``: the dashboard and the HTML report;
* ``experiments/``: the rollout, runs of configs, sweeps, benchmarks, agreement;
* ``analysis/``: emergence estimators and report, summaries with intervals, plots;
* ``model.py``, ``mechanics.py``, ``observe.py``, ``metrics.py``, ``agents.py``: the model;
* ``config.py``, ``params.py``: run configs and the model's parameters;
* ``policies/``: the expert, random, the language-model policy, traffic splits;
* ``interface/``: what agents see and answer (observations, decisions, the text format,
  the constitution);
* ``world/``: the world's rules (tasks, actions, traces, voting);
* ``io.py``, ``progress.py``: atomic writes and progress bars.
"""

from swarm.experiments.rollout import Recorder, rollout
from swarm.metrics import StepRecord
from swarm.model import SwarmModel
from swarm.params import DEFAULT_DOMAINS, ModelParams
from swarm.world.traces import ChannelSpec, TraceGrid

__all__ = [
    "DEFAULT_DOMAINS",
    "ChannelSpec",
    "ModelParams",
    "Recorder",
    "StepRecord",
    "SwarmModel",
    "TraceGrid",
    "rollout",
]
