"""Learned vote weights once souls carry their track records (issue 23).

    .venv/bin/python experiments/learned_weights_carried.py      # about 2.5 minutes on 2 cores

Runs the soul-persistence chains (swarm.experiments.persistence: 10 seeds x 5 episodes of
300 steps, 20 agents, 25 x 25, 2 tasks a step) under each voting rule. Episode seeds do
not depend on the rule, so every rule sees the same worlds; the carried souls' decision
quality of each rule minus plurality's is paired by (seed, episode). Prints one JSON
object: per rule, per episode, [mean difference, 95 % t interval].
"""

import json

import numpy as np
from scipy import stats

from swarm.experiments.persistence import PersistenceConfig, soul_persistence


def main():
    rows = {}
    for rule in ("plurality", "weighted", "log_odds", "oracle"):
        cfg = PersistenceConfig(
            seeds=10,
            episodes=5,
            steps=300,
            metrics=["decision_quality"],
            model={"n_agents": 20, "size": 25, "task_rate": 2.0, "voting": rule},
        )
        per, _ = soul_persistence(f"runs/learned-weights-carried/{rule}", cfg, workers=2)
        rows[rule] = per[per.condition == "carried"].set_index(["seed", "episode"])[
            "decision_quality"
        ]
    out = {}
    for rule in ("weighted", "log_odds", "oracle"):
        d = (rows[rule] - rows["plurality"]).dropna()
        res = {}
        for e, g in d.groupby(level="episode"):
            m, s, n = g.mean(), g.std(ddof=1), len(g)
            h = stats.t.ppf(0.975, n - 1) * s / np.sqrt(n)
            res[int(e)] = [round(m, 4), round(m - h, 4), round(m + h, 4)]
        out[rule] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
