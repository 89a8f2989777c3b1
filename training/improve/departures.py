"""What a student learnt: where it departs from the expert, and whether the departures win.

The student drives the swarm in closed loop; every ``every``-th step the expert is asked
about the same observations (as :mod:`swarm.experiments.agreement` does the other way
round). Each decision where the two differ is a departure, grouped by the student's and
the expert's action kinds and the situation (holding a task, a task in view, nothing in
view). A seeded sample of departures is scored by counterfactual rollout: both actions
played from the state before the step, continued by ``continuation`` for ``horizon``
steps in ``worlds`` futures (common random numbers; :func:`training.counterfactual.play`),
and the paired gain (student's action − expert's) averaged over the worlds. A group whose
mean gain is above zero is where the student departs from the expert and wins; the
examples show the observation's situation and both actions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from swarm.interface.text import render_action, render_user
from swarm.model import SwarmModel
from swarm.policies import bind, make_policy


def situation(obs) -> str:
    if obs.task is not None:
        return "holding a task"
    if obs.tasks:
        return "task in view"
    return "nothing in view"


def departures(
    student: Any,
    seeds: list[int],
    *,
    expert: str = "heuristic",
    n_agents: int = 20,
    steps: int = 100,
    every: int = 2,
    sample: int = 60,
    horizon: int = 15,
    worlds: int = 4,
    continuation: str = "heuristic",
    reward=None,
    examples: int = 2,
    seed: int = 0,
) -> dict[str, Any]:
    """The student's departures from ``expert`` on ``seeds`` (see the module docstring):
    ``decisions`` asked, ``departures`` found, and ``groups`` (per student kind, expert
    kind and situation: count, share of decisions, scored, mean gain and its standard
    error, wins, examples), largest first."""
    from training.counterfactual import TeamReward, observed_step, play

    reward = reward or TeamReward()
    policy = make_policy(student)
    pick = np.random.default_rng([seed, 0xDE9A])
    groups: dict[tuple[str, str, str], dict[str, Any]] = defaultdict(
        lambda: {"count": 0, "gains": [], "examples": []}
    )
    reservoir: list[dict[str, Any]] = []  # a uniform sample of the departures (Algorithm R)
    decisions = found = 0
    cont = make_policy(continuation)
    for run_seed in seeds:
        model = SwarmModel(n_agents=n_agents, policy=policy, rng=run_seed)
        ref = make_policy(expert)
        bind(ref, model)
        for t in range(steps):
            if t % every:
                model.step()
                continue
            before, obs, (mine, theirs) = observed_step(model, cont, also=ref)
            for i in range(len(obs)):
                o = obs[i]
                if len(o.candidates) < 2:
                    continue
                decisions += 1
                a, b = mine[i].action, theirs[i].action
                if a == b:
                    continue
                key = (a.kind.value, b.kind.value, situation(o))
                groups[key]["count"] += 1
                found += 1
                d = {
                    "seed": run_seed,
                    "step": o.step,
                    "obs": o,
                    "student": a,
                    "expert": b,
                    "state": before,
                    "key": key,
                }
                if len(reservoir) < sample:
                    reservoir.append(d)
                else:
                    j = int(pick.integers(found))
                    if j < sample:
                        reservoir[j] = d
    for d in sorted(reservoir, key=lambda d: (d["seed"], d["step"], d["obs"].index)):
        g = groups[d["key"]]
        i = d["obs"].index
        gain = [
            play(d["state"], i, d["student"], horizon, cont, reward, w)
            - play(d["state"], i, d["expert"], horizon, cont, reward, w)
            for w in range(worlds)
        ]
        g["gains"].append(float(np.mean(gain)))
        if len(g["examples"]) < examples:
            g["examples"].append(
                {
                    "seed": d["seed"],
                    "step": d["step"],
                    "agent_id": d["obs"].agent_id,
                    "observation": render_user(d["obs"]),
                    "student": render_action(d["student"]),
                    "expert": render_action(d["expert"]),
                    "gain": round(float(np.mean(gain)), 3),
                }
            )
    rows = []
    for (s, e, where), g in groups.items():
        x = np.array(g["gains"])
        rows.append(
            {
                "student": s,
                "expert": e,
                "situation": where,
                "count": g["count"],
                "share_of_decisions": g["count"] / decisions if decisions else float("nan"),
                "scored": len(x),
                "mean_gain": float(x.mean()) if len(x) else None,
                "se": float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None,
                "wins": int((x > 0).sum()),
                "losses": int((x < 0).sum()),
                "examples": g["examples"],
            }
        )
    rows.sort(key=lambda r: -r["count"])
    all_gains = np.array([v for g in groups.values() for v in g["gains"]])
    return {
        "seeds": list(seeds),
        "decisions": decisions,
        "departures": found,
        "agreement": 1 - found / decisions if decisions else float("nan"),
        "scored": len(all_gains),
        "mean_gain": float(all_gains.mean()) if len(all_gains) else None,
        "se": float(all_gains.std(ddof=1) / np.sqrt(len(all_gains)))
        if len(all_gains) > 1
        else None,
        "horizon": horizon,
        "worlds": worlds,
        "continuation": continuation,
        "groups": rows,
    }
