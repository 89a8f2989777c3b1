"""The dashboard: a Mesa SolaraViz page for a live swarm (``swarm dashboard``).

Page 0 (the model): the grid, with the trace channel chosen above it drawn as a heat map
of its property layer, agents coloured by main domain and sized by soul level, tasks
marked by type; live plots of throughput, conflict rate, handoff success, mean XP and the
level distribution. Page 1 (Emergence): division of labour, spatial entropy, the
novel-solution rate over time, and the collective-intelligence ratio (the swarm's output
÷ the same agents' output working alone, computed on request).

The controls are the model's parameters (agents, task rate, trace decay and diffusion,
voting rule, policy, seed). A language-model policy (``lm:PATH`` in the config's
``model.policy``) is loaded once, when the page is built; resets reuse it (models are
cached by path, :func:`swarm.policies.lm.load_model`).

``page`` is built from the run config named by ``$SWARM_DASHBOARD_CONFIG`` (defaults
otherwise); ``make_page(config)`` builds one for any config.
"""

from __future__ import annotations

import os
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from swarm.config import RunConfig, load_config
from swarm.experiments.rollout import rollout
from swarm.model import SwarmModel
from swarm.policies import POLICIES
from swarm.world.voting import RULES as VOTING_RULES

CONFIG_ENV = "SWARM_DASHBOARD_CONFIG"
channel = solara.reactive("claim")


class DashboardModel(SwarmModel):
    """A :class:`SwarmModel` that remembers the parameters it was built with (SolaraViz
    rebuilds it from them on reset; the collective-intelligence ratio reruns them alone)."""

    def __init__(self, **kwargs: Any) -> None:  # named so Mesa's parameter check accepts it
        super().__init__(**kwargs)
        self.kwargs = kwargs


def model_params(cfg: RunConfig) -> dict[str, Any]:
    """SolaraViz controls for the model's parameters, starting from ``cfg``."""
    m = cfg.model
    policies = [p for p in POLICIES if p != "heuristic-naive"]
    if m.policy not in policies:
        policies.append(m.policy)
    rate = m.rate
    fixed = m.kwargs()
    for k in ("n_agents", "task_rate", "trace_decay", "trace_diffusion", "voting", "policy"):
        fixed.pop(k, None)
    return {
        "n_agents": {"type": "SliderInt", "value": m.n_agents, "label": "agents", "min": 1,
                     "max": 100, "step": 1},
        "task_rate": {"type": "SliderFloat", "value": round(rate, 2), "label": "task rate",
                      "min": 0.0, "max": 5.0, "step": 0.05},
        "trace_decay": {"type": "SliderFloat", "value": m.trace_decay or 0.05,
                        "label": "trace decay", "min": 0.0, "max": 1.0, "step": 0.01},
        "trace_diffusion": {"type": "SliderFloat", "value": m.trace_diffusion or 0.1,
                            "label": "trace diffusion", "min": 0.0, "max": 1.0, "step": 0.01},
        "voting": {"type": "Select", "value": m.voting, "values": list(VOTING_RULES),
                   "label": "voting rule"},
        "policy": {"type": "Select", "value": m.policy, "values": policies, "label": "policy"},
        "rng": {"type": "SliderInt", "value": cfg.seed, "label": "seed", "min": 0,
                "max": 10_000, "step": 1},
        **fixed,
    }  # fmt: skip


@solara.component
def GridView(model: SwarmModel):
    """The grid, with a selector for the trace channel shown."""
    from swarm.analysis.plots import grid_figure

    update_counter.get()
    with solara.Column():
        solara.ToggleButtonsSingle(value=channel, values=list(model.channel_names))
        fig = Figure(figsize=(6.2, 5.4))
        grid_figure(model, channel.value, ax=fig.subplots())
        solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")


@solara.component
def LevelsView(model: SwarmModel):
    from swarm.analysis.plots import level_figure

    update_counter.get()
    fig = Figure(figsize=(4.5, 3.0))
    level_figure(model.level_names, ax=fig.subplots())
    solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")


def solo_output(model: DashboardModel) -> float:
    """Tasks the same agents complete working alone, each with 1/N of the task load, over
    as many steps as ``model`` has run (same seed and parameters)."""
    n, steps = len(model.swarm), model.steps
    rate = model.params.rate
    total = 0
    for k in range(n):
        alone = SwarmModel(**{**model.kwargs, "alone": k, "task_rate": rate / n})
        total += rollout(alone, steps).counts.completed
    return float(total)


@solara.component
def EmergenceView(model: DashboardModel):
    """Page 1: emergence metrics over time with their nulls, and the
    collective-intelligence ratio."""
    from swarm.analysis.emergence import collective_intelligence_ratio
    from swarm.analysis.emergence_report import emergence_report
    from swarm.analysis.plots import emergence_figure

    update_counter.get()
    ratio, set_ratio = solara.use_state(None)

    def compute() -> None:
        value = collective_intelligence_ratio(model.counts.completed, solo_output(model))
        set_ratio((model.steps, value))

    with solara.Column():
        solara.Markdown("## Emergence")
        if model.steps >= 2:
            # label-shuffle and sign-test nulls are cheap; Ψ/Δ/Γ are left to the report
            report = emergence_report(
                model, window=max(5, model.steps // 10), n_surrogates=50, measures=()
            )
            fig = emergence_figure(
                report, ["division_of_labour", "position_entropy", "novel_solution_rate"]
            )
            solara.FigureMatplotlib(fig, format="png", bbox_inches="tight")
        else:
            solara.Text("Step the model to see emergence metrics over time.")
        with solara.Row():
            solara.Button("collective-intelligence ratio", on_click=compute)
            if ratio is not None:
                solara.Text(f"at step {ratio[0]}: {ratio[1]:.2f} (swarm ÷ agents alone)")


def make_page(config: RunConfig | str | None = None):
    """A SolaraViz page for ``config`` (a RunConfig, a YAML path, or the defaults)."""
    cfg = (
        config
        if isinstance(config, RunConfig)
        else (load_config(config) if config else RunConfig())
    )
    params = model_params(cfg)
    start = {k: (v["value"] if isinstance(v, dict) else v) for k, v in params.items()}
    model = DashboardModel(**start)  # loads a language-model policy once; resets reuse it
    components = [
        (GridView, 0),
        make_plot_component("throughput", page=0),
        make_plot_component({"conflict_rate": "#c44e52", "handoff_success_rate": "#55a868"},
                            page=0),
        make_plot_component("mean_xp", page=0),
        (LevelsView, 0),
        (EmergenceView, 1),
    ]  # fmt: skip
    return SolaraViz(model, components=components, model_params=params, name="Swarm lab")


page = make_page(os.environ.get(CONFIG_ENV) or None)
