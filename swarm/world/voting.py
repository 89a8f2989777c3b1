"""Collective decisions: weighted votes, and the synthesis protocol built on them.

Voting rules (:data:`RULES`):

* ``plurality``: one agent, one vote.
* ``weighted``: each vote weighs the voter's expertise: its *estimated* accuracy in the
  slot's domain, learned from its own track record (:meth:`soul.Soul.expertise`).
* ``log_odds``: Nitzan and Paroush (1982): with independent voters of accuracy ``p_i``
  the optimal weights are ``log(p_i / (1 - p_i))`` for two options, plus ``log(m - 1)``
  for ``m`` options with symmetric errors. ``p_i`` is each agent's *estimated* accuracy.
* ``oracle``: the same log-odds weights from the accuracies of the voters' *readings*
  (hidden from the agents): the upper bound that learned weights are measured against
  when members propose what their reading ranks first, as the expert does (a policy
  that proposes otherwise votes with other accuracies than these).

Log-odds weights of an estimated accuracy below ``1/m`` are negative (the optimal weight
of a voter worse than chance); with per-component plurality over the options someone
proposed, they are a close, not an exact, optimum.
* ``borda``: voters rank all options; an option gets ``m - 1 - position`` points from each
  ranking (equal weights).
* ``dictator``: no vote: one member, drawn at random, decides alone (the "no voting"
  baseline of the benchmarks).

The synthesis protocol (:func:`collective_decision`): an approach has ``C`` components,
each one of ``m`` options, and a hidden best value. Each member reads the options of each
component from its own noisy view (:func:`propose`: a ranking whose top is right with
probability equal to its accuracy, which grows with its domain skill) and proposes from
it: its policy's proposal (``choose``; the expert proposes its reading's first choices)
leads its ranking. The group votes on each component
separately, so the synthesised approach can be one that no member proposed (a
*recombined* approach). Decision quality is the share of components that match the hidden
best. A decision is a *novel solution* when its quality exceeds the best member's own
proposal: the group found something better than any of its members would have alone.
Recombination alone is not novelty: per-component voting recombines by itself, and a
recombined approach can be worse than the best member's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RULES: tuple[str, ...] = ("plurality", "weighted", "log_odds", "oracle", "borda", "dictator")
#: Accuracy never reaches 1, so log-odds weights stay finite.
MAX_ACCURACY = 0.99


def _generator(rng: Any) -> np.random.Generator | None:
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _argmax_total(
    totals: dict[Hashable, float], rng: np.random.Generator | None, tol: float = 1e-12
) -> Hashable:
    best = max(totals.values())
    tied = [c for c, t in totals.items() if t >= best - tol]
    if len(tied) == 1 or rng is None:
        return tied[0]  # without a generator: the first of the tied, in order of appearance
    return tied[int(rng.integers(len(tied)))]


def _voter_weights(n: int, weights: Sequence[float] | None, what: str) -> Sequence[float]:
    if n == 0:
        raise ValueError(f"a vote needs at least one voter (got no {what})")
    if weights is None:
        return [1.0] * n
    if len(weights) != n:
        raise ValueError(f"{n} {what} but {len(weights)} weights")
    return weights


def weighted_vote(choices: Sequence[Hashable], weights: Sequence[float] | None = None, rng=None):
    """The choice with the largest total weight.

    Args:
        choices: one choice per voter (any hashable values).
        weights: one weight per voter (default: all 1, i.e. plurality).
        rng: breaks ties (a ``numpy.random.Generator`` or a seed); without it the tied
            choice that appears first wins. Either way the result is deterministic.
    """
    weights = _voter_weights(len(choices), weights, "choices")
    totals: dict[Hashable, float] = {}
    for choice, w in zip(choices, weights, strict=True):
        totals[choice] = totals.get(choice, 0.0) + float(w)
    return _argmax_total(totals, _generator(rng))


def borda(rankings: Sequence[Sequence[Hashable]], weights: Sequence[float] | None = None, rng=None):
    """Borda count: each ranking (best first, all over the same options) gives an option
    ``m - 1 - position`` points, times the voter's weight (default 1). Ties as in
    :func:`weighted_vote`."""
    weights = _voter_weights(len(rankings), weights, "rankings")
    options = set(rankings[0])
    m = len(rankings[0])
    totals: dict[Hashable, float] = {}
    for ranking, w in zip(rankings, weights, strict=True):
        if len(ranking) != m or set(ranking) != options:
            raise ValueError("every ranking must order the same options")
        for pos, option in enumerate(ranking):
            totals[option] = totals.get(option, 0.0) + float(w) * (m - 1 - pos)
    return _argmax_total(totals, _generator(rng))


def accuracy(expertise: float | np.ndarray, options: int) -> float | np.ndarray:
    """Probability that an agent of this expertise (in [0, 1]) picks the right option out
    of ``options``: chance at 0, :data:`MAX_ACCURACY` at 1, linear in between."""
    chance = 1.0 / options
    e = np.clip(expertise, 0.0, 1.0)
    return chance + (MAX_ACCURACY - chance) * e


def log_odds_weight(p: float | np.ndarray, options: int = 2) -> float | np.ndarray:
    """Nitzan–Paroush weight ``log(p / (1 - p)) + log(options - 1)``."""
    p = np.clip(p, 1e-6, MAX_ACCURACY)
    return np.log(p / (1.0 - p)) + np.log(options - 1)


def rule_weights(
    rule: str,
    expertise: Sequence[float],
    options: int,
    true_accuracy: Sequence[float] | None = None,
) -> np.ndarray:
    """The vote weights a rule gives members of this expertise (estimated accuracies);
    ``oracle`` needs ``true_accuracy``."""
    e = np.asarray(expertise, dtype=float)
    if rule == "weighted":
        return e
    if rule == "log_odds":
        return np.asarray(log_odds_weight(e, options), dtype=float)
    if rule == "oracle":
        if true_accuracy is None:
            raise ValueError("the oracle rule needs the members' true accuracies")
        return np.asarray(log_odds_weight(np.asarray(true_accuracy), options), dtype=float)
    if rule in ("plurality", "borda", "dictator"):
        return np.ones_like(e)
    raise ValueError(f"unknown voting rule {rule!r}; choose one of {', '.join(RULES)}")


def propose(best: np.ndarray, p: float, options: int, rng: np.random.Generator) -> np.ndarray:
    """One member's ranked proposal, ``(components, options)``, best first.

    Per component the top choice is the hidden best with probability ``p``, else a wrong
    option at random; when the top is wrong the best comes second with probability ``p``;
    the rest follow in random order.
    """
    c = len(best)
    out = np.empty((c, options), dtype=np.int64)
    right = rng.random(c) < p
    second_right = rng.random(c) < p
    for k in range(c):
        rest = [o for o in rng.permutation(options) if o != best[k]]
        if right[k]:
            order = [int(best[k]), *rest]
        elif second_right[k]:
            order = [rest[0], int(best[k]), *rest[1:]]
        else:
            order = [rest[0], *rng.permutation([int(best[k]), *rest[1:]]).tolist()]
        out[k] = order
    return out


@dataclass(frozen=True)
class GroupDecision:
    """The outcome of one synthesis decision."""

    rule: str
    proposals: np.ndarray  # (members, components): each member's top choices
    weights: np.ndarray  # (members,)
    winner: np.ndarray  # (components,)
    quality: float  # share of components equal to the hidden best
    member_qualities: np.ndarray  # (members,): the same for each member's own proposal

    @property
    def novel(self) -> bool:
        """True when the group's approach is better than every member's own proposal."""
        return bool(self.quality > float(self.member_qualities.max()) + 1e-12)

    @property
    def recombined(self) -> bool:
        """True when no member proposed the synthesised approach (syntactic novelty)."""
        return not any(np.array_equal(p, self.winner) for p in self.proposals)

    @property
    def synergy_best(self) -> float:
        """Group quality minus the best member's."""
        return self.quality - float(self.member_qualities.max())

    @property
    def synergy_mean(self) -> float:
        """Group quality minus the members' mean."""
        return self.quality - float(self.member_qualities.mean())


def collective_decision(
    best: np.ndarray,
    skills: Sequence[float],
    expertise: Sequence[float],
    rule: str,
    options: int,
    rng: np.random.Generator,
    choose: Callable[[int, np.ndarray], Sequence[int]] | None = None,
) -> GroupDecision:
    """Run the synthesis protocol for one group (see the module docstring).

    Args:
        best: the hidden best approach, ``(components,)`` ints in ``[0, options)``.
        skills: each member's skill in its slot's domain (sets its true accuracy).
        expertise: each member's estimated accuracy as its soul reports it (sets its
            weight; :meth:`soul.Soul.expertise`).
        rule: one of :data:`RULES`.
        options: options per component.
        rng: the model's generator.
        choose: ``choose(member, reading)``: the member's proposal (one option per
            component) given its reading (its ranking of each component's options,
            :func:`propose`); it goes first in the member's ranking, the reading's order
            after it. None: each member proposes its reading's first choices.
    """
    best = np.asarray(best)
    true = [float(accuracy(s, options)) for s in skills]
    weights = rule_weights(rule, expertise, options, true)
    rankings = np.stack([propose(best, p, options, rng) for p in true])
    if choose is not None:  # the members' policies propose from their readings
        rankings = np.stack([_put_first(r, choose(m, r)) for m, r in enumerate(rankings)])
    proposals = rankings[:, :, 0]
    if rule == "dictator":
        winner = proposals[int(rng.integers(len(proposals)))].copy()
    else:
        winner = np.empty(len(best), dtype=np.int64)
        for k in range(len(best)):
            if rule == "borda":
                winner[k] = borda([list(r) for r in rankings[:, k]], weights, rng)
            else:
                winner[k] = weighted_vote(proposals[:, k].tolist(), weights, rng)
    return GroupDecision(
        rule=rule,
        proposals=proposals,
        weights=weights,
        winner=winner,
        quality=float(np.mean(winner == best)),
        member_qualities=np.mean(proposals == best, axis=1),
    )


def _put_first(ranking: np.ndarray, choice: Sequence[int]) -> np.ndarray:
    """``ranking`` (components, options) with ``choice[k]`` moved to the front of row k."""
    out = ranking.copy()
    for k, c in enumerate(choice):
        row = [int(c), *(int(o) for o in ranking[k] if o != c)]
        out[k] = row
    return out
