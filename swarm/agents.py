"""Swarm agents: Mesa cell agents that carry a soul."""

from __future__ import annotations

from soul import Soul
from swarm.space import SpaceAgent


class SwarmAgent(SpaceAgent):
    """An agent on the grid with a soul: a Mesa ``CellAgent`` whose position is a row of
    the model's arrays (:mod:`swarm.space`). Its decisions come from the model's policy;
    the model keeps the arrays (position, task held, skills) the policy reads."""

    def __init__(self, model, soul: Soul, index: int) -> None:
        super().__init__(model, index)  # index: row in the model's agent arrays
        self.soul = soul
        self.task: int | None = None

    @property
    def tasks_done(self) -> int:
        """Units of work done (tasks, stages, synthesis slots)."""
        return int(self.model.tasks_done[self.index])

    @property
    def busy(self) -> int:
        """1 while the agent holds a task, else 0."""
        return int(self.task is not None)

    @property
    def x(self) -> int:
        """Column of the agent's cell."""
        return int(self.model.ax[self.index])

    @property
    def y(self) -> int:
        """Row of the agent's cell."""
        return int(self.model.ay[self.index])

    @property
    def near_hotspot(self) -> int:
        """1 within two spreads of a hotspot's centre, else 0."""
        return int(self.model.near_hotspot(self.index))

    @property
    def work_domain(self) -> str:
        """The domain of the work the agent holds now: its synthesis slot, or the held
        task's current stage; ``""`` when idle."""
        if self.task is None:
            return ""
        task = self.model.board.get(self.task)
        if task is None:
            return ""
        if task.members:
            for slot, member in task.members.items():
                if member == self.unique_id:
                    return slot
        return task.domain

    @property
    def xp(self) -> int:
        return self.soul.xp

    @property
    def level(self) -> str:
        return self.soul.level.value

    @property
    def main_domain(self) -> str | None:
        return self.soul.main_domain
