"""Engine benchmark: how fast the swarm steps, against the naive way of writing it.

Measures, in one run on one machine:

* agent-steps per second of ``SwarmModel`` with the heuristic policy at 100, 1,000 and
  10,000 agents (the grid grows with the population: 20 agents per 30x30 cells);
* the same rules written the naive way (per-agent decisions, reading cells one by one
  through Mesa's per-cell property access: ``observe="cells"`` with
  ``NaiveHeuristicPolicy``) on the same worlds; ``speedup_vs_naive`` is the ratio at
  1,000 agents (the naive run takes the same decisions, a test checks it);
* one trace update (decay + diffusion, 4 channels, 1000x1000) against a plain numpy
  copy of the same arrays.

    python -m benchmarks.engine [--quick] [--json]
"""

from __future__ import annotations

import math
import time

import numpy as np

from benchmarks._common import best_of, emit, parser
from swarm import SwarmModel, rollout
from swarm.policies import NaiveHeuristicPolicy
from swarm.world.traces import ChannelSpec, TraceGrid


def side_for(n_agents: int) -> int:
    return max(10, round(30 * math.sqrt(n_agents / 20)))


def agent_steps_per_s(n_agents: int, steps: int, seed: int, naive: bool = False) -> float:
    side = side_for(n_agents)
    kw = dict(n_agents=n_agents, width=side, height=side, rng=seed)
    if naive:
        model = SwarmModel(
            **kw, policy=NaiveHeuristicPolicy(), observe="cells", agent_report_every=0
        )
    else:
        model = SwarmModel(**kw, policy="heuristic", agent_report_every=0)
    rollout(model, 10)  # warm up: tasks arrive, traces build
    t = time.perf_counter()
    rollout(model, steps)
    return n_agents * steps / (time.perf_counter() - t)


def trace_update_vs_copy(size: int, repeats: int, seed: int) -> tuple[float, float, float]:
    specs = {
        c: ChannelSpec(decay=0.1, diffusion=0.2) for c in ("claim", "help", "success", "explored")
    }
    grid = TraceGrid(size, size, specs)
    rng = np.random.default_rng(seed)
    arrays = [grid._data[c] for c in specs]
    for a in arrays:
        a[:] = rng.random(a.shape)
    t_step = best_of(grid.step, repeats)
    t_copy = best_of(lambda: [a.copy() for a in arrays], repeats)
    return t_step, t_copy, t_step / t_copy


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    steps = {100: 30, 1000: 10, 10000: 5} if args.quick else {100: 200, 1000: 50, 10000: 20}
    rates = {}
    for n, s in steps.items():
        rates[str(n)] = agent_steps_per_s(n, s, args.seed)
        if not args.json:
            print(
                f"{n:>6} agents: {rates[str(n)]:>10.0f} agent-steps/s "
                f"({rates[str(n)] / n:.1f} steps/s)"
            )
    naive_steps = 3 if args.quick else 10
    naive = {
        str(n): agent_steps_per_s(
            n, naive_steps if n > 100 else 3 * naive_steps, args.seed, naive=True
        )
        for n in (100, 1000)
    }
    speedup = rates["1000"] / naive["1000"]
    t_step, t_copy, ratio = trace_update_vs_copy(1000, 3 if args.quick else 10, args.seed)
    if not args.json:
        print(f"naive: {naive}; speedup at 1,000 agents: {speedup:.1f}x")
        print(f"trace update {t_step * 1e3:.1f} ms vs copy {t_copy * 1e3:.1f} ms: {ratio:.2f}x")
    emit(
        {
            "agent_steps_per_s": {k: round(v, 1) for k, v in rates.items()},
            "naive_agent_steps_per_s": {k: round(v, 1) for k, v in naive.items()},
            "speedup_vs_naive": round(speedup, 2),
            "steps_per_s_10000": round(rates["10000"] / 10000, 2),
            "trace_update_vs_copy": round(ratio, 2),
            "trace_update_ms": round(t_step * 1e3, 2),
            "copy_ms": round(t_copy * 1e3, 2),
            "quick": args.quick,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
