"""Kept so that `import swarm.sweep` works: the code lives in `swarm.experiments.sweep`."""

from swarm.experiments.sweep import *  # noqa: F403
