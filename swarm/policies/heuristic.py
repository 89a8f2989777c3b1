"""The expert: hand-written rules that use traces, skills and help signals.

Rules, for one agent (:func:`expert_action`):

1. Holding a task in progress: ``work`` it.
2. Holding a handoff task whose stage just finished: keep it if the next stage's domain is
   one of its own (skill >= ``own_skill``); else hand it to an idle agent in view (one
   whose main domain is the one needed, else the nearest); with nobody in view, work on.
3. A synthesis member: ``work`` when the quorum is full; else ``help`` (signal) when the
   help trace here is weak, else ``wait``.
4. Idle, with tasks within reach: ``claim``/``join`` the best (:func:`take_value`)
   among those it is placed to take: its place in line among the idle agents in view
   (nearer first, ties: lower id; ``Observation.place_in_line``) is within the task's
   places (1, or a synthesis' open slots).
5. Idle, with open tasks in view: ``approach`` the best one (a step towards it).
6. Otherwise follow the traces: score each neighbour cell
   ``help_w*help + success_w*success - explored_w*explored - claim_w*claim`` (plus a
   tiny deterministic tie-breaker) and move to the best, or ``explore`` when no score
   beats ``min_score``. The no-traces ablation always explores here.

In rules 4 and 5 the soul's meta-learning steers the choice: a task of a type in
``preferredTaskTypes`` is worth ``PREFER_BONUS`` more, one needing a domain in
``strengthDomains`` ``STRENGTH_BONUS`` more (:func:`take_value`), and a task whose taking
is a behaviour in ``avoidPatterns`` (``rushed decisions``, ``crowding``:
:data:`swarm.interface.observation.AVOIDABLE`) is left alone
(``Observation.avoids_taking``).

:class:`HeuristicPolicy` applies rule 6 to all simple agents at once (a compiled kernel,
:func:`swarm.world.kernels.best_neighbours`, the same arithmetic as :func:`trace_scores`), and
rules 1-3 to the agents holding a task from the task alone (:func:`held_action`), so
neither needs its observation built;
:class:`NaiveHeuristicPolicy` applies the same rules agent by agent, reading traces from
Mesa cells one by one (the benchmark's baseline). They return the same decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from swarm.interface.observation import (
    EXPLORE_CODE,
    OFFSETS,
    PULL,
    PULL_MIN,
    Decision,
    Decisions,
    Observation,
    Observations,
    ProposalView,
    TaskView,
    tie_noise,
)
from swarm.world import actions as A
from swarm.world.actions import ActionKind

_PULL = dict(PULL)


@dataclass(frozen=True)
class ExpertWeights:
    """Rule 6's weights (by default the world's :data:`~swarm.interface.observation.PULL`,
    so that the expert follows the trace lead the prompt names) and rules 2-3's
    thresholds."""

    help_w: float = _PULL["help"]
    success_w: float = _PULL["success"]
    explored_w: float = -_PULL["explored"]
    claim_w: float = -_PULL["claim"]
    min_score: float = PULL_MIN
    own_skill: float = 0.5
    help_enough: float = 1.0


def trace_scores(
    w: ExpertWeights,
    help_: np.ndarray,
    success: np.ndarray,
    explored: np.ndarray,
    claim: np.ndarray,
) -> np.ndarray:
    """Rule 6's score of each neighbour (arrays of any matching shape)."""
    return w.help_w * help_ + w.success_w * success - w.explored_w * explored - w.claim_w * claim


def held_action(
    task: TaskView, cands: Sequence[A.Action], skill: float, help_here: float, w: ExpertWeights
) -> A.Action | None:
    """Rules 1-3 for an agent holding ``task``, with candidates ``cands``, its ``skill``
    in the task's domain and the help trace on its cell; None where rule 2 hands the
    stage on (whom to: :func:`expert_action`, which needs the agents in view)."""
    if task.task_type.group:
        if not task.open_slots:  # the quorum is full: work is a candidate
            return A.work(task.id)
        return A.help_(task.id) if help_here < w.help_enough else A.WAIT
    if task.awaiting and skill < w.own_skill and any(c.kind is ActionKind.HANDOFF for c in cands):
        return None
    return A.work(task.id)


def expert_action(obs: Observation, w: ExpertWeights, scores: np.ndarray | None) -> A.Action:
    """Rules 1-6 for one agent. ``scores``: rule 6's 8 neighbour scores (noise included),
    or None for the no-traces ablation."""
    cands = obs.candidates
    task = obs.task
    if task is not None:
        here = obs.trace("help")[8] if "help" in obs.channels else 0.0
        action = held_action(task, cands, obs.skill(task.domain), here, w)
        if action is not None:
            return action
        by_id = {a.id: a for a in obs.agents}
        return min(
            (c for c in cands if c.kind is ActionKind.HANDOFF),
            key=lambda c: (
                by_id[c.agent].main_domain != task.domain,
                max(abs(by_id[c.agent].dx), abs(by_id[c.agent].dy)),
                c.agent,
            ),
        )
    # idle
    takes = obs.takes()
    for c in sorted(takes, key=lambda c: (-take_value(obs, takes[c]), c.task)):
        if obs.placed(takes[c]) and not obs.avoids_taking(takes[c]):
            return c
    targets = [
        t
        for t in obs.tasks
        if t.open_to_take and t.distance > 1 and not (obs.avoids and obs.avoids_taking(t))
    ]
    if targets:
        best = min(targets, key=lambda t: (-take_value(obs, t), t.distance, t.id))
        return A.approach(best.id)
    if scores is None:
        return A.EXPLORE
    k = int(np.argmax(scores))
    if scores[k] > w.min_score:
        move = A.MOVES[k]
        if move in cands:
            return move
    return A.EXPLORE


#: How much more a task is worth to a soul that prefers its type / has its domain as a
#: strength (in units of skill).
PREFER_BONUS = 0.4
STRENGTH_BONUS = 0.3


def take_value(obs: Observation, t) -> float:
    """What taking ``t`` is worth to this agent: its skill in the domain needed (a
    synthesis: its best open slot) + 0.2 × difficulty, plus ``PREFER_BONUS`` when the
    soul prefers the task's type and ``STRENGTH_BONUS`` when a domain needed is one of
    its strengths."""
    domains = t.open_slots if t.task_type.group else (t.domain,)
    value = (obs.skill_for(t) or 0.0) + 0.2 * t.difficulty
    if t.task_type in obs.prefers:
        value += PREFER_BONUS
    if any(d in obs.strengths for d in domains):
        value += STRENGTH_BONUS
    return value


class HeuristicPolicy:
    """The expert (see module docstring), vectorised over agents."""

    name = "heuristic"
    use_traces = True

    def __init__(self, weights: ExpertWeights | None = None) -> None:
        self.w = weights or ExpertWeights()

    def propose(self, view: ProposalView, options: int) -> tuple[int, ...]:
        """In a group decision, the expert proposes what its reading ranks first."""
        return view.first_choices

    def decide(self, observations: list[Observation]) -> list[Decision]:
        n = len(observations)
        if n == 0:
            return []
        batch = observations if isinstance(observations, Observations) else None
        if batch is None or batch.traces is None:
            scores = None
            if self.use_traces:
                scores = np.stack([self._scores_of(o) for o in observations])
            return [
                Decision(expert_action(o, self.w, None if scores is None else scores[i]))
                for i, o in enumerate(observations)
            ]
        tr = batch.traces
        ch = batch.channels or observations[0].channels
        simple = batch.simple
        w = self.w
        # the simple agents at once: the best neighbour if it beats min_score, else explore
        if self.use_traces:
            from swarm.world.kernels import best_neighbours  # numba: compiled on first use

            rows = np.array([ch.index(c) for c in ("help", "success", "explored", "claim")])
            weights = np.array([w.help_w, w.success_w, -w.explored_w, -w.claim_w])
            codes = best_neighbours(
                tr, rows, weights, batch.agent_ids, batch.step, w.min_score, EXPLORE_CODE
            )
        else:
            codes = np.full(n, EXPLORE_CODE, dtype=np.int64)
        codes[~simple] = -1
        out = Decisions(codes)
        help_row = ch.index("help") if "help" in ch else None
        for i in np.flatnonzero(~simple).tolist():
            task = batch.held.get(i)
            if task is not None and not batch.built(i):  # rules 1-3 without the rest
                skill = float(batch.skills[i, batch.domains.index(task.domain)])
                here = 0.0 if help_row is None else tr[i, help_row, 8]
                action = held_action(task, batch.candidates_of(i), skill, here, self.w)
                if action is not None:
                    out[i] = Decision(action)
                    continue
            s = self._scores_of(observations[i]) if self.use_traces else None
            out[i] = Decision(expert_action(observations[i], self.w, s))
        return out

    def _scores_of(self, obs: Observation) -> np.ndarray:
        t = obs.traces
        ch = obs.channels
        s = trace_scores(
            self.w, *(t[ch.index(c), :8] for c in ("help", "success", "explored", "claim"))
        )
        s = s + np.array([tie_noise(obs.agent_id, obs.step, k) for k in range(8)])
        s[np.isnan(s)] = -np.inf
        return s


class NoTracesPolicy(HeuristicPolicy):
    """The ablation: the same expert, blind to traces (rule 6 always explores)."""

    name = "no-traces"
    use_traces = False


class NaiveHeuristicPolicy(HeuristicPolicy):
    """The same rules, decided agent by agent from Mesa's per-cell property reads.

    This is how an ABM is usually first written; it is the engine benchmark's baseline.
    """

    name = "heuristic-naive"

    def bind(self, model) -> None:
        self.model = model

    def decide(self, observations: list[Observation]) -> list[Decision]:
        out = []
        w = self.w
        for obs in observations:
            cell = self.model.cell_at(obs.x, obs.y)
            scores = []
            for k, (dx, dy) in enumerate(OFFSETS[:8]):
                nb = cell.connections.get((dx, dy))
                if nb is None:
                    scores.append(-np.inf)
                    continue
                s = (
                    w.help_w * nb.trace_help
                    + w.success_w * nb.trace_success
                    - w.explored_w * nb.trace_explored
                    - w.claim_w * nb.trace_claim
                )
                scores.append(s + tie_noise(obs.agent_id, obs.step, k))
            out.append(Decision(expert_action(obs, w, np.array(scores))))
        return out
