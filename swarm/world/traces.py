"""Stigmergy: named trace channels over a grid that decay, diffuse, vanish and saturate.

A :class:`TraceGrid` holds one ``(width, height)`` float array per channel, indexed
``[x, y]`` like Mesa's grid. Per channel (:class:`ChannelSpec`):

* **deposit** adds to a cell and saturates at ``cap``;
* **decay**: ``v <- v * (1 - decay)``;
* **diffusion** (NetLogo's ``diffuse``): each cell shares a fraction ``diffusion`` of its
  value equally among its 8 neighbours. On a torus this conserves the total; on a bounded
  grid the share meant for a missing neighbour stays in the cell, so it conserves it too;
* **floor**: values below it vanish (the persistence rule).

Decay and diffusion are convex combinations, so values that respect the cap keep
respecting it; the cap is enforced where values grow, at deposit.

``TraceGrid(width, height, channels)`` owns its arrays. :meth:`TraceGrid.on_grid` puts the
same arrays on a Mesa grid as property layers (``trace_<channel>``), so Mesa's tools see
the traces. This file is the one place that touches Mesa's property-layer API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import ndimage

LAYER_PREFIX = "trace_"


class ChannelSpec(BaseModel):
    """How one trace channel behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decay: float = Field(0.1, ge=0.0, le=1.0, description="fraction lost per step")
    diffusion: float = Field(0.2, ge=0.0, le=1.0, description="fraction shared with neighbours")
    floor: float = Field(1e-3, ge=0.0, description="values below this vanish")
    cap: float = Field(10.0, gt=0.0, description="deposits saturate here")


#: The channels the swarm model uses, with defaults that work out of the box.
DEFAULT_CHANNELS: dict[str, ChannelSpec] = {
    "claim": ChannelSpec(decay=0.5, diffusion=0.1, cap=5.0),
    "help": ChannelSpec(decay=0.15, diffusion=0.4, cap=10.0),
    "success": ChannelSpec(decay=0.02, diffusion=0.2, cap=10.0),
    "explored": ChannelSpec(decay=0.1, diffusion=0.1, cap=5.0),
}


class TraceGrid:
    """Trace channels over a ``width`` × ``height`` grid (see the module docstring)."""

    def __init__(
        self,
        width: int,
        height: int,
        channels: Mapping[str, ChannelSpec | Mapping[str, Any]] | None = None,
        torus: bool = True,
        *,
        dtype: Any = np.float64,
        _arrays: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"grid must be at least 1x1, got {width}x{height}")
        self.width, self.height, self.torus = int(width), int(height), bool(torus)
        specs = DEFAULT_CHANNELS if channels is None else channels
        self.specs: dict[str, ChannelSpec] = {
            name: spec if isinstance(spec, ChannelSpec) else ChannelSpec.model_validate(spec)
            for name, spec in specs.items()
        }
        self._data: dict[str, np.ndarray] = {}
        for name in self.specs:
            if _arrays is not None:
                arr = _arrays[name]
                if arr.shape != (self.width, self.height):
                    raise ValueError(
                        f"channel {name!r}: array shape {arr.shape} is not "
                        f"{(self.width, self.height)}"
                    )
            else:
                arr = np.zeros((self.width, self.height), dtype=dtype)
            self._data[name] = arr
        dtypes = {a.dtype for a in self._data.values()}
        if len(dtypes) > 1:
            raise ValueError(f"channels must share one dtype, got {sorted(map(str, dtypes))}")
        self._buf = np.empty((self.width, self.height), dtype=dtypes.pop() if dtypes else dtype)
        self._layers: dict[str, Any] = {}  # channel -> Mesa property layer (on_grid)
        self.version = 0  # bumped by every change of the values
        self._mass: dict[str, tuple[int, tuple[np.ndarray, int]]] = {}
        self.muted = False  # True: deposits are dropped (a world without stigmergy)
        self._mode = "wrap" if self.torus else "constant"
        # On a bounded grid, cells with fewer than 8 neighbours keep the missing shares.
        self._missing = None
        if not self.torus:
            ones = np.ones((self.width, self.height))
            counts = ndimage.uniform_filter(ones, size=3, mode="constant") * 9 - 1
            self._missing = np.rint(8 - counts).astype(dtype)

    @classmethod
    def on_grid(
        cls,
        grid: Any,
        channels: Mapping[str, ChannelSpec | Mapping[str, Any]] | None = None,
    ) -> TraceGrid:
        """A TraceGrid whose arrays are property layers ``trace_<name>`` of a Mesa grid.

        Works with Mesa 3's ``OrthogonalMooreGrid`` (``create_property_layer`` and the
        layer's ``data`` array); the arrays are updated in place, so the layers and
        ``cell.trace_<name>`` always show the current traces.
        """
        width, height = grid.dimensions
        specs = DEFAULT_CHANNELS if channels is None else channels
        arrays = {}
        for name in specs:
            layer = grid.create_property_layer(LAYER_PREFIX + name, default_value=0.0, dtype=float)
            arrays[name] = layer.data
        out = cls(width, height, specs, torus=grid.torus, _arrays=arrays)
        out._layers = {name: grid._mesa_property_layers[LAYER_PREFIX + name] for name in specs}
        return out

    # Reading ---------------------------------------------------------------------------

    @property
    def channels(self) -> list[str]:
        return list(self.specs)

    def values(self, channel: str) -> np.ndarray:
        """The ``(width, height)`` array of a channel (a read-only view)."""
        view = self._array(channel).view()
        view.flags.writeable = False
        return view

    def mass(self, channel: str) -> tuple[np.ndarray, int]:
        """The positive values of a channel and its number of cells, found once per
        change of the values (the trace reporters share them)."""
        got = self._mass.get(channel)
        if got is None or got[0] != self.version:
            arr = self._array(channel).ravel()
            got = self._mass[channel] = (self.version, (arr[arr > 0], arr.size))
        return got[1]

    def total(self, channel: str) -> float:
        return float(self._array(channel).sum())

    def window(self, channel: str, xs: np.ndarray, ys: np.ndarray, radius: int = 1) -> np.ndarray:
        """Values around each point ``(xs[i], ys[i])``: shape ``(n, 2r+1, 2r+1)``,
        ``[i, dx + r, dy + r]``. Off-grid cells of a bounded grid read as ``nan``."""
        arr = self._array(channel)
        offs = np.arange(-radius, radius + 1)
        gx = np.asarray(xs)[:, None, None] + offs[None, :, None]
        gy = np.asarray(ys)[:, None, None] + offs[None, None, :]
        if self.torus:
            return arr[gx % self.width, gy % self.height]
        inside = (gx >= 0) & (gx < self.width) & (gy >= 0) & (gy < self.height)
        out = arr[np.clip(gx, 0, self.width - 1), np.clip(gy, 0, self.height - 1)]
        return np.where(inside, out, np.nan)

    def neighbourhoods(
        self,
        channels: Sequence[str],
        xs: np.ndarray,
        ys: np.ndarray,
        offsets: Sequence[tuple[int, int]] | None = None,
    ) -> np.ndarray:
        """The values of several channels at ``offsets`` (default: the 3x3 window, cell
        ``(dx + 1) * 3 + (dy + 1)``) around each point: shape ``(n, channels, offsets)``,
        off-grid ``nan``: one compiled pass over the points for all channels
        (:func:`swarm.world.kernels.gather`); :meth:`neighbourhoods_reference` is the same
        in numpy."""
        from swarm.world.kernels import gather  # numba: compiled on first use

        dx, dy = _offset_arrays(offsets)
        xs = np.ascontiguousarray(xs, dtype=np.int64)
        ys = np.ascontiguousarray(ys, dtype=np.int64)
        out = np.empty((len(xs), len(channels), len(dx)))
        if len(channels) and len(xs):
            arrays = tuple(np.ascontiguousarray(self._array(c)) for c in channels)
            gather(arrays, xs, ys, dx, dy, out, self.torus)
        return out

    def neighbourhoods_reference(
        self,
        channels: Sequence[str],
        xs: np.ndarray,
        ys: np.ndarray,
        offsets: Sequence[tuple[int, int]] | None = None,
    ) -> np.ndarray:
        """:meth:`neighbourhoods` as numpy fancy indexing (the kernel's reference)."""
        dx, dy = _offset_arrays(offsets)
        gx = np.asarray(xs)[:, None] + dx
        gy = np.asarray(ys)[:, None] + dy
        if self.torus:
            flat = (gx % self.width) * self.height + gy % self.height
            inside = None
        else:
            inside = (gx >= 0) & (gx < self.width) & (gy >= 0) & (gy < self.height)
            flat = np.clip(gx, 0, self.width - 1) * self.height + np.clip(gy, 0, self.height - 1)
        out = np.stack([self._array(c).ravel().take(flat) for c in channels], axis=1)
        if inside is not None:
            out[~np.broadcast_to(inside[:, None, :], out.shape)] = np.nan
        return out

    # Writing ---------------------------------------------------------------------------

    def deposit(self, channel: str, pos: tuple[int, int], amount: float) -> None:
        """Add ``amount`` at ``pos = (x, y)``, saturating at the channel's cap."""
        if amount < 0:
            raise ValueError(f"deposit amount must be >= 0, got {amount}")
        if self.muted:
            return
        self.version += 1
        arr = self._array(channel)
        x, y = pos
        arr[x, y] = min(arr[x, y] + amount, self.specs[channel].cap)

    def deposit_many(
        self,
        channel: str,
        xs: Sequence[int] | np.ndarray,
        ys: Sequence[int] | np.ndarray,
        amounts: float | np.ndarray,
    ) -> None:
        """Vectorised :meth:`deposit`; repeated cells accumulate before the cap."""
        if self.muted:
            return
        self.version += 1
        arr = self._array(channel)
        xs, ys = np.asarray(xs, dtype=np.intp), np.asarray(ys, dtype=np.intp)
        if xs.size == 0:
            return
        amounts = np.broadcast_to(np.asarray(amounts, dtype=arr.dtype), xs.shape)
        if (amounts < 0).any():
            raise ValueError("deposit amounts must be >= 0")
        np.add.at(arr, (xs, ys), amounts)
        arr[xs, ys] = np.minimum(arr[xs, ys], self.specs[channel].cap)

    def clear(self) -> None:
        self.version += 1
        for arr in self._data.values():
            arr.fill(0.0)

    def step(self) -> None:
        """Advance every channel one step: decay, then diffusion, then the floor (one
        fused pass per channel; see the module docstring)."""
        from swarm.world.kernels import step_channel  # numba: compiled on first use

        self.version += 1
        for name, spec in self.specs.items():
            v = self._data[name]
            if spec.diffusion == 0.0:
                self._step_channel(v, spec)  # no neighbours to read: in place
                continue
            out = self._buf
            step_channel(v, out, 1.0 - spec.decay, spec.diffusion, spec.floor, self.torus)
            self._data[name], self._buf = out, v
            layer = self._layers.get(name)
            if layer is not None:
                layer._mesa_data = out  # Mesa's setter would copy; the layer shows `out`

    def step_reference(self) -> None:
        """The same step as whole-array numpy/scipy operations, in place (the fused
        kernels' reference; equal to :meth:`step` up to rounding)."""
        self.version += 1
        for name, spec in self.specs.items():
            self._step_channel(self._data[name], spec)

    def _step_channel(self, v: np.ndarray, spec: ChannelSpec) -> None:
        keep = 1.0 - spec.decay
        d = spec.diffusion
        if d > 0.0:
            # v' = keep * [(1 - d) v + d/8 * (box3x3(v) - v)], box3x3 = 9 * uniform_filter.
            buf = self._buf
            ndimage.uniform_filter(v, size=3, mode=self._mode, output=buf)
            buf *= keep * d * 9.0 / 8.0
            if self._missing is not None:  # shares for absent neighbours stay home
                buf += (keep * d / 8.0) * self._missing * v
            v *= keep * (1.0 - d - d / 8.0)
            v += buf
        elif keep != 1.0:
            v *= keep
        if spec.floor > 0.0:
            v[v < spec.floor] = 0.0

    def _array(self, channel: str) -> np.ndarray:
        try:
            return self._data[channel]
        except KeyError:
            raise KeyError(f"unknown trace channel {channel!r}; have {self.channels}") from None


def _offset_arrays(offsets: Sequence[tuple[int, int]] | None) -> tuple[np.ndarray, np.ndarray]:
    if offsets is None:
        offsets = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    dx, dy = (np.array(c, dtype=np.int64) for c in zip(*offsets, strict=True))
    return dx, dy
