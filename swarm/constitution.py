"""Kept so that `import swarm.constitution` works: the code lives in
`swarm.interface.constitution`."""

from swarm.interface.constitution import *  # noqa: F403
