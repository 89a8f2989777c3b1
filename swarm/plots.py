"""Kept so that `import swarm.plots` works: the code lives in `swarm.analysis.plots`."""

from swarm.analysis.plots import *  # noqa: F403
