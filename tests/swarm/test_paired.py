import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

from swarm.analysis.paired import PAIRED_COLUMNS, paired_markdown, paired_table, seeds_for_power


def _frame(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"condition": c, "seed": s, "m": v, "k": 2 * v}
        for c, vs in values.items()
        for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_paired_differences_match_scipy_and_statsmodels():
    ref = [1.0, 2.0, 3.0, 4.0, 5.0]
    a = [1.5, 2.1, 3.9, 4.2, 5.8]
    b = [0.9, 2.2, 2.7, 4.1, 4.6]
    table = paired_table(_frame({"swarm": ref, "a": a, "b": b}), ["m", "k"], primary="m")
    assert list(table.columns) == list(PAIRED_COLUMNS)
    assert set(table["condition"]) == {"a", "b"} and (table["reference"] == "swarm").all()
    row = table[(table["condition"] == "a") & (table["metric"] == "m")].iloc[0]
    d = np.array(a) - np.array(ref)
    assert row["mean_diff"] == pytest.approx(d.mean())
    assert row["p"] == pytest.approx(stats.ttest_rel(a, ref).pvalue)
    assert row["d_z"] == pytest.approx(d.mean() / d.std(ddof=1))
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))
    assert row["boot_low"] <= row["mean_diff"] <= row["boot_high"]
    assert np.allclose(table["p_holm"], multipletests(table["p"], method="holm")[1])
    assert table["primary"].tolist() == [m == "m" for m in table["metric"]]
    assert "**m** (primary)" in paired_markdown(table).splitlines()[2]


def test_seeds_for_power_matches_the_issue_s_example():
    assert seeds_for_power(0.23) == 151  # about 150 seeds for d_z = 0.23 at 80 %
    assert np.isnan(seeds_for_power(0.0))


def test_only_seeds_both_conditions_have_are_paired():
    frame = _frame({"swarm": [1.0, 2.0, np.nan], "a": [2.0, 3.5, 9.0]})
    row = paired_table(frame, ["m"]).iloc[0]
    assert row["n_seeds"] == 2 and row["mean_diff"] == pytest.approx(1.25)


def test_a_bad_reference_or_primary_is_a_value_error():
    frame = _frame({"swarm": [1.0, 2.0], "a": [2.0, 3.0]})
    with pytest.raises(ValueError, match="reference"):
        paired_table(frame, ["m"], reference="nope")
    with pytest.raises(ValueError, match="primary"):
        paired_table(frame, ["m"], primary="nope")


@given(st.lists(st.tuples(st.floats(-100, 100), st.floats(-100, 100)), min_size=2, max_size=30))
def test_the_interval_holds_the_mean_and_holm_never_lowers_p(pairs):
    ref, a = zip(*pairs, strict=True)
    table = paired_table(_frame({"swarm": list(ref), "a": list(a)}), ["m", "k"])
    for _, r in table.iterrows():
        if np.isfinite(r["ci_low"]):
            assert r["ci_low"] - 1e-9 <= r["mean_diff"] <= r["ci_high"] + 1e-9
        if np.isfinite(r["p"]):
            assert r["p_holm"] >= r["p"] - 1e-12
