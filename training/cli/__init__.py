"""The commands :mod:`training` adds to the ``swarm`` CLI: ``data``, ``train``, ``eval``,
``ab`` and ``demo``. They are registered as entry points in the ``swarm.commands`` group
(``pyproject.toml``), which :mod:`swarm.cli` discovers, so ``swarm`` never imports
``training``."""
