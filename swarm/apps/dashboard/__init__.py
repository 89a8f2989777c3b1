"""The dashboard (``swarm dashboard``): a Solara page for a live swarm, in four tabs.

* **World**: the grid over the world's whole extent, the chosen trace channel as a heat
  map on a fixed scale, agents by main domain (colour) and soul level (size), tasks by
  type (symbol) and state (fill), a legend; live plots of throughput, conflicts and
  handoffs, mean XP. A click on an agent selects it.
* **Emergence**: each indicator over time, full width, with its null band, a marker where
  it is detected, the regime it was computed on and what it measures; Ψ, Δ, Γ and the
  collective-intelligence ratio on request.
* **Souls**: every agent's level, XP, skills, meta-learning fields and achievements, and
  the level distribution.
* **Decisions**: the latest synthesis decisions (proposals, weights, winner, quality vs
  the best member) and the selected agent's last decision with its candidates'
  probabilities (language-model policies).

The sidebar plays, steps and resets the run, shows each parameter's value and unit, and
exports the run (:mod:`.export`). Charts are ECharts (canvas, in the browser), served
from the ``solara-assets`` package: no network. Each browser tab has its own run
(:class:`.session.Session`), built from the config named by ``$SWARM_DASHBOARD_CONFIG``
(defaults otherwise).
"""

from __future__ import annotations

import os

import solara
import solara.lab

from swarm.config import RunConfig, load_config

from .session import Session
from .views import TABLE_CSS, Controls, DecisionsTab, EmergenceTab, SoulsTab, WorldTab

CONFIG_ENV = "SWARM_DASHBOARD_CONFIG"
TABS = ("World", "Emergence", "Souls", "Decisions")


def start_config() -> RunConfig:
    """The config the page starts from (``$SWARM_DASHBOARD_CONFIG``, else the defaults)."""
    path = os.environ.get(CONFIG_ENV)
    return load_config(path) if path else RunConfig()


@solara.component
def Page():
    session = solara.use_memo(lambda: Session(start_config()), dependencies=[])
    tick = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    tab = solara.use_reactive(0)
    version = solara.use_reactive(0)  # bumped when the run is rebuilt or the channel changes
    solara.Title("Swarm lab")
    solara.Style(TABLE_CSS)
    with solara.Row(style={"align-items": "flex-start", "flex-wrap": "nowrap"}):
        with solara.Column(style={"width": "330px", "min-width": "330px"}):
            Controls(session, tick, playing, version)
        with (
            solara.Column(style={"flex": "1", "min-width": "0"}),
            solara.lab.Tabs(value=tab, lazy=True),
        ):
            with solara.lab.Tab(TABS[0]):
                WorldTab(session, tick, version)
            with solara.lab.Tab(TABS[1]):
                EmergenceTab(session, tick, playing.value)
            with solara.lab.Tab(TABS[2]):
                SoulsTab(session, tick)
            with solara.lab.Tab(TABS[3]):
                DecisionsTab(session, tick)


page = Page
