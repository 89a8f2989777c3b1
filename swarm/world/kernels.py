"""Compiled kernels: the trace grid's step (decay, diffusion and floor in one pass), and
reading the grids around every agent (:func:`gather`, :func:`any_within`).

One pass over the cells, reading each cell's 3x3 neighbourhood and writing the result
into a second array (:class:`swarm.world.traces.TraceGrid` then swaps the two): memory
traffic of one array copy, instead of the seven or eight whole-array passes the same
update takes as numpy/scipy operations. For a cell with value ``v`` and neighbour sum
``s`` (the 8 Moore neighbours; on a bounded grid the missing ones are ``m`` and their
shares stay home)::

    v' = keep * ((1 - d) * v + d / 8 * (s + m * v)),  then 0 where v' < floor

This module imports numba (compiled on first use and cached on disk); nothing else in
the package does, so ``import swarm`` stays fast.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, boundscheck=False, nogil=True)
def _torus_row(vm, v0, vp, out, centre, side, floor):  # pragma: no cover - compiled
    h = v0.shape[0]
    for y in range(1, h - 1):  # no wrap inside the row: the loop vectorises
        s = vm[y - 1] + vm[y] + vm[y + 1] + v0[y - 1] + v0[y + 1] + vp[y - 1] + vp[y] + vp[y + 1]
        r = centre * v0[y] + side * s
        out[y] = r if r >= floor else 0.0
    for y in (0, h - 1):
        ym = y - 1 if y > 0 else h - 1
        yp = y + 1 if y < h - 1 else 0
        s = vm[ym] + vm[y] + vm[yp] + v0[ym] + v0[yp] + vp[ym] + vp[y] + vp[yp]
        r = centre * v0[y] + side * s
        out[y] = r if r >= floor else 0.0


@numba.njit(cache=True, boundscheck=False, nogil=True)
def step_torus(v, out, centre, side, floor):  # pragma: no cover - compiled
    """``out`` = one step of ``v`` on a torus (``centre`` = keep·(1−d), ``side`` =
    keep·d/8)."""
    w = v.shape[0]
    for x in range(w):
        xm = x - 1 if x > 0 else w - 1
        xp = x + 1 if x < w - 1 else 0
        _torus_row(v[xm], v[x], v[xp], out[x], centre, side, floor)


@numba.njit(cache=True, boundscheck=False, nogil=True)
def step_bounded(v, out, centre, side, floor):  # pragma: no cover - compiled
    """``out`` = one step of ``v`` on a bounded grid: shares meant for missing
    neighbours stay in the cell."""
    w, h = v.shape
    for x in range(w):
        for y in range(h):
            s = 0.0
            missing = 0
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    if dx == 0 and dy == 0:
                        continue
                    nx, ny = x + dx, y + dy
                    if 0 <= nx < w and 0 <= ny < h:
                        s += v[nx, ny]
                    else:
                        missing += 1
            r = centre * v[x, y] + side * (s + missing * v[x, y])
            out[x, y] = r if r >= floor else 0.0


def step_channel(v: np.ndarray, out: np.ndarray, keep: float, d: float, floor: float, torus: bool):
    """One decay + diffusion + floor step of ``v`` written into ``out`` (same shape and
    dtype; ``v`` is left as it was)."""
    kernel = step_torus if torus else step_bounded
    kernel(
        v, out, v.dtype.type(keep * (1.0 - d)), v.dtype.type(keep * d / 8.0), v.dtype.type(floor)
    )


# Reading around agents -----------------------------------------------------------------


@numba.njit(cache=True, boundscheck=False, nogil=True)
def gather(vs, xs, ys, dx, dy, out, torus):  # pragma: no cover - compiled
    """``out[i, c, k] = vs[c][xs[i] + dx[k], ys[i] + dy[k]]`` for a tuple of same-shape
    grids ``vs`` (wrapping on a torus, ``nan`` off a bounded grid): each cell's index
    found once for all grids."""
    w, h = vs[0].shape
    for i in range(xs.shape[0]):
        for k in range(dx.shape[0]):
            x, y = xs[i] + dx[k], ys[i] + dy[k]
            if torus:
                if x < 0 or x >= w:
                    x %= w
                if y < 0 or y >= h:
                    y %= h
            elif not (0 <= x < w and 0 <= y < h):
                for c in range(len(vs)):
                    out[i, c, k] = np.nan
                continue
            for c in range(len(vs)):
                out[i, c, k] = vs[c][x, y]


@numba.njit(cache=True, boundscheck=False, nogil=True)
def any_within(marks, xs, ys, r, torus):  # pragma: no cover - compiled
    """Per point, whether the grid ``marks`` has a nonzero cell within Chebyshev distance
    ``r`` of it (wrapping on a torus)."""
    w, h = marks.shape
    out = np.zeros(xs.shape[0], dtype=np.bool_)
    for i in range(xs.shape[0]):
        found = False
        for x in range(xs[i] - r, xs[i] + r + 1):
            if x < 0 or x >= w:
                if not torus:
                    continue
                x %= w
            row = marks[x]
            for y in range(ys[i] - r, ys[i] + r + 1):
                if y < 0 or y >= h:
                    if not torus:
                        continue
                    y %= h
                if row[y]:
                    found = True
                    break
            if found:
                break
        out[i] = found
    return out


# The expert's trace-following rule ------------------------------------------------------


@numba.njit(cache=True, boundscheck=False, nogil=True)
def best_neighbours(traces, rows, weights, ids, step, min_score, explore):  # pragma: no cover
    """Per agent, the neighbour (0-7) whose score ``sum_c weights[c] * traces[i, rows[c], k]``
    (summed left to right) plus :func:`swarm.interface.observation.tie_noise` is highest, if
    it beats ``min_score``, else ``explore``. Off-grid neighbours (``nan``) never win."""
    n = traces.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        best, best_k = -np.inf, 0
        for k in range(8):
            s = weights[0] * traces[i, rows[0], k]
            for c in range(1, rows.shape[0]):
                s = s + weights[c] * traces[i, rows[c], k]
            h = (ids[i] * 2654435761 + step * 40503 + k * 2246822519) & 4294967295
            s = s + h / 4294967296 * 1e-6
            if np.isnan(s):
                s = -np.inf
            if s > best or k == 0:
                best, best_k = s, k
        out[i] = best_k if best > min_score else explore
    return out


# Groups of agents ------------------------------------------------------------------------


@numba.njit(cache=True, boundscheck=False, nogil=True)
def _root(parent, i):  # pragma: no cover - compiled
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True, boundscheck=False, nogil=True)
def touching_groups(cells, width, height, torus):  # pragma: no cover - compiled
    """How many groups the occupied ``cells`` (flat ``x * height + y``, sorted, distinct)
    form when cells that touch (Moore neighbourhood, wrapping on a torus) are joined:
    union-find over the cells. Each cell's forward neighbours (each pair once) are found
    by one merge pass per direction (``cell + offset`` grows with the cell), those across
    a torus' edge by binary search."""
    n = cells.shape[0]
    parent = np.arange(n)
    for d in range(4):
        dx, dy = (1, 0) if d == 0 else (0, 1) if d == 1 else (1, 1) if d == 2 else (1, -1)
        j = 0
        for i in range(n):
            cx, cy = cells[i] // height, cells[i] % height
            nx, ny = cx + dx, cy + dy
            inside = 0 <= nx < width and 0 <= ny < height
            if inside:
                key = cells[i] + dx * height + dy
                while j < n and cells[j] < key:
                    j += 1
                k = j
            elif torus:
                key = (nx % width) * height + ny % height
                k = np.searchsorted(cells, key)
            else:
                continue
            if k < n and cells[k] == key:
                a, b = _root(parent, i), _root(parent, k)
                if a != b:
                    parent[a] = b
    groups = 0
    for i in range(n):
        groups += _root(parent, i) == i
    return groups
