"""Calibration of learned expertise and whether levels track competence (issue 23).

    .venv/bin/python experiments/soul_calibration.py --seeds 10 --steps 400 [--json]

Runs the default expert swarm (weighted voting) in a dense world (20 agents, 25 x 25,
2 tasks a step) on seeds 0..N-1 and pools every member proposal of every synthesis
decision: the member's estimated accuracy (its soul's Beta posterior before the
decision) against the share of its proposal that was right (swarm.analysis.souls).
Levels and XP are read at the run's midpoint and compared with each agent's competence in the
second half (out of sample): Spearman's rho per seed, with a t interval over seeds.
The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from scipy import stats

from soul import Level
from swarm import SwarmModel
from swarm.analysis.souls import calibration, calibration_error, level_competence

WORLD = dict(n_agents=20, size=25, task_rate=2.0)


def one_run(seed: int, steps: int):
    m = SwarmModel(**WORLD, rng=seed)
    levels, xp = {}, {}
    for t in range(steps):
        m.step()
        if t + 1 == steps // 2:
            levels = {int(a.unique_id): Level(a.soul.level).rank for a in m.swarm}
            xp = {int(a.unique_id): a.soul.xp for a in m.swarm}
    dec = m.datacollector.get_table_dataframe("decisions")
    work = m.datacollector.get_table_dataframe("work")
    _, rho = level_competence(dec, work, levels, after=steps // 2)
    _, rho_xp = level_competence(dec, work, xp, after=steps // 2)
    rho |= {f"xp_{k}": v for k, v in rho_xp.items()}
    rho["levels_seen"] = len(set(levels.values()))
    return dec, rho


def interval(values) -> list[float]:
    """Mean and t interval over seeds (seeds where the correlation is undefined are left
    out); NaNs when fewer than two remain."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if len(v) < 2:
        return [float("nan")] * 3
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return [
        round(float(v.mean()), 3),
        round(float(v.mean() - half), 3),
        round(float(v.mean() + half), 3),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--json", action="store_true", help="only the JSON line")
    ap.add_argument("--plot", help="write the reliability diagram here (PNG)")
    args = ap.parse_args()
    decs, rhos = [], []
    for seed in range(args.seeds):
        dec, rho = one_run(seed, args.steps)
        decs.append(dec)
        rhos.append(rho)
    table = calibration(pd.concat(decs, ignore_index=True))
    out = {
        "seeds": args.seeds,
        "steps": args.steps,
        "proposals": int(table["n"].sum()),
        "calibration_error": round(calibration_error(table), 4),
        "reliability": [
            [round(float(r.estimated), 3), round(float(r.realised), 3), int(r.n)]
            for r in table.itertuples()
        ],
        "rho_level_accuracy": interval(r["rho_accuracy"] for r in rhos),
        "rho_level_quality": interval(r["rho_quality"] for r in rhos),
        "rho_xp_accuracy": interval(r["xp_rho_accuracy"] for r in rhos),
        "rho_xp_quality": interval(r["xp_rho_quality"] for r in rhos),
        "levels_seen": [r["levels_seen"] for r in rhos],
    }
    if args.plot:
        from swarm.analysis.plots import reliability_figure, save_figure

        save_figure(reliability_figure(table), args.plot)
    if not args.json:
        print(table.round(3).to_string(index=False))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
