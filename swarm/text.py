"""Kept so that `import swarm.text` works: the code lives in `swarm.interface.text`."""

from swarm.interface.text import *  # noqa: F403
