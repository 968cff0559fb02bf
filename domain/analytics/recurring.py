"""Recurring problems (issue #12 §1): the same category at the same place, again and again within
``recurring_days``. Pure geometry on cell indexes, no I/O; queries/analytics/hotspots.py counts
the tickets per cell.

The rule (docs/analytics-hotspots.md): ticket points are snapped to a square grid of side
``recurring_radius_m`` in a local metric frame (degrees scaled by the metres per degree at the
scope's mean latitude); a (category, cell) holding at least ``recurring_min`` tickets of the
window is a recurring place. Recurring cells of one category next to each other are merged
around the fullest one (``merge_cells``: the seed cell and its 8 neighbours, not transitively),
so that a spot cut by a cell border is listed once. Two tickets of one cell lie at most
√2 × radius apart, of one merged place at most 3√2 × radius.

Chosen over DBSCAN (ST_ClusterDBSCAN, eps = radius, minpoints = recurring_min, per category):
over the ~1.3 M tickets a whole large city has in 90 days DBSCAN took 10.7 s, and density-
connected clusters chain a busy quarter into one blob; one grouped scan takes 1.2–2.8 s.
The price: tickets of one spot split 2 + 1 by a cell border are not seen (see the docs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


def metres_per_degree(lat: float) -> tuple[float, float]:
    """(metres per degree of longitude, of latitude) at latitude ``lat`` on the WGS84
    ellipsoid (the usual series, good to centimetres)."""
    if not math.isfinite(lat) or not -90 <= lat <= 90:
        raise ValueError(f"latitude must lie in [-90, 90], got {lat!r}")
    phi = math.radians(lat)
    per_lat = 111_132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    # At a pole a degree of longitude is no distance; keep the frame finite.
    return max(per_lon, 1.0), per_lat


class Cell(NamedTuple):
    """Tickets of one category in one cell (``cx``, ``cy`` = floor(metres / side))."""

    category: str
    cx: int
    cy: int
    tickets: int


class Place(NamedTuple):
    """One recurring problem: a category and its recurring cells, the seed (fullest) first."""

    category: str
    cells: tuple[Cell, ...]
    tickets: int


class CellColumns(NamedTuple):
    """Many cells at once: ``cat`` indexes ``categories`` (any order, no duplicates); ``cx``,
    ``cy`` and ``tickets`` as in Cell; int64 arrays of one length."""

    categories: Sequence[str]
    cat: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    tickets: np.ndarray

    @classmethod
    def of(cls, cells: Sequence[Cell]) -> CellColumns:
        names = sorted({c.category for c in cells})
        index = {c: i for i, c in enumerate(names)}
        n = len(cells)
        return cls(
            names,
            np.fromiter((index[c.category] for c in cells), np.int64, n),
            np.fromiter((c.cx for c in cells), np.int64, n),
            np.fromiter((c.cy for c in cells), np.int64, n),
            np.fromiter((c.tickets for c in cells), np.int64, n),
        )


class Merged(NamedTuple):
    """Recurring places: how many in all, their tickets, and the largest few (``places``,
    largest first; all of them when no limit was asked for)."""

    total: int
    tickets: int
    places: list[Place]


# The 8 neighbours of a cell, in the order a seed takes them (by dx, then dy).
_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _neighbour_index(cat: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """n × 8 array: the index of each cell's neighbour of the same category, -1 for none
    (vectorised: a whole city has ~50,000 recurring cells)."""
    n = cat.size
    # One int64 key per cell; the margin of one cell keeps neighbours' keys in range.
    x0, y0 = int(cx.min()) - 1, int(cy.min()) - 1
    wx, wy = int(cx.max()) - x0 + 2, int(cy.max()) - y0 + 2

    def key(dx: int, dy: int) -> np.ndarray:
        return (cat * wx + (cx + dx - x0)) * wy + (cy + dy - y0)

    own = key(0, 0)
    order = np.argsort(own, kind="stable")
    ranked = own[order]
    out = np.full((n, len(_NEIGHBOURS)), -1, dtype=np.int64)
    for j, (dx, dy) in enumerate(_NEIGHBOURS):
        k = key(dx, dy)
        pos = np.minimum(np.searchsorted(ranked, k), n - 1)
        out[:, j] = np.where(ranked[pos] == k, order[pos], -1)
    return out


def _owners(nbrs: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The seed each cell joins (itself for a seed) under the greedy rule of ``merge_cells``
    with the cells taken in ``rank`` order, without a per-cell Python loop. A seed takes every
    later neighbour not yet taken, so a cell is a seed exactly when no earlier neighbour is
    one, and otherwise joins its earliest seed neighbour. That is decided in rounds: each
    round settles the cells whose earlier neighbours are all settled (at least the earliest
    unsettled cell, so the rounds end; chains of equal cells are the longest)."""
    n = rank.size
    owner = np.arange(n)
    rows = np.flatnonzero((nbrs >= 0).any(axis=1))
    if not rows.size:
        return owner
    nb = nbrs[rows]
    safe = np.where(nb >= 0, nb, 0)
    earlier = (nb >= 0) & (rank[safe] < rank[rows][:, None])
    # 0 unsettled, 1 seed, 2 taken; cells without neighbours are seeds.
    state = np.ones(n, np.int8)
    state[rows] = 0
    todo = np.arange(rows.size)
    while todo.size:
        around = state[safe[todo]]
        before = earlier[todo]
        taken = (before & (around == 1)).any(axis=1)
        ready = ~(before & (around == 0)).any(axis=1)
        seed = ready & ~taken
        state[rows[todo[taken]]] = 2
        state[rows[todo[seed]]] = 1
        todo = todo[~(taken | seed)]
    joined = np.flatnonzero(state[rows] == 2)
    seed_rank = np.where(earlier[joined] & (state[safe[joined]] == 1), rank[safe[joined]], n)
    first = np.argmin(seed_rank, axis=1)
    owner[rows[joined]] = safe[joined, first]
    return owner


def _place(cells: list[Cell]) -> Place:
    return Place(cells[0].category, tuple(cells), sum(c.tickets for c in cells))


def merge(cells: CellColumns, limit: int | None = None) -> Merged:
    """Recurring cells grouped into places (the rule of ``merge_cells``), vectorised: every
    place is counted, only the ``limit`` largest (all when None) become Place objects."""
    n = int(cells.cat.size)
    if not n:
        return Merged(0, 0, [])
    names = list(cells.categories)
    # Ties go by category name, whatever order ``categories`` comes in.
    by_name = np.empty(len(names), np.int64)
    by_name[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    cat = by_name[cells.cat]
    cx, cy, tickets = cells.cx, cells.cy, cells.tickets
    order = np.lexsort((cy, cx, cat, -tickets))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    owner = _owners(_neighbour_index(cat, cx, cy), rank)
    seeds = np.flatnonzero(owner == np.arange(n))
    # Exact: float64 holds sums of ticket counts to 2^53.
    size = np.bincount(owner, weights=tickets, minlength=n).astype(np.int64)[seeds]
    # Largest first; equal places in the order their seeds were taken.
    seeds = seeds[np.lexsort((rank[seeds], -size))]
    shown = seeds if limit is None else seeds[:limit]
    slot = np.full(n, -1, np.int64)
    slot[shown] = np.arange(shown.size)
    members = np.flatnonzero(slot[owner] >= 0)
    # Each place: its seed, then the neighbours it took by dx, then dy (the seed's order).
    members = members[
        np.lexsort((cy[members], cx[members], owner[members] != members, slot[owner[members]]))
    ]
    places: list[Place] = []
    current: list[Cell] = []
    rows = zip(
        (slot[owner[members]] != np.roll(slot[owner[members]], 1)).tolist(),
        cells.cat[members].tolist(),
        cx[members].tolist(),
        cy[members].tolist(),
        tickets[members].tolist(),
        strict=True,
    )
    for new_place, c, x, y, t in rows:
        if new_place and current:
            places.append(_place(current))
            current = []
        current.append(Cell(names[c], x, y, t))
    if current:
        places.append(_place(current))
    return Merged(int(seeds.size), int(tickets.sum()), places)


def merge_cells(cells: Sequence[Cell]) -> list[Place]:
    """Recurring cells grouped into places, largest first: the fullest cell not yet taken
    seeds a place and takes those of its 8 neighbours (same category) not yet taken, never
    their neighbours in turn. A place is thus at most 3 × 3 cells: a spot cut by a cell border
    is listed once, yet a dense quarter of a city does not chain into one kilometre-wide
    "place" (on the large demo, transitive merging made blobs of 1,000 cells). The result does
    not depend on the order of ``cells``: ties go by category, then cell."""
    if not cells:
        return []
    return merge(CellColumns.of(cells)).places
