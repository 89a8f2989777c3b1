"""Calibration of learned expertise, and levels against competence (swarm.analysis.souls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from swarm import SwarmModel
from swarm.analysis.souls import calibration, calibration_error, level_competence


def _decisions(estimated, realised, agents=None):
    n = len(estimated)
    agents = agents if agents is not None else list(range(n))
    return pd.DataFrame(
        {
            "step": range(n),
            "agents": [[a] for a in agents],
            "domains": [["research"]] * n,
            "expertise": [[e] for e in estimated],
            "member_qualities": [[q] for q in realised],
        }
    )


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60))
def test_estimates_equal_to_outcomes_are_perfectly_calibrated(p):
    table = calibration(_decisions(p, p))
    assert table["n"].sum() == len(p)
    assert calibration_error(table) < 1e-9


def test_overconfidence_shows_as_the_gap():
    table = calibration(_decisions([0.9] * 50, [0.6] * 50))
    assert abs(calibration_error(table) - 0.3) < 1e-9
    assert calibration(_decisions([], [])).empty


def test_level_correlates_with_later_competence_when_it_should():
    rng = np.random.default_rng(0)
    agents = list(range(10)) * 5
    skill = {a: a / 10 for a in range(10)}
    dec = _decisions([0.5] * 50, [skill[a] + rng.normal(0, 0.01) for a in agents], agents)
    dec["step"] = 100 + np.arange(50)
    work = pd.DataFrame({"step": [200] * 10, "agent_id": range(10), "quality": [0.5] * 10})
    table, rho = level_competence(dec, work, {a: a // 3 for a in range(10)}, after=50)
    assert rho["rho_accuracy"] > 0.9 and np.isnan(rho["rho_quality"])  # no spread in quality
    assert list(table.columns) == ["agent_id", "level", "accuracy", "quality"]


def test_a_run_records_each_members_estimate_and_outcome():
    m = SwarmModel(n_agents=20, size=25, task_rate=2.0, rng=1)
    for _ in range(300):
        m.step()
    dec = m.datacollector.get_table_dataframe("decisions")
    assert len(dec) > 3
    for r in dec.itertuples():
        assert len(r.expertise) == len(r.agents) == len(r.member_qualities)
        assert all(0 < e < 1 for e in r.expertise)
        assert max(r.member_qualities) == r.best_member_quality


def test_the_reliability_diagram_draws_each_bin(tmp_path):
    from swarm.plots import reliability_figure, save_figure

    table = calibration(_decisions([0.2, 0.5, 0.5, 0.9], [0.4, 0.6, 0.5, 0.8]))
    fig = reliability_figure(table)
    assert len(fig.axes[0].collections[-1].get_offsets()) == len(table) == 3
    assert save_figure(fig, tmp_path / "r.png").stat().st_size > 0
