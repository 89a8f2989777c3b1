"""The private-memory rival to stigmergy: the expert without traces, whose agents remember
where they saw open tasks and go back there.

Each agent keeps its own list of places (absolute cells) where it has seen a task open to
take, the most recent first, at most :attr:`PrivateMemoryPolicy.capacity`. When the
expert would explore (nothing to take or approach in view), the agent steps towards the
nearest remembered place instead; standing within one cell of a place with no open task
in view, it forgets that place. Nothing is shared: what one agent learns of where work
turns up, no other agent learns (the traces' job, in the swarm).
"""

from __future__ import annotations

from swarm.interface.observation import Decision, Observation
from swarm.policies.heuristic import ExpertWeights, HeuristicPolicy, expert_action
from swarm.world import actions as A
from swarm.world.actions import ActionKind, step_towards

_MOVE_TO = dict(zip(A.DIRECTIONS.values(), A.MOVES, strict=True))


class PrivateMemoryPolicy(HeuristicPolicy):
    """The expert, blind to traces, with a private memory of places (module docstring)."""

    name = "private-memory"
    use_traces = False
    capacity = 5

    def __init__(self, weights: ExpertWeights | None = None) -> None:
        super().__init__(weights)
        self.memory: dict[int, list[tuple[int, int]]] = {}
        self.width: int | None = None
        self.height: int | None = None
        self.torus = True

    def bind(self, model) -> None:
        self.width, self.height, self.torus = model.width, model.height, model.torus
        self.memory.clear()  # a fresh model: nobody remembers anything

    def _delta(self, x: int, y: int, px: int, py: int) -> tuple[int, int]:
        dx, dy = px - x, py - y
        if self.torus and self.width and self.height:
            dx = (dx + self.width // 2) % self.width - self.width // 2
            dy = (dy + self.height // 2) % self.height - self.height // 2
        return dx, dy

    def _place(self, obs: Observation, dx: int, dy: int) -> tuple[int, int]:
        x, y = obs.x + dx, obs.y + dy
        if self.torus and self.width and self.height:
            x, y = x % self.width, y % self.height
        return x, y

    def decide(self, observations: list[Observation]) -> list[Decision]:
        out = []
        for obs in observations:
            places = self.memory.setdefault(obs.agent_id, [])
            open_here = [t for t in obs.tasks if t.open_to_take]
            for t in open_here:  # remember, most recent first
                p = self._place(obs, t.dx, t.dy)
                if p in places:
                    places.remove(p)
                places.insert(0, p)
            del places[self.capacity :]
            action = expert_action(obs, self.w, None)
            if action.kind is ActionKind.EXPLORE and obs.task is None:
                action = self._recall(obs, places, bool(open_here)) or action
            out.append(Decision(action))
        return out

    def _recall(self, obs: Observation, places: list[tuple[int, int]], seen: bool):
        """A step towards the nearest remembered place (forgetting the ones found empty)."""
        while places:
            deltas = [self._delta(obs.x, obs.y, *p) for p in places]
            k = min(range(len(places)), key=lambda j: (max(map(abs, deltas[j])), j))
            dx, dy = deltas[k]
            if max(abs(dx), abs(dy)) <= 1:
                if seen:
                    return None  # there already, with work in view: the expert's choice
                del places[k]  # there, and nothing open in view: forget it
                continue
            move = _MOVE_TO[step_towards(dx, dy)]
            return move if move in obs.candidates else None
        return None
