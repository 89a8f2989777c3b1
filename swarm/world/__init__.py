"""The world's rules: what tasks there are and how they arrive (:mod:`.tasks`), what
agents can do (:mod:`.actions`), the stigmergic trace grid (:mod:`.traces`) and how groups
decide (:mod:`.voting`). Plain rules and data; imports nothing else of :mod:`swarm`."""
