"""The swarm: a Mesa model of agents with souls coordinating through traces.

``import swarm`` is light: torch and transformers load only inside the language-model
policy. Main entry points: :class:`swarm.SwarmModel`, :class:`swarm.traces.TraceGrid`.
"""

from swarm.model import DEFAULT_DOMAINS, SwarmModel
from swarm.traces import ChannelSpec, TraceGrid

__all__ = ["DEFAULT_DOMAINS", "ChannelSpec", "SwarmModel", "TraceGrid"]
