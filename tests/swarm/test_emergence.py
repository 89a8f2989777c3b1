import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import solve_discrete_lyapunov

from swarm import SwarmModel
from swarm.analysis.emergence import (
    collective_intelligence_ratio,
    delta,
    division_of_labour,
    entropy,
    field_entropy,
    gamma,
    mutual_information,
    psi,
    spatial_entropy,
)
from swarm.analysis.emergence_report import emergence_report


def _gaussian_mi(cov, a, b):
    """Analytic Gaussian MI (bits) between index sets a and b of a joint covariance."""

    def ld(idx):
        return np.linalg.slogdet(cov[np.ix_(idx, idx)])[1]

    return 0.5 * (ld(a) + ld(b) - ld(a + b)) / np.log(2)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8, -0.6])
def test_gaussian_mi_of_a_bivariate_normal(rho):
    rng = np.random.default_rng(0)
    xy = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], 100_000)
    expected = -0.5 * np.log2(1 - rho**2)
    assert mutual_information(xy[:, 0], xy[:, 1]) == pytest.approx(expected, abs=0.01)


def test_discrete_mi_of_copies_and_independent_bits():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 50_000)
    assert mutual_information(x, x, "discrete") == pytest.approx(1.0, abs=1e-3)
    y = rng.integers(0, 2, 50_000)
    assert mutual_information(x, y, "discrete") == pytest.approx(0.0, abs=1e-3)
    assert entropy(np.column_stack([x, y])) == pytest.approx(2.0, abs=1e-3)


@given(st.lists(st.sampled_from("abc"), min_size=2, max_size=50))
def test_discrete_mi_with_itself_is_the_entropy(labels):
    assert mutual_information(labels, labels, "discrete") == pytest.approx(entropy(labels))


def _parity_system(flip, T=60_000, seed=2):
    """Two fresh random bits per step whose parity persists (flipping with probability
    ``flip``): each bit alone says nothing, the parity predicts itself."""
    rng = np.random.default_rng(seed)
    x = np.empty((T, 2), dtype=np.int64)
    x[0] = rng.integers(0, 2, 2)
    for t in range(1, T):
        a = rng.integers(0, 2)
        parity = (x[t - 1, 0] ^ x[t - 1, 1]) ^ int(rng.random() < flip)
        x[t] = (a, a ^ parity)
    return x, x[:, 0] ^ x[:, 1]


@pytest.mark.parametrize("flip", [0.1, 0.3, 1.0])
def test_parity_is_causally_emergent_and_decoupled(flip):
    x, v = _parity_system(flip)
    h = 0.0 if flip == 1.0 else -(flip * np.log2(flip) + (1 - flip) * np.log2(1 - flip))
    # Ψ = I(V_t; V_t+1) − 0 = 1 − H(flip) bits; no single bit predicts anything.
    assert psi(x, v, method="discrete") == pytest.approx(1.0 - h, abs=0.01)
    assert gamma(x, v, method="discrete") == pytest.approx(0.0, abs=0.01)
    assert delta(x, v, method="discrete") == pytest.approx(0.0, abs=0.01)


def test_a_copy_of_one_part_is_not_emergent():
    rng = np.random.default_rng(3)
    T = 40_000
    x = np.column_stack([np.repeat(rng.integers(0, 2, T // 4), 4), rng.integers(0, 2, T)])
    # V = X^1: what V knows about its future, X^1 knows too, so Ψ ≤ 0.
    assert psi(x, x[:, 0], method="discrete") == pytest.approx(0.0, abs=0.02)


def test_gaussian_psi_matches_the_analytic_value_of_a_linear_system():
    A = np.array([[0.5, 0.3], [0.3, 0.5]])
    noise = np.eye(2)
    sigma = solve_discrete_lyapunov(A, noise)  # stationary covariance of X_t
    # Joint covariance of (X1_t, X2_t, X1_t+1, X2_t+1); V = X1 + X2.
    cross = A @ sigma
    joint = np.block([[sigma, cross.T], [cross, sigma]])
    w = np.array(
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 1, 1]],
        dtype=float,
    )
    full = w @ joint @ w.T  # X1_t, X2_t, X1', X2', V_t, V'
    expected = _gaussian_mi(full, [4], [5]) - sum(_gaussian_mi(full, [j], [5]) for j in (0, 1))
    expected_gamma = max(_gaussian_mi(full, [4], [j]) for j in (2, 3))

    rng = np.random.default_rng(4)
    T = 200_000
    x = np.zeros((T, 2))
    eps = rng.standard_normal((T, 2))
    for t in range(1, T):
        x[t] = A @ x[t - 1] + eps[t]
    v = x.sum(axis=1)
    assert psi(x, v) == pytest.approx(expected, abs=0.01)
    assert gamma(x, v) == pytest.approx(expected_gamma, abs=0.01)


def test_lag_and_shape_errors_are_clear():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="tau"):
        psi(x, x[:, 0], tau=9)
    with pytest.raises(ValueError, match="10 time points but macro has 9"):
        psi(x, x[:9, 0])
    with pytest.raises(ValueError, match="method"):
        mutual_information([1, 2, 3], [1, 2, 3], method="knn")


def test_division_of_labour_extremes():
    specialists = division_of_labour(["a", "a", "b", "b", "c"], ["x", "x", "y", "y", "z"])
    assert specialists == pytest.approx(1.0)
    generalists = division_of_labour(["a", "a", "b", "b"], ["x", "y", "x", "y"])
    assert generalists == pytest.approx(0.0)
    assert np.isnan(division_of_labour(["a"], ["x"]))


def test_spatial_and_field_entropy_bounds():
    assert spatial_entropy([0] * 10, [0] * 10, 30, 30) == pytest.approx(0.0)
    xs = np.arange(36) % 6 * 5
    ys = np.arange(36) // 6 * 5
    assert spatial_entropy(xs, ys, 30, 30) == pytest.approx(1.0)
    assert field_entropy(np.ones((5, 5))) == pytest.approx(1.0)
    spike = np.zeros((5, 5))
    spike[2, 2] = 3.0
    assert field_entropy(spike) == pytest.approx(0.0)
    assert np.isnan(field_entropy(np.zeros((5, 5))))


def test_collective_intelligence_ratio():
    assert collective_intelligence_ratio(30, [5, 5, 5]) == pytest.approx(2.0)
    assert np.isnan(collective_intelligence_ratio(3, [0, 0]))


def test_emergence_report_is_tidy_and_covers_the_metrics():
    m = SwarmModel(n_agents=12, width=15, height=15, rng=0)
    for _ in range(120):
        m.step()
    report = emergence_report(m, window=40, solo_output=10.0)
    assert list(report.columns) == ["step", "metric", "value"]
    metrics = set(report["metric"])
    assert {
        "division_of_labour",
        "position_entropy",
        "trace_entropy_success",
        "novel_solution_rate",
        "synergy_best",
        "synergy_mean",
        "psi",
        "delta",
        "gamma",
        "collective_intelligence_ratio",
    } <= metrics
    windows = report[report.metric == "division_of_labour"]["step"].tolist()
    assert windows == [40, 80, 120]
    dol = report[report.metric == "division_of_labour"]["value"]
    assert dol.between(0, 1).all()
    # The same report from the frames written to disk.
    from swarm.analysis.emergence_report import run_frames

    frames = {k: pd.DataFrame(v) for k, v in run_frames(m).items()}
    pd.testing.assert_frame_equal(emergence_report(frames, window=40, solo_output=10.0), report)
