"""Outcome labels by counterfactual rollout: what each candidate action of a decision
would have brought the team.

At a decision of agent ``i`` (the model as it was before the step: its agents, its world
and every random stream, copied whole with :func:`copy.deepcopy`), each candidate action
is played in a branch of its own, everyone else deciding by a stated continuation policy,
and the branch is continued for ``horizon`` steps by that policy. Each branch is scored by
the team reward (:class:`TeamReward`) of its steps. The branches share every random draw
that is not the agents' doing: arrivals, the activation order and the explore draws are
drawn per step whatever the agents do, and a task's work quality is keyed by the task and
its stage (:mod:`swarm.streams`), so two branches differ only through what the one
action changed (common random numbers; a test checks that the policy's own action
replays the world it had).

:func:`label_decision` scores one decision's candidates; :func:`label_run` runs a policy
in closed loop on one seed and labels the decisions of agents with a choice to make
(those with a task in view or in hand); :func:`label_departures` labels, instead, the
decisions where the policy departs from an expert (the two actions only) and as many
where they agree (the shared action against the policy's runner-up);
:func:`preference_pairs` turns labels into (better, worse) pairs for preference learning,
and :func:`write_jsonl` writes either with its provenance.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from swarm.interface.observation import Decision, Observation
from swarm.interface.text import render_action, render_user
from swarm.io import atomic_write_text
from swarm.metrics import StepRecord
from swarm.model import ENGINE_VERSION, SwarmModel
from swarm.policies import make_policy, policy_label
from swarm.policies.base import Policy, bind, proposal_of
from swarm.streams import Streams
from swarm.world.actions import Action


@dataclass(frozen=True)
class TeamReward:
    """The team's reward over a branch's steps:

    ``completion`` per task completed + ``quality`` × its quality (in [0, 1]),
    − ``conflict`` per conflicting take, − ``failure`` per task that failed
    (its deadline passed).

    Every agent's outcome counts, not only the deciding agent's: an action that takes a
    task another agent would have done better, or crowds it, costs the team.
    """

    completion: float = 1.0
    quality: float = 1.0
    conflict: float = 0.5
    failure: float = 1.0

    def of_step(self, record: StepRecord) -> float:
        done = sum(self.completion + self.quality * q for _, _, q in record.completed)
        return done - self.conflict * len(record.conflicts) - self.failure * len(record.failed)


class Forced:
    """``policy``, except that agent row ``index`` does ``action`` (one step's wrapper)."""

    def __init__(self, policy: Policy, index: int, action: Action) -> None:
        self.policy, self.index, self.action = policy, index, action
        self.name = getattr(policy, "name", "policy")

    def decide(self, observations) -> list[Decision]:
        decisions = self.policy.decide(observations)
        codes = getattr(decisions, "codes", None)
        if codes is not None:
            codes[self.index] = -1  # no longer the array batch's move
        decisions[self.index] = Decision(self.action)
        return decisions

    def propose(self, view, options):
        return proposal_of(self.policy, view)


def branch(model: SwarmModel, continuation: Policy) -> SwarmModel:
    """A copy of ``model`` (agents, world, every random stream) run by ``continuation``,
    without the original's step hooks.

    A branch is stepped on its arrays: its Mesa view (cells' agent lists, their property
    layers) is not a faithful copy (Mesa rebuilds each copied cell's class), so a model
    that reads Mesa cells in its step (``act="agents"``, ``observe="cells"``) is refused.
    """
    if model.act_mode != "arrays" or model.observe_mode == "cells":
        raise ValueError(
            "counterfactual branches need the array engine: act='arrays' and observe "
            f"other than 'cells' (got act={model.act_mode!r}, observe={model.observe_mode!r})"
        )
    model.space.sync()  # Mesa's side as the arrays say, before anything of it is copied
    memo = {id(model.policy): continuation, id(model.on_decisions): []}
    twin = copy.deepcopy(model, memo)
    twin.policy = continuation
    bind(continuation, twin)
    return twin


def reseed(model: SwarmModel, world: int) -> None:
    """Give ``model`` another future: every stream respawned from its seed, its step and
    ``world`` (what was drawn so far stays; every later arrival, order, explore draw and
    work quality is world ``world``'s)."""
    root = model.streams.root
    key = (*root.spawn_key, 0xB4A, model.steps, world)
    seq = np.random.SeedSequence(root.entropy, spawn_key=key)
    model.streams = Streams(seq)
    model.board.rng = model.streams.world


def play(
    model: SwarmModel,
    index: int,
    action: Action,
    horizon: int,
    continuation: Policy,
    reward: TeamReward,
    world: int = 0,
) -> float:
    """The team reward of ``horizon`` steps from ``model``'s state (left as it is) when
    agent row ``index`` does ``action`` now and ``continuation`` decides the rest; in
    ``world`` 0 the run's own future, in any other the future :func:`reseed` gives after
    this step (the same for every action)."""
    twin = branch(model, continuation)
    twin.policy = Forced(continuation, index, action)
    total = 0.0
    for k in range(horizon):
        twin.step()
        if k == 0:
            twin.policy = continuation
            if world:
                reseed(twin, world)
        total += reward.of_step(twin.last_record)
    return total


def observed_step(
    model: SwarmModel, continuation: Policy, also: Policy | None = None
) -> tuple[SwarmModel, Any, Any]:
    """Step ``model`` once; return the state it started from (a :func:`branch` run by
    ``continuation``), and the step's observations and decisions. With ``also``, that
    policy is asked about the same observations in the same state (before any action is
    applied) and the third item is the pair (decisions, its decisions)."""
    before = branch(model, continuation)
    seen: list = []

    def hook(m, obs, decisions) -> None:
        seen.append((obs, decisions if also is None else (decisions, also.decide(obs))))

    model.on_decisions.append(hook)
    try:
        model.step()
    finally:
        model.on_decisions.remove(hook)
    obs, decisions = seen[0]  # observations read after the step are the step's own
    return before, obs, decisions


@dataclass
class Label:
    """One decision's candidates and what each brought the team: ``per_world[w][c]`` the
    reward of candidate ``c`` in world ``w`` (0: the run's own future), ``rewards`` their
    means over the worlds; ``advantages`` are rewards minus the mean over the
    candidates."""

    seed: int
    step: int
    agent_id: int
    prompt: str
    candidates: list[str]
    per_world: list[list[float]]
    policy_action: str
    provenance: dict[str, Any] = field(default_factory=dict)
    expert_action: str | None = None  # the expert's answer where it was asked

    @property
    def rewards(self) -> list[float]:
        return np.mean(self.per_world, axis=0).tolist()

    def gap(self) -> tuple[float, float]:
        """How much the best candidate (by mean) beats the policy's own action: the mean
        over the worlds of the paired difference, and its standard error (0 with one
        world); NaN when the policy's action was not a candidate. A screen, not a test:
        the best is chosen on the same worlds it is then compared on, so the gap is
        biased upwards (never negative) and the standard error ignores the choice."""
        if self.policy_action not in self.candidates:
            return float("nan"), float("nan")
        k = int(np.argmax(self.rewards))
        mine = self.candidates.index(self.policy_action)
        diff = np.array([w[k] - w[mine] for w in self.per_world])
        se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0
        return float(diff.mean()), se

    @property
    def advantages(self) -> list[float]:
        mean = float(np.mean(self.rewards))
        return [r - mean for r in self.rewards]

    @property
    def best(self) -> str:
        return self.candidates[int(np.argmax(self.rewards))]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["rewards"] = self.rewards
        out["advantages"] = self.advantages
        return out


def label_decision(
    model: SwarmModel,
    obs: Observation,
    policy_action: Action,
    *,
    seed: int,
    horizon: int,
    continuation: Policy,
    reward: TeamReward,
    worlds: int = 1,
    provenance: dict[str, Any] | None = None,
    candidates: Sequence[Action] | None = None,
    expert_action: Action | None = None,
) -> Label:
    """Score every candidate of ``obs`` (agent row ``obs.index``'s decision, ``model`` as
    it was before the step; or only ``candidates``) by :func:`play`, in ``worlds`` futures
    (the run's own and ``worlds - 1`` reseeded ones, the same for every candidate)."""
    cands = list(obs.candidates if candidates is None else candidates)
    per_world = [
        [play(model, obs.index, c, horizon, continuation, reward, w) for c in cands]
        for w in range(worlds)
    ]
    return Label(
        seed=seed,
        step=obs.step,  # the step as the agent saw it (Mesa counts it before it runs)
        agent_id=obs.agent_id,
        prompt=render_user(obs),
        candidates=[render_action(c) for c in cands],
        per_world=per_world,
        policy_action=render_action(policy_action),
        provenance=dict(provenance or {}),
        expert_action=None if expert_action is None else render_action(expert_action),
    )


def label_run(
    seed: int,
    policy: str | Policy,
    *,
    steps: int,
    horizon: int,
    continuation: str | Policy = "heuristic",
    reward: TeamReward | None = None,
    n_agents: int = 20,
    every: int = 5,
    per_step: int = 2,
    worlds: int = 1,
    **model_kw: Any,
) -> Iterator[Label]:
    """Run ``policy`` in closed loop on ``seed`` for ``steps`` steps and label, every
    ``every`` steps, up to ``per_step`` decisions of agents with a choice to make (a task
    in view or in hand: the observations that are not plain), drawn from a stream of
    their own (the ``rng`` of ``seed``'s label selection, not the model's). Yields each
    label as it is made. A bad count is a ValueError naming it, before anything runs."""
    _check_counts(
        steps=(steps, 0),
        horizon=(horizon, 1),
        every=(every, 1),
        per_step=(per_step, 0),
        worlds=(worlds, 1),
    )
    return _labels(
        seed,
        policy,
        steps,
        horizon,
        continuation,
        reward,
        n_agents,
        every,
        per_step,
        worlds,
        model_kw,
    )


def _check_counts(**counts: tuple[Any, int]) -> None:
    for name, (value, least) in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")


def _setup(seed, policy, continuation, reward, n_agents, horizon, worlds, model_kw):
    """The closed-loop model, the branches' continuation (never the run's own policy
    object: branches bind it) and the labels' provenance."""
    reward = reward or TeamReward()
    model = SwarmModel(n_agents=n_agents, policy=policy, rng=seed, **model_kw)
    cont = make_policy(continuation)
    if cont is model.policy:
        cont = copy.deepcopy(cont)
    provenance = {
        "engine_version": ENGINE_VERSION,
        "policy": policy_label(policy),
        "continuation": policy_label(continuation),
        "horizon": horizon,
        "worlds": worlds,
        "reward": asdict(reward),
        "n_agents": n_agents,
    }
    return model, cont, reward, provenance


def _labels(
    seed, policy, steps, horizon, continuation, reward, n_agents, every, per_step, worlds, model_kw
) -> Iterator[Label]:
    model, cont, reward, provenance = _setup(
        seed, policy, continuation, reward, n_agents, horizon, worlds, model_kw
    )
    pick = np.random.default_rng([seed, 0x1ABE1])
    for t in range(steps):
        if t == 0 or t % every:
            model.step()
            continue
        before, obs, decisions = observed_step(model, cont)
        choosers = [i for i in range(len(obs)) if obs.simple is None or not obs.simple[i]]
        choosers = [i for i in choosers if len(obs[i].candidates) > 1]
        for i in pick.permutation(choosers)[:per_step].tolist():
            yield label_decision(
                before,
                obs[i],
                decisions[i].action,
                seed=seed,
                horizon=horizon,
                continuation=cont,
                reward=reward,
                worlds=worlds,
                provenance=provenance,
            )


def label_departures(
    seed: int,
    policy: str | Policy,
    *,
    expert: str | Policy = "heuristic",
    steps: int,
    horizon: int,
    continuation: str | Policy = "heuristic",
    reward: TeamReward | None = None,
    n_agents: int = 20,
    every: int = 2,
    worlds: int = 1,
    anchors: float = 1.0,
    **model_kw: Any,
) -> Iterator[Label]:
    """Run ``policy`` in closed loop on ``seed`` for ``steps`` steps; every ``every``
    steps ask ``expert`` about the same observations, and label (two candidates each):

    * every **departure**, a decision with a choice where the two answer differently:
      the policy's action and the expert's;
    * **anchors**, about ``anchors`` per departure, drawn from the decisions where they
      agree (a stream of the seed's own): the shared action and the policy's runner-up
      (its most probable other candidate; a uniformly drawn other one when the policy
      gives no probabilities).

    Each label records ``expert_action``, so :func:`preference_pairs` with
    ``against="expert"`` can take the expert's answer as the default and let the outcome
    overturn it. Labelling does not change the run. A bad count is a ValueError naming
    it, before anything runs."""
    _check_counts(steps=(steps, 0), horizon=(horizon, 1), every=(every, 1), worlds=(worlds, 1))
    if not (
        isinstance(anchors, int | float)
        and not isinstance(anchors, bool)
        and 0 <= anchors < float("inf")
    ):
        raise ValueError(f"anchors must be a finite number >= 0, got {anchors!r}")
    return _departure_labels(
        seed,
        policy,
        expert,
        steps,
        horizon,
        continuation,
        reward,
        n_agents,
        every,
        worlds,
        anchors,
        model_kw,
    )


def _departure_labels(
    seed,
    policy,
    expert,
    steps,
    horizon,
    continuation,
    reward,
    n_agents,
    every,
    worlds,
    anchors,
    model_kw,
) -> Iterator[Label]:
    model, cont, reward, provenance = _setup(
        seed, policy, continuation, reward, n_agents, horizon, worlds, model_kw
    )
    ref = make_policy(expert)
    if ref is model.policy:
        ref = copy.deepcopy(ref)
    bind(ref, model)
    provenance["expert"] = policy_label(expert)
    pick = np.random.default_rng([seed, 0xA2C40])

    def label(before, obs, action, candidates, expert_action, kind):
        return label_decision(
            before,
            obs,
            action,
            seed=seed,
            horizon=horizon,
            continuation=cont,
            reward=reward,
            worlds=worlds,
            provenance={**provenance, "kind": kind},
            candidates=candidates,
            expert_action=expert_action,
        )

    owed = 0.0  # anchors owed to the departures seen so far
    for t in range(steps):
        if t == 0 or t % every:
            model.step()
            continue
        before, obs, (mine, theirs) = observed_step(model, cont, also=ref)
        agree = []
        for i in range(len(obs)):
            if len(obs[i].candidates) < 2:
                continue
            a, b = mine[i].action, theirs[i].action
            if a == b:
                agree.append(i)
                continue
            owed += anchors
            yield label(before, obs[i], a, [a, b], b, "departure")
        take = min(int(owed), len(agree))
        owed -= take
        for i in sorted(pick.permutation(agree)[:take].tolist()):
            o, a = obs[i], mine[i].action
            others = [k for k, c in enumerate(o.candidates) if c != a]
            probs = mine[i].probs
            if probs is not None and len(probs) == len(o.candidates):
                other = o.candidates[max(others, key=lambda k: probs[k])]
            else:
                other = o.candidates[int(pick.choice(others))]
            yield label(before, o, a, [a, other], a, "anchor")


def preference_pairs(
    labels: Iterable[Label], margin: float = 0.25, against: str = "all"
) -> list[dict[str, Any]]:
    """(chosen, rejected) pairs for preference learning, ``margin`` in reward units (ties
    and near-ties make no pair). ``against="all"``: per label, its best candidate against
    every candidate whose reward is at least ``margin`` lower. ``against="policy"``: only
    corrections of the policy's own action: the best candidate against the action the
    policy took, when that is at least ``margin`` lower (what an on-policy learner needs
    to change; rankings among actions it does not take are left alone).
    ``against="expert"`` (labels with an ``expert_action``, :func:`label_departures`):
    the expert's answer against every other candidate, unless that candidate's reward
    beats the expert's by at least ``margin``, in which case the pair is turned round
    (``"overturned": True``): the expert is the default, the outcome overrides it where
    it is clear. Every pair's ``margin`` is the chosen answer's reward minus the
    rejected one's; a kept expert answer can have a small negative one."""
    if not margin > 0:
        raise ValueError(f"margin must be > 0, got {margin!r}")
    if against not in ("all", "policy", "expert"):
        raise ValueError(f"against must be 'all', 'policy' or 'expert', got {against!r}")
    if against == "expert":
        return _expert_pairs(labels, margin)
    out = []
    for lab in labels:
        k = int(np.argmax(lab.rewards))
        rivals: Iterable[int] = range(len(lab.candidates))
        if against == "policy":
            if lab.policy_action not in lab.candidates:
                continue
            mine = lab.candidates.index(lab.policy_action)
            if mine != k:
                rivals = [mine]
        for j in rivals:
            r = lab.rewards[j]
            if lab.rewards[k] - r >= margin:
                out.append(
                    {
                        "prompt": lab.prompt,
                        "chosen": lab.candidates[k],
                        "rejected": lab.candidates[j],
                        "margin": lab.rewards[k] - r,
                        "seed": lab.seed,
                        "step": lab.step,
                        "agent_id": lab.agent_id,
                        "provenance": lab.provenance,
                    }
                )
    return out


def _expert_pairs(labels: Iterable[Label], margin: float) -> list[dict[str, Any]]:
    out = []
    for lab in labels:
        if lab.expert_action is None or lab.expert_action not in lab.candidates:
            continue
        e = lab.candidates.index(lab.expert_action)
        for j, cand in enumerate(lab.candidates):
            if j == e:
                continue
            gap = lab.rewards[j] - lab.rewards[e]
            flip = gap >= margin
            out.append(
                {
                    "prompt": lab.prompt,
                    "chosen": cand if flip else lab.expert_action,
                    "rejected": lab.expert_action if flip else cand,
                    # chosen's reward minus rejected's, as in the other modes: below
                    # zero where the expert is kept though the other did a little better
                    "margin": abs(gap) if flip else -gap,
                    "overturned": bool(flip),
                    "seed": lab.seed,
                    "step": lab.step,
                    "agent_id": lab.agent_id,
                    "provenance": lab.provenance,
                }
            )
    return out


def write_jsonl(path: str | Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Write ``rows`` as JSON lines, atomically."""
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    return atomic_write_text(path, text)
