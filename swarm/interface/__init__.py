"""The agent interface: what an agent sees and what a policy answers
(:mod:`.observation`), the one text format for training and serving (:mod:`.text`) and
the constitution with a check per rule (:mod:`.constitution`). Imports only
:mod:`swarm.world`."""
