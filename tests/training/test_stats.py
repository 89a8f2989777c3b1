import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from training import stats

counts = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(a=counts, b=counts)
def test_two_proportion_ztest_matches_statsmodels(a, b):
    from statsmodels.stats.proportion import proportions_ztest

    (sa, na), (sb, nb) = a, b
    pooled = (sa + sb) / (na + nb)
    if pooled in (0.0, 1.0):
        assert stats.two_proportion_ztest(sa, na, sb, nb) == (0.0, 1.0)
        return
    z, p = stats.two_proportion_ztest(sa, na, sb, nb)
    z_ref, p_ref = proportions_ztest([sa, sb], [na, nb])
    assert z == pytest.approx(z_ref, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(p_ref, rel=1e-9, abs=1e-12)


@given(b=st.integers(0, 300), c=st.integers(0, 300), a=st.integers(0, 50), d=st.integers(0, 50))
def test_mcnemar_exact_matches_statsmodels(a, b, c, d):
    from statsmodels.stats.contingency_tables import mcnemar

    ref = mcnemar(np.array([[a, b], [c, d]]), exact=True).pvalue
    assert stats.mcnemar_exact(b, c) == pytest.approx(ref, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("p1, p2", [(0.9, 0.95), (0.5, 0.6), (0.2, 0.1), (0.8, 0.9)])
@pytest.mark.parametrize("alpha, power", [(0.05, 0.8), (0.01, 0.9)])
def test_sample_size_matches_statsmodels(p1, p2, alpha, power):
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    h = proportion_effectsize(p1, p2)
    ref = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0)
    assert stats.sample_size_two_proportions(p1, p2, alpha, power) == int(np.ceil(ref - 1e-9))


def test_welch_and_mann_whitney_are_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 1, 40), rng.normal(1.4, 3, 55)
    assert stats.welch_ttest(a, b) == pytest.approx(tuple(sps.ttest_ind(a, b, equal_var=False)))
    assert stats.mann_whitney(a, b) == pytest.approx(
        tuple(sps.mannwhitneyu(a, b, alternative="two-sided"))
    )


def test_bootstrap_ci_agrees_with_scipy_and_is_seeded():
    x = np.random.default_rng(1).exponential(2.0, 300)
    lo, hi = stats.bootstrap_ci(x, rng=7)
    assert (lo, hi) == stats.bootstrap_ci(x, rng=7)
    ref = sps.bootstrap((x,), np.mean, method="percentile", random_state=7).confidence_interval
    assert lo == pytest.approx(ref.low, rel=0.02) and hi == pytest.approx(ref.high, rel=0.02)
    med = stats.bootstrap_ci(x, stat=np.median, rng=3)
    assert med[0] < np.median(x) < med[1]


def test_newcombe_interval_matches_statsmodels_and_non_inferiority():
    from statsmodels.stats.proportion import confint_proportions_2indep

    d, lo, hi = stats.proportion_diff_ci(88, 100, 180, 200)
    ref = confint_proportions_2indep(88, 100, 180, 200, method="newcomb", compare="diff")
    assert d == pytest.approx(-0.02)
    assert (lo, hi) == pytest.approx(ref, rel=1e-9)
    assert stats.non_inferior(88, 100, 180, 200, margin=0.2)[0]
    assert not stats.non_inferior(88, 100, 180, 200, margin=0.05)[0]


@given(st.integers(0, 200), st.integers(1, 200))
def test_wilson_ci_matches_statsmodels(k, n):
    from statsmodels.stats.proportion import proportion_confint

    k = min(k, n)
    lo, hi = stats.wilson_ci(k, n)
    want = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(want[0], abs=1e-9)
    assert hi == pytest.approx(want[1], abs=1e-9)
    assert 0.0 <= lo <= k / n <= hi <= 1.0  # exactly, not up to rounding


@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 80))
def test_paired_difference_interval_is_the_mean_of_per_item_differences(b, c, same):
    n = b + c + same
    if n == 0:
        return
    diffs = np.array([-1] * b + [1] * c + [0] * same, dtype=float)
    d, lo, hi = stats.paired_proportion_diff_ci(b, c, n)
    se = diffs.std(ddof=0) / np.sqrt(n)
    assert d == pytest.approx(diffs.mean())
    assert lo == pytest.approx(diffs.mean() - sps.norm.isf(0.025) * se)
    assert hi == pytest.approx(diffs.mean() + sps.norm.isf(0.025) * se)
