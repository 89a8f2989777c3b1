"""Swarm vs single agent: the research benchmark's headline ratios, as a benchmark.

Runs :func:`swarm.experiments.swarm_vs_single.swarm_vs_single` (full: 10 seeds, 20
agents, 300 steps; quick:
3 seeds, 10 agents, 150 steps) into a temporary directory and reports, within that one
run on one machine:

* ``throughput_ratio_vs_alone``: the swarm's tasks per agent ÷ an agent's alone (its
  share of the load);
* ``throughput_ratio_vs_uncoordinated``: the swarm ÷ N uncoordinated agents (no traces,
  deference, handoffs or vote);
* ``collective_intelligence_ratio`` and ``collective_intelligence_ratio_full_load``: the
  swarm's output ÷ its agents' summed output alone, with their share of the load and with
  the whole load;
* ``decision_quality_weighted_vs_plurality``: weighted votes ÷ plurality votes;
* ``mean_paired_corr``: the mean over the N-agent conditions of the per-seed correlation of
  their throughput with the swarm's (what the common random numbers buy);
* the swarm's completion rate and the wall time.

    python -m benchmarks.swarm_vs_single [--quick] [--json] [--workers N]
"""

from __future__ import annotations

import tempfile
import time

import pandas as pd

from benchmarks._common import emit, parser
from swarm.experiments.swarm_vs_single import VARIANTS, BenchConfig, swarm_vs_single


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    if args.quick:
        cfg = BenchConfig(seeds=3, steps=150, first_seed=args.seed, model={"n_agents": 10})
    else:
        cfg = BenchConfig(seeds=10, first_seed=args.seed)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        table = swarm_vs_single(out, cfg, workers=args.workers).set_index("condition")
        wall = time.perf_counter() - start
        paired = pd.read_csv(f"{out}/paired.csv")
    t = table["throughput_per_agent"]
    group = paired[(paired.metric == "throughput_per_agent") & paired.condition.isin(VARIANTS)]
    corr = group["corr"]
    q = table["decision_quality"]
    if not args.json:
        print(table[["throughput_per_agent", "completion_rate", "collective_intelligence_ratio"]])
    emit(
        {
            "throughput_ratio_vs_alone": round(t["swarm"] / t["alone"], 3),
            "throughput_ratio_vs_uncoordinated": round(t["swarm"] / t["uncoordinated"], 3),
            "collective_intelligence_ratio": round(
                table.loc["swarm", "collective_intelligence_ratio"], 3
            ),
            "collective_intelligence_ratio_full_load": round(
                table.loc["swarm", "collective_intelligence_ratio_full_load"], 3
            ),
            "decision_quality_weighted_vs_plurality": round(q["swarm"] / q["plurality"], 3),
            "mean_paired_corr": round(float(corr.mean()), 3),
            "swarm_completion_rate": round(table.loc["swarm", "completion_rate"], 3),
            "seeds": cfg.seeds,
            "n_agents": cfg.model.n_agents,
            "wall_s": round(wall, 1),
            "quick": args.quick,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
