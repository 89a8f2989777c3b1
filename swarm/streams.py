"""Named random streams: every draw of a run, and which stream it comes from.

A run's randomness flows from its one seed through named streams spawned with
``numpy.random.SeedSequence(seed).spawn`` (common random numbers). A stream is consumed
only by the part of the model it names, so a change elsewhere (another policy, traces
off, another voting rule, learning off, an extra policy bound to the model) leaves every
other stream, and in particular the world's task stream, exactly as it was:

==============  =========================================================================
``world``       the hotspots, then every step's arrivals: how many, where, task type,
                stages or slots, domains, difficulty (hence work and deadline) and a
                synthesis' best approach. Nothing the agents do changes these draws.
``population``  the agents: start cells, home and second domains, their skills
``work``        the quality of finished work: one child per (task, stage), so the same
                stage of the same task done at the same skill has the same quality under
                every condition
``votes``       a synthesis' proposals and tie-breaks: one child per task
``order``       the activation order of each act phase (one permutation per step)
``explore``     the direction of each ``explore`` move: one uniform draw per agent per
                step, drawn whoever explores
``policies``    one child per policy bound to the model, in the order they are bound
                (:meth:`Streams.policy`)
==============  =========================================================================

Mesa's own ``model.random`` / ``model.rng`` are left to Mesa and to user code; the model
draws nothing from them.

>>> a, b = Streams(7), Streams(7)
>>> bool(a.world.random() == b.world.random())
True
>>> _ = b.policy()  # binding a policy draws from its own stream only
>>> bool(a.order.random() == b.order.random())
True
"""

from __future__ import annotations

import numpy as np

#: The streams, in the order they are spawned from the seed (do not reorder: the order
#: is part of what a seed means).
STREAMS: tuple[str, ...] = ("world", "population", "work", "votes", "order", "explore", "policies")


class Streams:
    """The named generators of one run (see the module docstring).

    ``seed`` is an int (used as ``SeedSequence(seed)``) or a ``SeedSequence``.
    """

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.root = root
        self._seqs = dict(zip(STREAMS, root.spawn(len(STREAMS)), strict=True))
        self.world = np.random.default_rng(self._seqs["world"])
        self.population = np.random.default_rng(self._seqs["population"])
        self.order = np.random.default_rng(self._seqs["order"])
        self.explore = np.random.default_rng(self._seqs["explore"])

    def keyed(self, stream: str, *key: int) -> np.random.Generator:
        """A generator of ``stream`` keyed by integers (``keyed("work", task_id, stage)``):
        the same key gives the same draws, whatever was drawn before."""
        seq = self._seqs[stream]
        child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, *key))
        return np.random.default_rng(child)

    def policy(self) -> np.random.Generator:
        """The next policy stream (the k-th policy bound gets the k-th child)."""
        return np.random.default_rng(self._seqs["policies"].spawn(1)[0])


def root_seed(seed: int | None, rng: object, fallback: np.random.Generator) -> int:
    """The integer a model's streams spawn from: ``seed`` or ``rng`` when it is an int,
    else one draw from ``fallback`` (Mesa's generator, itself from ``rng`` or OS entropy)."""
    for value in (seed, rng):
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            return int(value)
    return int(fallback.integers(2**63))
