"""Swarm agents: Mesa cell agents that carry a soul."""

from __future__ import annotations

from mesa.discrete_space import CellAgent

from soul import Soul


class SwarmAgent(CellAgent):
    """An agent on the grid with a soul. Its decisions come from the model's policy;
    the model keeps the arrays (position, task held, skills) the policy reads."""

    def __init__(self, model, soul: Soul, index: int) -> None:
        super().__init__(model)
        self.soul = soul
        self.index = index  # row in the model's agent arrays
        self.task: int | None = None
        self.tasks_done = 0

    @property
    def busy(self) -> int:
        """1 while the agent holds a task, else 0."""
        return int(self.task is not None)

    @property
    def xp(self) -> int:
        return self.soul.xp

    @property
    def level(self) -> str:
        return self.soul.level.value

    @property
    def main_domain(self) -> str | None:
        return self.soul.main_domain
