import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mesa.discrete_space import OrthogonalMooreGrid

from swarm.world.traces import ChannelSpec, TraceGrid

fields = arrays(
    np.float64,
    st.tuples(st.integers(3, 9), st.integers(3, 9)),
    elements=st.floats(0, 5, allow_nan=False),
)
fractions = st.floats(0, 1, allow_nan=False)


def grid_with(values, torus, **spec):
    g = TraceGrid(*values.shape, {"a": ChannelSpec(**spec)}, torus=torus)
    g._data["a"][:] = values
    return g


@given(fields, fractions, st.booleans())
def test_diffusion_conserves_the_total(values, d, torus):
    g = grid_with(values, torus, decay=0.0, diffusion=d, floor=0.0, cap=10.0)
    before = g.total("a")
    g.step()
    assert g.total("a") == pytest.approx(before, rel=1e-9, abs=1e-9)


@given(fields, fractions)
def test_decay_scales_every_value(values, rho):
    g = grid_with(values, True, decay=rho, diffusion=0.0, floor=0.0, cap=10.0)
    g.step()
    np.testing.assert_allclose(g.values("a"), values * (1 - rho))


def test_diffusion_matches_netlogo_by_hand():
    g = TraceGrid(5, 5, {"a": ChannelSpec(decay=0.0, diffusion=0.4, floor=0.0)}, torus=True)
    g.deposit("a", (2, 2), 8.0)
    g.step()
    v = g.values("a")
    assert v[2, 2] == pytest.approx(8.0 * 0.6)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if (dx, dy) != (0, 0):
                assert v[2 + dx, 2 + dy] == pytest.approx(8.0 * 0.4 / 8)
    assert v[0, 0] == 0.0


def test_bounded_corner_keeps_shares_for_missing_neighbours():
    g = TraceGrid(4, 4, {"a": ChannelSpec(decay=0.0, diffusion=0.8, floor=0.0)}, torus=False)
    g.deposit("a", (0, 0), 8.0)
    g.step()
    v = g.values("a")
    assert v[0, 0] == pytest.approx(8.0 * (0.2 + 0.8 * 5 / 8))  # 5 of 8 neighbours missing
    assert v.sum() == pytest.approx(8.0)


@given(fields, fractions, fractions, st.booleans())
def test_floor_and_cap_hold_after_steps(values, rho, d, torus):
    g = grid_with(np.minimum(values, 4.0), torus, decay=rho, diffusion=d, floor=0.05, cap=4.0)
    for _ in range(3):
        g.deposit("a", (0, 0), 3.0)
        g.step()
        v = g.values("a")
        assert ((v == 0) | (v >= 0.05)).all()
        assert (v <= 4.0 + 1e-12).all()


def test_deposit_saturates_and_refuses_negative():
    g = TraceGrid(3, 3, {"a": ChannelSpec(cap=2.0)})
    g.deposit("a", (1, 1), 1.5)
    g.deposit("a", (1, 1), 1.5)
    assert g.values("a")[1, 1] == 2.0
    g.deposit_many("a", [0, 0], [0, 0], 1.5)
    assert g.values("a")[0, 0] == 2.0
    with pytest.raises(ValueError):
        g.deposit("a", (0, 0), -1)
    with pytest.raises(KeyError, match="unknown trace channel 'zz'"):
        g.values("zz")
    with pytest.raises(ValueError):
        g.values("a")[0, 0] = 1  # read-only view


def test_on_mesa_grid_layers_share_the_arrays():
    grid = OrthogonalMooreGrid((6, 4), torus=True, random=__import__("random").Random(0))
    g = TraceGrid.on_grid(grid, {"help": ChannelSpec(decay=0.5, diffusion=0.0, floor=0.0)})
    g.deposit("help", (2, 3), 4.0)
    g.step()
    assert grid[(2, 3)].trace_help == 2.0
    assert g.values("help").shape == (6, 4)


@given(fields, fractions, fractions, st.booleans())
def test_fused_step_matches_the_whole_array_reference(values, rho, d, torus):
    spec = dict(decay=rho, diffusion=d, floor=0.01, cap=10.0)
    fused, ref = grid_with(values, torus, **spec), grid_with(values, torus, **spec)
    for _ in range(3):
        fused.step()
        ref.step_reference()
        # the two round differently; a value within rounding of the floor may go either way
        near_floor = np.isclose(ref.values("a"), 0.01, rtol=1e-9) | np.isclose(
            fused.values("a"), 0.01, rtol=1e-9
        )
        np.testing.assert_allclose(
            np.where(near_floor, 0, fused.values("a")),
            np.where(near_floor, 0, ref.values("a")),
            rtol=1e-12,
            atol=1e-12,
        )
        fused._data["a"][:] = ref.values("a")  # keep the two in step


def test_mesa_layer_follows_the_swapped_arrays():
    grid = OrthogonalMooreGrid((6, 5), torus=False, random=__import__("random").Random(0))
    g = TraceGrid.on_grid(grid, {"help": ChannelSpec(decay=0.1, diffusion=0.4, floor=0.0)})
    g.deposit("help", (0, 0), 4.0)
    for _ in range(3):
        g.step()
        assert grid._mesa_property_layers["trace_help"].data is g._data["help"]
        assert grid[(1, 1)].trace_help == g.values("help")[1, 1] > 0


def test_mass_follows_every_change():
    g = TraceGrid(4, 4, {"a": ChannelSpec(decay=0.5, diffusion=0.0, floor=0.0)})
    assert g.mass("a")[0].size == 0 and g.mass("a")[1] == 16
    g.deposit("a", (1, 1), 2.0)
    np.testing.assert_array_equal(g.mass("a")[0], [2.0])
    g.deposit_many("a", [0, 0], [1, 1], 1.0)
    np.testing.assert_array_equal(np.sort(g.mass("a")[0]), [2.0, 2.0])
    g.step()
    np.testing.assert_array_equal(g.mass("a")[0], [1.0, 1.0])
    g.clear()
    assert g.mass("a")[0].size == 0


points = st.lists(st.tuples(st.integers(-3, 12), st.integers(-3, 12)), min_size=1, max_size=30)


@given(fields, points, st.booleans())
def test_neighbourhoods_kernel_matches_the_numpy_reference(values, pts, torus):
    w, h = values.shape
    grid = TraceGrid(w, h, {"a": ChannelSpec(), "b": ChannelSpec()}, torus=torus)
    grid._data["a"][:] = values
    grid._data["b"][:] = values[::-1]
    xs = np.array([x % w for x, _ in pts])
    ys = np.array([y % h for _, y in pts])
    offsets = [(-1, -1), (0, 1), (2, -2), (0, 0)]
    got = grid.neighbourhoods(["a", "b"], xs, ys, offsets)
    want = grid.neighbourhoods_reference(["a", "b"], xs, ys, offsets)
    assert np.array_equal(got, want, equal_nan=True)


@given(
    arrays(np.int64, st.tuples(st.integers(1, 9), st.integers(1, 9)), elements=st.integers(-1, 3)),
    points,
    st.integers(0, 3),
    st.booleans(),
)
def test_any_within_is_a_window_search(index, pts, r, torus):
    from swarm.world.kernels import any_within

    w, h = index.shape
    xs = np.array([x % w for x, _ in pts])
    ys = np.array([y % h for _, y in pts])
    got = any_within((index >= 0).astype(np.uint8), xs, ys, r, torus)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        cells = [
            (a % w, b % h) if torus else (a, b)
            for a in range(x - r, x + r + 1)
            for b in range(y - r, y + r + 1)
        ]
        want = any(0 <= a < w and 0 <= b < h and index[a, b] >= 0 for a, b in cells)
        assert got[i] == want
