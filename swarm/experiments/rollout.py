"""The one step loop: :func:`rollout` runs a model and hands each step to its recorders.

Everything that runs a simulation goes through it: the runs of configs and sweeps, the
benchmarks, agreement, the curation's simulations, the evaluation's scenarios and
episodes, the demo. A recorder subscribes to the loop instead of writing its own.

A recorder is any object with either or both of

* ``decided(model, observations, decisions)``: after the policy decides, before the act
  phase (to ask another policy about the same states);
* ``stepped(model, record)``: after the step, with its :class:`swarm.metrics.StepRecord`
  (the observations, the decisions, takes, conflicts, stages passed on and taken up,
  tasks completed and failed, votes);

or a plain callable, used as ``stepped``.

>>> from swarm import SwarmModel, rollout
>>> ends = []
>>> model = rollout(SwarmModel(n_agents=5, rng=0), 30, [lambda m, r: ends.extend(r.ended)])
>>> model.steps
30
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from swarm.metrics import StepRecord


class Recorder(Protocol):
    """See the module docstring: ``decided`` and/or ``stepped`` (either may be left out)."""

    def decided(self, model: Any, observations: Any, decisions: Any) -> None: ...

    def stepped(self, model: Any, record: StepRecord) -> None: ...


def rollout(
    model: Any,
    steps: int,
    recorders: Iterable[Any] = (),
    *,
    progress: Callable[[], None] | None = None,
) -> Any:
    """Step ``model`` ``steps`` times, calling each recorder's hooks; return the model.

    ``progress`` (optional) is called after every step (e.g. a progress bar's advance).
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    decided, stepped = [], []
    for r in recorders:
        if hasattr(r, "decided"):
            decided.append(r.decided)
        if hasattr(r, "stepped"):
            stepped.append(r.stepped)
        elif not hasattr(r, "decided"):
            if not callable(r):
                raise TypeError(f"recorder {r!r} has neither decided() nor stepped()")
            stepped.append(r)  # a plain callable
    model.on_decisions.extend(decided)
    try:
        for _ in range(steps):
            model.step()
            for hook in stepped:
                hook(model, model.last_record)
            if progress is not None:
                progress()
    finally:
        for hook in decided:
            model.on_decisions.remove(hook)
    return model
