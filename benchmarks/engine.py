"""Engine benchmark: how fast the swarm steps, against the naive way of writing it.

Measures, in one run on one machine:

* agent-steps per second of ``SwarmModel`` with the heuristic policy at 100, 1,000,
  10,000 and (full mode) 100,000 agents (the grid grows with the population: 20 agents
  per 30x30 cells), a day end of every soul counted in its share (one in
  ``steps_per_day`` steps: :func:`timed_run`), and the seconds each model takes to build
  (``build_s``);
* Mesa's own floor at the same counts: agent-steps per second of
  ``model.agents.shuffle_do("step")`` over as many agents whose ``step`` does nothing,
  the best of three timings (``mesa_floor_agent_steps_per_s``, and ``vs_mesa_floor``: our
  rate over it);
* peak memory per agent while a model is built and stepped twice, from ``tracemalloc``
  (``bytes_per_agent``: 1,000 agents in quick mode, 1,000 and 10,000 in full mode;
  tracing 100,000 agents' objects needs more than the 24 GiB of the reference machine);
* the same rules written the naive way (per-agent decisions, reading cells one by one
  through Mesa's per-cell property access: ``observe="cells"`` with
  ``NaiveHeuristicPolicy``) over the same steps of the same worlds; ``speedup_vs_naive``
  is the ratio at 1,000 agents (the naive run takes the same decisions, a test checks
  it);
* one trace update (decay + diffusion + floor, 4 channels, 1000x1000) against a plain
  numpy copy of the same arrays into arrays allocated beforehand (``np.copyto``: a copy
  that allocates measures the allocator and varies from run to run);
* what Mesa's side of the array engine costs when something reads it
  (``mesa_sync_us_per_agent``: one :meth:`swarm.space.AgentSpace.sync` after a step, per
  agent; a step nobody reads through Mesa does not pay it).

``--plot FIG.png`` draws agent-steps/s (ours and Mesa's floor) and memory per agent
against the number of agents.

    python -m benchmarks.engine [--quick] [--json] [--plot FIG.png]
"""

from __future__ import annotations

import gc
import math
import time
import tracemalloc

import mesa
import numpy as np

from benchmarks._common import best_of, emit, parser
from swarm import SwarmModel, mechanics, rollout
from swarm.policies import NaiveHeuristicPolicy
from swarm.world.traces import ChannelSpec, TraceGrid


def side_for(n_agents: int) -> int:
    return max(10, round(30 * math.sqrt(n_agents / 20)))


def build(n_agents: int, seed: int, naive: bool = False) -> tuple[SwarmModel, float]:
    """A benchmark model of ``n_agents`` and the seconds building it took."""
    side = side_for(n_agents)
    kw = dict(n_agents=n_agents, width=side, height=side, rng=seed)
    t = time.perf_counter()
    if naive:
        model = SwarmModel(
            **kw, policy=NaiveHeuristicPolicy(), observe="cells", agent_report_every=0
        )
    else:
        model = SwarmModel(**kw, policy="heuristic", agent_report_every=0)
    return model, time.perf_counter() - t


def agent_steps_per_s(n_agents: int, steps: int, seed: int, naive: bool = False) -> float:
    return timed_run(n_agents, steps, seed, naive)[0]


def timed_run(n_agents: int, steps: int, seed: int, naive: bool = False) -> tuple[float, float]:
    """(agent-steps per second over ``steps`` after a warm-up, a day end's share
    included, build seconds).

    Souls end a day every ``steps_per_day`` steps (every soul at once): a window of a few
    steps would count a day end whole or not at all, so the window runs without one and
    one day end, timed on its own, is added in its share ``steps / steps_per_day``."""
    model, build_s = build(n_agents, seed, naive)
    rollout(model, 3 if n_agents >= 100_000 else 10)  # warm up: tasks arrive, traces build
    per_day, model.steps_per_day = model.steps_per_day, 10**9  # no day end in the window
    t = time.perf_counter()
    rollout(model, steps)
    window = time.perf_counter() - t
    t = time.perf_counter()
    mechanics.end_day(model, model.steps // per_day)
    day_end = time.perf_counter() - t
    return n_agents * steps / (window + day_end * steps / per_day), build_s


class _Idle(mesa.Agent):
    def step(self) -> None:
        pass


def mesa_floor(n_agents: int, steps: int, seed: int, repeats: int = 3) -> float:
    """Agent-steps per second of Mesa's own activation over agents that do nothing: the
    best of ``repeats`` timings of ``steps`` steps (one short timing swings by a third
    on a busy machine)."""
    model = mesa.Model(rng=seed)
    _Idle.create_agents(model, n_agents)

    def run() -> None:
        for _ in range(steps):
            model.agents.shuffle_do("step")

    return n_agents * steps / best_of(run, repeats)


def sync_us_per_agent(n_agents: int, seed: int) -> float:
    """Microseconds per agent of bringing Mesa's cells up to date after one step."""
    model, _ = build(n_agents, seed)
    rollout(model, 2)
    model.step()
    t = time.perf_counter()
    model.space.sync()
    return (time.perf_counter() - t) / n_agents * 1e6


def bytes_per_agent(n_agents: int, seed: int) -> float:
    """Peak traced memory of building a model and stepping it twice, per agent."""
    tracemalloc.start()
    try:
        model, _ = build(n_agents, seed)
        rollout(model, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.collect()
    return peak / n_agents


def trace_update_vs_copy(size: int, repeats: int, seed: int) -> tuple[float, float, float]:
    specs = {
        c: ChannelSpec(decay=0.1, diffusion=0.2) for c in ("claim", "help", "success", "explored")
    }
    grid = TraceGrid(size, size, specs)
    rng = np.random.default_rng(seed)
    arrays = [grid._data[c] for c in specs]
    for a in arrays:
        a[:] = rng.random(a.shape)
    grid.step()  # compile the kernels (numba) before timing
    t_step = best_of(grid.step, repeats)
    dest = [np.empty_like(a) for a in arrays]
    t_copy = best_of(lambda: [np.copyto(d, a) for d, a in zip(dest, arrays, strict=True)], repeats)
    return t_step, t_copy, t_step / t_copy


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--plot", metavar="FIG.png", help="write the scaling figure here")
    args = p.parse_args()
    rollout(build(100, args.seed)[0], 2)  # compile the trace kernels before any timing
    if args.quick:
        steps = {100: 30, 1000: 10, 10000: 5}
    else:
        steps = {100: 200, 1000: 50, 10000: 20, 100_000: 5}
    rates, builds, floors = {}, {}, {}
    for n, k in steps.items():
        rate, built = timed_run(n, k, args.seed)
        rates[str(n)], builds[str(n)] = rate, built
        floors[str(n)] = mesa_floor(n, max(k, 5), args.seed)
        gc.collect()  # a Mesa model is a web of cycles: free it before the next size
        if not args.json:
            print(
                f"{n:>7} agents: {rate:>10.0f} agent-steps/s ({rate / n:.2f} steps/s), "
                f"built in {built:.2f} s; Mesa's empty-step floor {floors[str(n)]:>10.0f}"
            )
    # tracemalloc's own bookkeeping of 100,000 agents' objects does not fit in 24 GiB
    sizes = (1000,) if args.quick else (1000, 10000)
    memory = {str(n): bytes_per_agent(n, args.seed) for n in sizes}
    # the naive run times the same steps of the same worlds as ours (a later window is
    # busier: more tasks held and in view)
    naive = {str(n): agent_steps_per_s(n, steps[n], args.seed, naive=True) for n in (100, 1000)}
    speedup = rates["1000"] / naive["1000"]
    sync = {str(n): sync_us_per_agent(n, args.seed) for n in steps if n >= 1000}
    t_step, t_copy, ratio = trace_update_vs_copy(1000, 3 if args.quick else 10, args.seed)
    if not args.json:
        print(f"naive: {naive}; speedup at 1,000 agents: {speedup:.1f}x")
        print(f"trace update {t_step * 1e3:.1f} ms vs copy {t_copy * 1e3:.1f} ms: {ratio:.2f}x")
        print("bytes per agent: " + ", ".join(f"{k}: {v:,.0f}" for k, v in memory.items()))
    biggest = str(max(steps))
    if args.plot:
        scaling_figure(rates, floors, memory, args.plot)
    emit(
        {
            "agent_steps_per_s": {k: round(v, 1) for k, v in rates.items()},
            "naive_agent_steps_per_s": {k: round(v, 1) for k, v in naive.items()},
            "speedup_vs_naive": round(speedup, 2),
            "steps_per_s_10000": round(rates["10000"] / 10000, 2),
            "trace_update_vs_copy": round(ratio, 2),
            "trace_update_ms": round(t_step * 1e3, 2),
            "copy_ms": round(t_copy * 1e3, 2),
            "build_s": {k: round(v, 3) for k, v in builds.items()},
            "mesa_floor_agent_steps_per_s": {k: round(v, 1) for k, v in floors.items()},
            "vs_mesa_floor": {k: round(rates[k] / floors[k], 3) for k in rates},
            "bytes_per_agent": {k: round(v, 1) for k, v in memory.items()},
            "mesa_sync_us_per_agent": {k: round(v, 3) for k, v in sync.items()},
            "scaling_largest_vs_1000": round(rates[biggest] / rates["1000"], 3),
            "build_largest_vs_1000": round(builds[biggest] / builds["1000"], 1),
            "quick": args.quick,
        },
        args.json,
    )


def scaling_figure(rates: dict, floors: dict, memory: dict, path: str) -> None:
    """Agent-steps/s (ours and Mesa's empty-step floor) and bytes per agent vs agents."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    n = [int(k) for k in rates]
    left.loglog(n, list(rates.values()), "o-", label="SwarmModel.step (heuristic)")
    left.loglog(n, [floors[k] for k in rates], "s--", label="Mesa floor: empty shuffle_do")
    left.set_xlabel("agents")
    left.set_ylabel("agent-steps per second")
    left.legend(fontsize=8)
    left.grid(True, which="both", alpha=0.3)
    right.semilogx([int(k) for k in memory], [v / 1024 for v in memory.values()], "o-")
    right.set_xlabel("agents")
    right.set_ylabel("peak KiB per agent (tracemalloc)")
    right.set_ylim(bottom=0)
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
