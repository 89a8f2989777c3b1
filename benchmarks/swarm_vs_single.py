"""Swarm vs single agent: the research benchmark's headline ratios, as a benchmark.

Runs :func:`swarm.experiments.swarm_vs_single.swarm_vs_single` (full: 10 seeds, 20
agents, 300 steps; quick:
3 seeds, 10 agents, 150 steps) into a temporary directory and reports, within that one
run on one machine:

* ``throughput_ratio_vs_alone``: the swarm's tasks per agent ÷ an agent's alone;
* ``throughput_ratio_vs_independent``: the swarm ÷ N independent agents (no traces, no
  vote);
* ``collective_intelligence_ratio``: the swarm's output ÷ its agents' summed output alone;
* ``decision_quality_weighted_vs_plurality``: weighted votes ÷ plurality votes;
* the swarm's completion rate and the wall time.

    python -m benchmarks.swarm_vs_single [--quick] [--json] [--workers N]
"""

from __future__ import annotations

import tempfile
import time

from benchmarks._common import emit, parser
from swarm.experiments.swarm_vs_single import BenchConfig, swarm_vs_single


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
    t = table["throughput_per_agent"]
    q = table["decision_quality"]
    if not args.json:
        print(table[["throughput_per_agent", "completion_rate", "collective_intelligence_ratio"]])
    emit(
        {
            "throughput_ratio_vs_alone": round(t["swarm"] / t["alone"], 3),
            "throughput_ratio_vs_independent": round(t["swarm"] / t["independent"], 3),
            "collective_intelligence_ratio": round(
                table.loc["swarm", "collective_intelligence_ratio"], 3
            ),
            "decision_quality_weighted_vs_plurality": round(q["swarm"] / q["unweighted"], 3),
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
