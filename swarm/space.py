"""Agents' positions as arrays, with Mesa's grid and cell agents as a view over them.

The one module that keeps Mesa's space in step with the model's arrays. Positions live
in two integer arrays (``space.x``, ``space.y``, the model's ``ax``/``ay``); the act phase
moves agents by writing them, for all movers at once (:meth:`AgentSpace.move`). Mesa's
side (each cell's agent list, each agent's ``cell``, the grid's ``empty`` layer) is
brought up to date in one batch (:meth:`AgentSpace.sync`) the first time anything reads
it after a move: ``agent.cell``, ``cell.agents``, ``cell.is_empty``, a neighbourhood,
``grid.all_cells``, SolaraViz. A step that nobody looks at through Mesa pays nothing for
it; one that is looked at pays about a microsecond per agent that moved, instead of
Mesa's ten for moving agents one by one.

So ``mesa.discrete_space.CellAgent`` semantics hold (``agent.cell = c``, ``move_to``,
``move_relative`` work and update the arrays), with one rule: a cell collection kept from
an earlier step shows its cells' agents as of the last sync; read cells through the grid
or an agent each time.

:meth:`AgentSpace.nearby` answers "which agents are within ``r`` of this one" from a
sorted index of the arrays (:class:`PositionIndex`, a snapshot of the positions that an
observation can still read after the act phase), without touching Mesa.
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

import numpy as np
from mesa.discrete_space import Cell, CellAgent, OrthogonalMooreGrid

_AGENTS = Cell.__dict__["_agents"]  # the slot that holds a Mesa cell's agent list


class SpaceCell(Cell):
    """A Mesa cell whose agent list is synced from the arrays before it is read."""

    __slots__ = ()
    space: AgentSpace  # set on the per-space subclass

    @property
    def _agents(self) -> list:
        space = type(self).space
        if space.dirty:
            space.sync()
        return _AGENTS.__get__(self)

    @_agents.setter
    def _agents(self, value: list) -> None:
        _AGENTS.__set__(self, value)


class SpaceAgent(CellAgent):
    """A Mesa cell agent whose position is row ``index`` of its model's space arrays."""

    def __init__(self, model, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def cell(self) -> Cell | None:
        space = self.model.space
        if space.dirty:
            space.sync()
        return self._mesa_cell

    @cell.setter
    def cell(self, cell: Cell | None) -> None:
        space = self.model.space
        if space.dirty:
            space.sync()
        if self._mesa_cell is not None:
            self._mesa_cell.remove_agent(self)
        self._mesa_cell = cell
        if cell is not None:
            cell.add_agent(self)
            space.placed(self.index, *cell.coordinate)


class SpaceGrid(OrthogonalMooreGrid):
    """Mesa's ``OrthogonalMooreGrid``, its cells connected faster: the same connections
    in the same order, written straight into the new cells' ``connections`` (Mesa's
    ``Cell.connect`` clears a neighbourhood cache each time, which new cells do not
    have; that is most of the time building a large grid took)."""

    _OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))

    def _connect_cells_2d(self) -> None:
        d0, d1 = self.dimensions
        cells = list(self._cells.values())  # in coordinate order: flat index i * d1 + j
        i, j = np.divmod(np.arange(d0 * d1), d1)
        off = np.array(self._OFFSETS)
        ni, nj = i[:, None] + off[:, 0], j[:, None] + off[:, 1]
        if self.torus:
            ni, nj = ni % d0, nj % d1
        inside = (ni >= 0) & (ni < d0) & (nj >= 0) & (nj < d1)
        flat = np.where(inside, ni * d1 + nj, -1)
        table = np.array([*cells, None], dtype=object)  # index -1: no neighbour
        keys = self._OFFSETS
        for cell, row in zip(cells, table[flat].tolist(), strict=True):
            if self.torus:
                cell.connections = dict(zip(keys, row, strict=True))
            else:
                cell.connections = {k: c for k, c in zip(keys, row, strict=True) if c is not None}


class AgentSpace:
    """An ``OrthogonalMooreGrid`` of ``width`` × ``height`` and the agents' positions."""

    def __init__(self, width: int, height: int, torus: bool, random: Random) -> None:
        klass = type("SpaceCell", (SpaceCell,), {"__slots__": (), "space": self})
        self.width, self.height, self.torus = width, height, torus
        self.dirty = False
        self.agents: list[SpaceAgent] = []
        self.x = np.zeros(0, dtype=np.int64)
        self.y = np.zeros(0, dtype=np.int64)
        self._sx = self.x.copy()  # the positions Mesa's side shows
        self._sy = self.y.copy()
        self._index: PositionIndex | None = None
        self.grid = SpaceGrid((width, height), torus=torus, random=random, cell_klass=klass)
        self._cells = self.grid._cells

    # Placing and moving ------------------------------------------------------------------

    def place(self, agents: Sequence[SpaceAgent], xs: np.ndarray, ys: np.ndarray) -> None:
        """Put ``agents`` (rows 0..n-1) on the grid at ``(xs, ys)``."""
        self.agents = list(agents)
        self.x = np.asarray(xs, dtype=np.int64).copy()
        self.y = np.asarray(ys, dtype=np.int64).copy()
        self._sx, self._sy = self.x.copy(), self.y.copy()
        cells = self._cells
        for a, cx, cy in zip(self.agents, self.x.tolist(), self.y.tolist(), strict=True):
            cell = cells[(cx, cy)]
            _AGENTS.__get__(cell).append(a)
            a._mesa_cell = cell
        self._update_empty()
        self._index = None

    def move(self, idx: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Agents ``idx`` (distinct) are now at ``(x, y)``; Mesa's side follows on read."""
        self.x[idx], self.y[idx] = x, y
        self.dirty = True
        self._index = None

    def placed(self, i: int, x: int, y: int) -> None:
        """Agent ``i`` was put at ``(x, y)`` through Mesa (``agent.cell = ...``)."""
        self.x[i] = self._sx[i] = x
        self.y[i] = self._sy[i] = y
        self._index = None  # Mesa's add/remove_agent kept the `empty` layer

    def sync(self) -> None:
        """Bring every cell's agent list, agent's ``cell`` and the ``empty`` layer up to
        date with the arrays (one batch over the agents that moved since the last)."""
        self.dirty = False
        moved = np.flatnonzero((self.x != self._sx) | (self.y != self._sy))
        if not len(moved):
            return
        cells, agents = self._cells, self.agents
        old = zip(self._sx[moved].tolist(), self._sy[moved].tolist(), strict=True)
        for i, o in zip(moved.tolist(), old, strict=True):
            _AGENTS.__get__(cells[o]).remove(agents[i])
        new = zip(self.x[moved].tolist(), self.y[moved].tolist(), strict=True)
        for i, n in zip(moved.tolist(), new, strict=True):
            cell = cells[n]
            _AGENTS.__get__(cell).append(agents[i])
            agents[i]._mesa_cell = cell
        self._sx[moved], self._sy[moved] = self.x[moved], self.y[moved]
        self._update_empty()

    def _update_empty(self) -> None:
        count = np.bincount(self._sx * self.height + self._sy, minlength=self.width * self.height)
        layer = self.grid._mesa_property_layers["empty"]
        layer.data[:] = (count == 0).reshape(self.width, self.height)

    # Queries -----------------------------------------------------------------------------

    def index(self) -> PositionIndex:
        """The positions as of now, indexed for neighbour queries (a snapshot: it keeps
        answering for these positions after agents move)."""
        if self._index is None:
            self._index = PositionIndex(self.x, self.y, self.width, self.height, self.torus)
        return self._index

    def nearby(self, i: int, radius: int) -> np.ndarray:
        """Rows of the other agents within Chebyshev ``radius`` of agent ``i`` (wrapping
        on a torus); in no particular order."""
        return self.index().nearby(i, radius)


class PositionIndex:
    """Agents' positions at one moment (copied), sorted by cell for neighbour queries."""

    def __init__(self, x: np.ndarray, y: np.ndarray, width: int, height: int, torus: bool):
        self.x, self.y = x.copy(), y.copy()
        self.width, self.height, self.torus = width, height, torus
        key = self.x * height + self.y
        self._order = np.argsort(key, kind="stable")
        self._keys = key[self._order]

    def nearby(self, i: int, radius: int) -> np.ndarray:
        """Rows of the other agents within Chebyshev ``radius`` of agent ``i`` (wrapping
        on a torus), in no particular order."""
        offs = np.arange(-radius, radius + 1)
        gx = self.x[i] + offs
        gy = self.y[i] + offs
        if self.torus:
            gx, gy = gx % self.width, gy % self.height
            if len(offs) > min(self.width, self.height):  # the window wraps onto itself
                gx, gy = np.unique(gx), np.unique(gy)
        else:
            gx = gx[(gx >= 0) & (gx < self.width)]
            gy = gy[(gy >= 0) & (gy < self.height)]
        want = (gx[:, None] * self.height + gy[None, :]).ravel()
        lo = np.searchsorted(self._keys, want, "left")
        hi = np.searchsorted(self._keys, want, "right")
        order = self._order
        ranges = [order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        rows = np.concatenate(ranges)
        return rows[rows != i]
