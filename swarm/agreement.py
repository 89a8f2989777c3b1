"""Kept so that `import swarm.agreement` works: the code lives in `swarm.experiments.agreement`."""

from swarm.experiments.agreement import *  # noqa: F403
