"""Kept so that `import swarm.traces` works: the code lives in `swarm.world.traces`."""

from swarm.world.traces import *  # noqa: F403
