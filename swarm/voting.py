"""Kept so that `import swarm.voting` works: the code lives in `swarm.world.voting`."""

from swarm.world.voting import *  # noqa: F403
