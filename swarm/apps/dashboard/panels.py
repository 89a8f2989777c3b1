"""What the Emergence, Souls and Decisions tabs show, as frames and text built from a model
(no Solara here): the indicators and their one-line explanations, the live emergence
report and the regime it was computed on, the souls table, the latest synthesis decisions
and an agent's last decision with its candidates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from swarm.analysis.emergence_report import emergence_report
from swarm.metrics import table_frame


@dataclass(frozen=True)
class Indicator:
    """An emergence indicator drawn over time: the report's metric, its title, the unit
    of its y axis and what it measures, in a line."""

    metric: str
    title: str
    unit: str
    explanation: str


def indicators(channel: str) -> tuple[Indicator, ...]:
    """The indicators the Emergence tab draws (the trace entropy is ``channel``'s)."""
    return (
        Indicator(
            "division_of_labour",
            "division of labour",
            "I(agent; domain) / H(domain)",
            "How much knowing who did a unit of work tells you about its domain, per window: "
            "0 = every agent spreads its work like the swarm does, 1 = each domain has its own "
            "specialists. Null: the same work records with their domains shuffled.",
        ),
        Indicator(
            "novel_solution_rate",
            "novel-solution rate",
            "share of synthesis decisions",
            "Share of the window's group decisions better than the best member's own "
            "proposal (blue: Wilson 95 % CI). Null (dashed): the share that came out worse "
            "than the best member; detected by a one-sided sign test.",
        ),
        Indicator(
            "synergy_best",
            "synergy over the best member",
            "quality points (0-1)",
            "Group quality minus the best member's, mean over the window's decisions "
            "(blue: t 95 % CI); > 0 means the vote adds to its best member. Null: 0.",
        ),
        Indicator(
            "position_entropy",
            "spatial entropy of the agents",
            "bits",
            "Entropy of where the agents stand; falling means they gather. Null (grey "
            "fan): slopes of the series cut into 10 blocks and shuffled (whole-run test).",
        ),
        Indicator(
            "agent_clusters",
            "agent clusters",
            "connected groups",
            "Groups of agents standing next to each other (torus-aware); falling means the "
            "swarm gathers into fewer groups. Null (grey fan): block-shuffled slopes.",
        ),
        Indicator(
            f"trace_entropy_{channel}",
            f"{channel}-trace entropy",
            "bits",
            f"Entropy of the {channel} trace field's mass over the cells; falling means the "
            "traces concentrate into trails. Null (grey fan): block-shuffled slopes.",
        ),
    )


#: Whole-run tests the Emergence tab runs on request (Ψ, Δ and Γ for each micro → macro
#: pair of :data:`swarm.analysis.emergence_report.PAIRS`).
WHOLE_RUN = ("psi", "delta", "gamma")


def window_for(steps: int) -> int:
    """The live report's window: a tenth of the run, at least 10 steps."""
    return max(10, steps // 10)


def live_report(model, n_surrogates: int = 100, seed: int = 0) -> pd.DataFrame:
    """The emergence report of the run so far, without Ψ/Δ/Γ (under a second at 1,000
    steps): per-window indicators against their nulls and the whole-run trend tests."""
    return emergence_report(
        model,
        window=window_for(model.steps),
        n_surrogates=n_surrogates,
        rng=seed,
        measures=(),
    )


def whole_run_tests(frames, steps: int, n_surrogates: int = 100, seed: int = 0) -> pd.DataFrame:
    """Ψ, Δ and Γ of a run's ``frames`` (:meth:`~.session.Session.snapshot`, ``steps``
    long) against per-agent circular shifts, one row each: ``metric``, ``value``,
    ``null_lo``, ``null_hi``, ``p_value``, ``detected``."""
    report = emergence_report(
        frames, window=window_for(steps), n_surrogates=n_surrogates, rng=seed,
        measures=WHOLE_RUN,
    )  # fmt: skip
    rows = report[report["metric"].str.match(r"^(psi|delta|gamma)_")]
    return rows[["metric", "value", "null_lo", "null_hi", "p_value", "detected"]].reset_index(
        drop=True
    )


def regime(model, n_surrogates: int, steps: int | None = None) -> str:
    """The regime a report was computed on (the first ``steps`` steps of ``model``'s run;
    default: all so far), in one line."""
    m = model
    steps = m.steps if steps is None else steps
    p = m.params
    world = f"{m.width}×{m.height}{' torus' if m.torus else ''}"
    traces = "traces on" if p.stigmergy else "traces off"
    return (
        f"Computed on steps 1–{steps} of this run, in windows of {window_for(steps)} "
        f"steps, {n_surrogates} surrogates per null (each window tested at 5 %, one-sided, "
        "uncorrected: about 1 window in 20 is marked by chance): "
        f"world {world}, {len(m.swarm)} agents, "
        f"{p.rate:.2f} tasks / step, policy {p.policy if isinstance(p.policy, str) else 'openai'}, "
        f"{traces}, voting {m.voting}, seed {m.stream_seed}."
    )


# Souls ------------------------------------------------------------------------------------


def souls_frame(model) -> pd.DataFrame:
    """One row per agent: ``agent``, ``level``, ``xp``, ``main domain``, ``tasks done``,
    a ``skill <domain>`` column per domain, the meta-learning fields (the spec's names)
    and ``achievements``."""
    rows = []
    for i, agent in enumerate(model.swarm):
        soul = agent.soul
        meta = soul.meta_learning
        rows.append(
            {
                "agent": int(agent.unique_id),
                "level": model.level_names[i],
                "xp": int(model.xp[i]),
                "main domain": agent.main_domain or "",
                "tasks done": int(model.tasks_done[i]),
                **{
                    f"skill {d}": round(float(model.skills[i, k]), 2)
                    for k, d in enumerate(model.domains)
                },
                "preferredTaskTypes": ", ".join(meta.preferred_task_types),
                "strengthDomains": ", ".join(meta.strength_domains),
                "avoidPatterns": ", ".join(meta.avoid_patterns),
                "learningRate": round(float(meta.learning_rate), 3),
                "adaptabilityScore": round(float(meta.adaptability_score), 3),
                "achievements": ", ".join(a.name for a in soul.achievements),
            }
        )
    return pd.DataFrame(rows)


def soul_card(model, agent_id: int) -> dict[str, Any]:
    """The selected agent: where it is, what it holds, and its soul's headline fields."""
    i = model.index_of[agent_id]
    agent = model.swarm[i]
    soul = agent.soul
    return {
        "agent": agent_id,
        "position": (int(model.ax[i]), int(model.ay[i])),
        "holding": None if agent.task is None else int(agent.task),
        "level": model.level_names[i],
        "xp": int(model.xp[i]),
        "xp to next level": soul.xp_to_next_level,
        "achievements": [a.name for a in soul.achievements],
        "patterns": list(soul.patterns),
    }


# Decisions --------------------------------------------------------------------------------


def synthesis_frame(model, last: int = 20) -> pd.DataFrame:
    """The latest ``last`` synthesis decisions, newest first: who voted (agent:domain),
    their proposals and weights, the winner against the hidden best approach, and the
    group's quality against its best member's."""
    d = table_frame(model, "decisions")
    cols = [
        "step",
        "task",
        "rule",
        "members",
        "proposals",
        "weights",
        "winner",
        "best",
        "quality",
        "best member",
        "vs best member",
        "novel",
    ]
    if len(d) == 0:
        return pd.DataFrame(columns=cols)
    d = d.tail(last).iloc[::-1]
    return pd.DataFrame(
        {
            "step": d["step"].astype(int),
            "task": d["task_id"].astype(int),
            "rule": d["rule"],
            "members": [
                ", ".join(f"{a}:{dom}" for a, dom in zip(ag, ds, strict=True))
                for ag, ds in zip(d["agents"], d["domains"], strict=True)
            ],
            "proposals": [" ".join(p) for p in d["proposals"]],
            "weights": [" ".join(f"{w:.2f}" for w in ws) for ws in d["weights"]],
            "winner": d["winner"],
            "best": d["best"],
            "quality": d["quality"].round(2),
            "best member": d["best_member_quality"].round(2),
            "vs best member": (d["quality"] - d["best_member_quality"]).round(2),
            "novel": d["novel"].astype(bool),
        }
    ).reset_index(drop=True)


@dataclass(frozen=True)
class LastDecision:
    """An agent's decision in the last step: its candidates (canonical text), the one it
    chose, and the policy's probability of each candidate (None when the policy gives
    none, as the hand-written expert does)."""

    step: int
    agent: int
    candidates: tuple[str, ...]
    chosen: int
    probs: tuple[float, ...] | None


def last_decision(model, agent_id: int) -> LastDecision | None:
    """``agent_id``'s decision in the model's last step (None before the first)."""
    from swarm.interface.text import render_action

    record = getattr(model, "last_record", None)
    if record is None or agent_id not in model.index_of:
        return None
    i = model.index_of[agent_id]
    obs, dec = record.observations[i], record.decisions[i]
    texts = tuple(render_action(c) for c in obs.candidates)
    chosen_text = render_action(dec.action)
    chosen = texts.index(chosen_text) if chosen_text in texts else -1
    probs = None
    if dec.probs is not None and len(dec.probs) == len(texts):
        probs = tuple(float(p) for p in dec.probs)
    return LastDecision(int(record.step), agent_id, texts, chosen, probs)


def top_candidates(d: LastDecision, k: int = 12) -> tuple[list[str], list[float], int]:
    """The ``k`` most probable candidates (labels, probabilities, the chosen one's row;
    -1 when it is not among them)."""
    assert d.probs is not None
    order = list(np.argsort(d.probs)[::-1][:k])
    return (
        [d.candidates[j] for j in order],
        [d.probs[j] for j in order],
        order.index(d.chosen) if d.chosen in order else -1,
    )


def solo_output(config, steps: int) -> float:
    """Tasks the same agents complete working alone, each with 1/N of the task load, over
    ``steps`` steps of the run ``config`` describes (same seed)."""
    from swarm.experiments.rollout import rollout
    from swarm.model import SwarmModel

    n, rate = config.model.n_agents, config.model.rate
    total = 0
    for k in range(n):
        kwargs = config.model.kwargs() | {"alone": k, "task_rate": rate / n}
        total += rollout(SwarmModel(**kwargs, rng=config.seed), steps).counts.completed
    return float(total)


def collective_ratio(session) -> tuple[int, float]:
    """The collective-intelligence ratio of the session's run so far, and its step."""
    from swarm.analysis.emergence import collective_intelligence_ratio

    steps, config, frames = session.snapshot()
    completed = float(frames["model"]["completed"].iloc[-1])
    return steps, collective_intelligence_ratio(completed, solo_output(config, steps))
