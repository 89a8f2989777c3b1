import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
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
from swarm.analysis.emergence_report import emergence_report, run_frames


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
    report = emergence_report(m, window=40, solo_output=10.0, n_surrogates=30)
    assert list(report.columns) == [
        "step", "metric", "value", "null_mean", "null_lo", "null_hi", "p_value", "detected",
        "null", "ci_lo", "ci_hi", "random_policy",
    ]  # fmt: skip
    tested = report[report["null"] != "none"].set_index(["step", "metric"])
    surrogates = tested[tested["null"] != "sign-test"]
    assert {
        "psi_holding", "delta_hotspot", "gamma_domains", "division_of_labour",
        "trend_position_entropy", "trend_trace_concentration_claim",
    } <= set(surrogates.index.get_level_values(1))  # fmt: skip
    assert (surrogates["null_lo"] <= surrogates["null_hi"]).all()
    assert surrogates["p_value"].between(1 / 31, 1).all()
    signs = tested[tested["null"] == "sign-test"].reset_index()
    assert set(signs["metric"]) == {"novel_solution_rate", "synergy_best"}
    rates = signs[signs.metric == "novel_solution_rate"]
    assert (rates["ci_lo"] <= rates["value"]).all() and (rates["value"] <= rates["ci_hi"]).all()
    assert (tested["detected"] == (tested["p_value"] < 0.05)).all()
    untested = report[report["null"] == "none"]
    assert untested["p_value"].isna().all() and not untested["detected"].any()
    metrics = set(report["metric"])
    assert {
        "division_of_labour",
        "position_entropy",
        "trace_entropy_success",
        "novel_solution_rate",
        "synergy_best",
        "synergy_mean",
        "psi_holding",
        "psi_hotspot",
        "psi_domains",
        "agent_clusters",
        "trace_centre_x",
        "trace_concentration_help",
        "collective_intelligence_ratio",
    } <= metrics
    windows = report[report.metric == "division_of_labour"]["step"].tolist()
    assert windows == [40, 80, 120]
    dol = report[report.metric == "division_of_labour"]["value"]
    assert dol.between(0, 1).all()
    # The same report from the frames written to disk.

    frames = {k: pd.DataFrame(v) for k, v in run_frames(m).items()}
    again = emergence_report(frames, window=40, solo_output=10.0, n_surrogates=30)
    pd.testing.assert_frame_equal(again, report)  # seeded surrogates: the same nulls
    fast = emergence_report(m, window=40, n_surrogates=0)
    assert fast["null"].isin(["none", "sign-test"]).all()  # the sign tests are analytic


# Short series: bias correction and surrogate tests (issue 22) ---------------------------


def _parity_parts(T, n, flip, seed):
    """``n`` fresh random bits per step whose joint parity persists (flipping with
    probability ``flip``): no part, nor any ``n - 1`` of them, says anything about it."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (T, n))
    parity = int(x[0].sum() % 2)
    for t in range(1, T):
        parity ^= int(rng.random() < flip)
        if x[t].sum() % 2 != parity:
            x[t, 0] ^= 1
    return x


def _parity(x):
    return x.sum(axis=1) % 2


def test_bias_corrected_mi_is_about_zero_for_independent_short_series():
    rng = np.random.default_rng(5)
    plug, mm, gauss, gauss_mm = [], [], [], []
    for _ in range(300):
        a, b = rng.integers(0, 6, 100), rng.integers(0, 6, 100)
        plug.append(mutual_information(a, b, "discrete"))
        mm.append(mutual_information(a, b, "discrete", correct=True))
        g = rng.standard_normal((50, 4))
        gauss.append(mutual_information(g[:, :2], g[:, 2:]))
        gauss_mm.append(mutual_information(g[:, :2], g[:, 2:], correct=True))
    assert np.mean(plug) > 0.15  # the plug-in estimate: 25 spurious bins' worth
    assert abs(np.mean(mm)) < np.mean(plug) / 5
    assert np.mean(gauss) > 0.04 and abs(np.mean(gauss_mm)) < np.mean(gauss) / 5


def test_bias_corrected_gaussian_mi_is_unbiased_for_correlated_data():
    rng = np.random.default_rng(6)
    rho, truth = 0.6, -0.5 * np.log2(1 - 0.6**2)
    est = [
        mutual_information(
            *rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], 40).T, correct=True
        )
        for _ in range(400)
    ]
    assert np.mean(est) == pytest.approx(truth, abs=0.02)


def test_independent_parts_are_not_detected_at_t300_with_20_parts():
    """The null is calibrated: p > 0.05 in at least 90 % of replicates."""
    from swarm.analysis.emergence import emergence_test

    found = 0
    for r in range(30):
        x = np.random.default_rng(100 + r).integers(0, 2, (300, 20))
        res = emergence_test(
            psi, x, "sum", n_surrogates=100, rng=r, method="discrete", correct=True
        )
        found += res["detected"]
        assert res["null_lo"] <= res["null_mean"] <= res["null_hi"]
    assert found <= 3


def test_a_persistent_parity_of_20_parts_is_detected_and_causally_decoupled():
    """Detected in at least 90 % of replicates at T = 100 (the README's sweep gives the
    shortest T); Γ (the macro's information about any single part's future) is not."""
    from swarm.analysis.emergence import emergence_test

    psi_found = gamma_found = 0
    for r in range(20):
        x = _parity_parts(100, 20, 0.1, r)
        kw = {"n_surrogates": 100, "rng": r, "method": "discrete", "correct": True}
        psi_found += emergence_test(psi, x, _parity, **kw)["detected"]
        gamma_found += emergence_test(gamma, x, _parity, **kw)["detected"]
    assert psi_found >= 18
    assert gamma_found <= 3  # causal decoupling: Ψ > 0 with Γ at its null


def test_the_redundancy_correction_adds_back_what_every_part_shares():
    rng = np.random.default_rng(7)
    shared = rng.integers(0, 2, 400)
    ahead = np.roll(shared, -1)
    x = np.column_stack([ahead ^ (rng.random(400) < 0.1) for _ in range(5)])
    v = shared  # every part knows the macro's next value: the same information, 5 times
    plain = psi(x, v, method="discrete", correct=True)
    fixed = psi(x, v, method="discrete", correct=True, redundancy=True)
    each = [mutual_information(x[:-1, j], v[1:], "discrete", correct=True) for j in range(5)]
    assert min(each) > 0.3
    assert fixed == pytest.approx(plain + 4 * min(each))
    assert plain < fixed < 0  # counted once; still no emergence (V does not predict itself)


def test_surrogates_need_a_macro_they_can_recompute_and_time_shuffle_does_not():
    from swarm.analysis.emergence import emergence_test

    x = _parity_parts(80, 4, 0.1, 0)
    with pytest.raises(ValueError, match="circular-shift recomputes the macro"):
        emergence_test(psi, x, _parity(x), n_surrogates=5, method="discrete")
    same = emergence_test(psi, x, x.sum(axis=1), n_surrogates=5, method="discrete")
    assert same == emergence_test(psi, x, "sum", n_surrogates=5, method="discrete")
    shuffled = emergence_test(
        psi, x, _parity(x), surrogate="time-shuffle", n_surrogates=50, method="discrete"
    )
    assert shuffled["detected"] and shuffled["null_mean"] < shuffled["value"]
    with pytest.raises(ValueError, match="surrogate must be"):
        emergence_test(psi, x, "sum", surrogate="nope", n_surrogates=1, method="discrete")


# Macro variables, self-organisation, novelty, the random-policy null ----------------------


def _clusters_by_hand(cells, width, height, torus):
    cells = sorted(set(cells))
    parent = {c: c for c in cells}

    def find(c):
        while parent[c] != c:
            c = parent[c]
        return c

    for a in cells:
        for b in cells:
            dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
            if torus:
                dx, dy = min(dx, width - dx), min(dy, height - dy)
            if max(dx, dy) == 1:
                parent[find(a)] = find(b)
    return len({find(c) for c in cells})


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([(7, 5), (3, 8), (2, 2), (1, 4), (9, 9), (13, 11)]),
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 10)), min_size=0, max_size=60),
    st.booleans(),
)
def test_agent_clusters_are_the_touching_groups(size, points, torus):
    from swarm.metrics import agent_clusters

    width, height = size
    cells = [(x % width, y % height) for x, y in points]
    xs = [c[0] for c in cells]
    ys = [c[1] for c in cells]
    assert agent_clusters(xs, ys, width, height, torus) == _clusters_by_hand(
        cells, width, height, torus
    )


def test_field_concentration_and_centre():
    from swarm.metrics import field_centre, field_concentration

    flat = np.ones((20, 10))
    assert field_concentration(flat, top=0.05) == pytest.approx(0.05)
    peak = np.zeros((20, 10))
    peak[3, 7] = 2.0
    assert field_concentration(peak) == 1.0
    assert np.isnan(field_concentration(np.zeros((4, 4))))
    assert field_centre(peak, torus=False) == pytest.approx((3.0, 7.0))
    edge = np.zeros((20, 10))
    edge[0, 5] = edge[19, 5] = 1.0  # either side of the wrap: the centre is on the seam
    x, y = field_centre(edge, torus=True)
    assert min(x, 20 - x) == pytest.approx(0.5) and y == pytest.approx(5.0)
    assert field_centre(edge, torus=False)[0] == pytest.approx(9.5)


def test_trend_test_is_calibrated_and_finds_a_falling_entropy():
    from swarm.analysis.emergence import trend_test

    rng = np.random.default_rng(3)
    false = 0
    for r in range(30):
        ar = np.zeros(300)  # autocorrelated noise, no trend
        for t in range(1, 300):
            ar[t] = 0.8 * ar[t - 1] + rng.normal()
        false += trend_test(ar, n_surrogates=99, rng=r)["detected"]
    assert false <= 3
    falling = 1 - np.linspace(0, 0.3, 300) + rng.normal(0, 0.05, 300)
    res = trend_test(falling, n_surrogates=99, rng=0)
    assert res["detected"] and res["value"] == pytest.approx(-0.1, abs=0.02)
    assert not trend_test(falling, direction="rising", n_surrogates=99, rng=0)["detected"]
    with pytest.raises(ValueError, match="direction"):
        trend_test(falling, direction="down")


def test_novel_solutions_beat_the_best_member_and_are_sign_tested():
    from swarm.analysis.emergence import decision_tests

    better = pd.DataFrame({"quality": [1.0] * 8 + [0.6] * 2, "best_member_quality": [0.8] * 10})
    t = decision_tests(better)
    assert t["novel_solution_rate"]["value"] == 0.8
    assert t["novel_solution_rate"]["null_mean"] == pytest.approx(0.2)
    assert t["novel_solution_rate"]["p_value"] == pytest.approx(56 / 1024)  # P(X >= 8 | 10)
    assert t["synergy_best"]["value"] == pytest.approx(0.12)
    assert t["synergy_best"]["ci_lo"] < 0.12 < t["synergy_best"]["ci_hi"]
    # recombining without improving is not novel
    same = pd.DataFrame({"quality": [0.8] * 5, "best_member_quality": [0.8] * 5})
    assert decision_tests(same)["novel_solution_rate"]["value"] == 0
    assert np.isnan(decision_tests(same)["novel_solution_rate"]["p_value"])


def test_the_random_policy_on_the_same_world_fills_its_column():
    from swarm.analysis.emergence_report import detections, micro_macro

    kw = dict(n_agents=10, width=12, height=12, rng=4)
    m, r = SwarmModel(**kw), SwarmModel(policy="random", **kw)
    for _ in range(60):
        m.step()
        r.step()
    report = emergence_report(m, window=30, n_surrogates=20, null_run=r)
    whole = report[report.step == 60].set_index("metric")
    assert np.isfinite(whole.loc["psi_holding", "random_policy"])
    assert whole.loc["psi_holding", "random_policy"] != whole.loc["psi_holding", "value"]
    table = detections(report)
    assert {"psi_hotspot", "trend_agent_clusters", "division_of_labour"} <= set(table.metric)
    assert (table["detected"] <= table["rows"]).all()
    micro, macro = micro_macro(run_frames(m)["agents"])["domains"]
    assert micro.shape == (61, 10) and micro.max() <= len(m.domains)
    assert (macro(micro) == [len(set(row[row > 0])) for row in micro]).all()
    with pytest.raises(ValueError, match="unknown pair or measure 'bogus'"):
        emergence_report(m, pairs=("bogus",))


@settings(max_examples=30, deadline=None)
@given(
    st.integers(70_000, 200_000),
    st.floats(0.001, 0.3),
    st.sampled_from(["uniform", "ties", "heavy"]),
    st.integers(0, 2**16),
)
def test_top_sum_is_the_sum_of_the_k_largest(n, top, kind, seed):
    """The concentration's top-k sum (cut to a sampled bound first) is the full sort's."""
    from swarm.metrics import _top_sum

    rng = np.random.default_rng(seed)
    if kind == "uniform":
        values = rng.random(n)
    elif kind == "ties":
        values = rng.integers(1, 4, n).astype(float)
    else:
        values = rng.pareto(1.2, n)
    k = max(1, int(top * n))
    assert _top_sum(values, k) == pytest.approx(np.sort(values)[-k:].sum(), rel=1e-12)
