"""Kept so that `import swarm.emergence` works: the code lives in
`swarm.analysis.emergence`,
`swarm.analysis.emergence_report`."""

from swarm.analysis.emergence import *  # noqa: F403
from swarm.analysis.emergence_report import *  # noqa: F403
