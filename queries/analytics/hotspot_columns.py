"""The hotspot panel's two big counts answered from the workbench's in-memory ticket columns
(queries/explore/columns.py) when the server process has them loaded: tickets per grid in a
few day ranges, and tickets per (category, cell) in the recurring window. The same numbers as
the SQL in hotspots.py and recurring.py (a test holds them equal); None when the columns do not
cover the days asked for, and the caller falls back to SQL. The cells also say which tickets
they hold (Window), so the places listed are read again by primary key, not by spatial probe.

Times in the columns are whole seconds since EPOCH; the ranges asked for start and end on whole
seconds (local midnights, or a pinned "now"), so ``created >= a`` and ``created < b`` select the
same tickets as the SQL's half-open instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from domain.analytics.recurring import CellColumns

from ..explore.columns import Snapshot, to_s


def _grids_in_scope(snap: Snapshot, prefix: str) -> np.ndarray:
    """A boolean per grid code of the dictionary: the code starts with ``prefix``."""
    values = snap.dicts["grid"].values
    return np.fromiter((v is not None and v.startswith(prefix) for v in values), bool, len(values))


def _rows(snap: Snapshot, prefix: str, lo: int, hi: int) -> np.ndarray:
    """The rows of the tickets created in [lo, hi) (seconds since EPOCH) whose grid code
    starts with ``prefix``: the time first (one pass over the columns), the scope on those."""
    created = snap.cols["created"]
    rows = np.flatnonzero((created >= lo) & (created < hi))
    return rows[_grids_in_scope(snap, prefix)[snap.cols["grid"][rows]]]


def covers(snap: Snapshot | None, start: datetime) -> bool:
    return snap is not None and to_s(start) >= snap.start_s


def grid_counts(
    snap: Snapshot, prefix: str, ranges: Sequence[tuple[datetime, datetime]]
) -> dict[str, list[int]]:
    """{grid code: [tickets created in each [a, b) of ``ranges``]} for the grids of the
    scope with a ticket in any of them. Counted for every grid and the scope's kept after:
    the scope is a set of grid codes."""
    bounds = [(to_s(a), to_s(b)) for a, b in ranges]
    created = snap.cols["created"]
    m = (created >= min(a for a, _ in bounds)) & (created < max(b for _, b in bounds))
    created, grid = created[m], snap.cols["grid"][m]
    values = snap.dicts["grid"].values
    n = len(values)
    out = np.zeros((len(bounds), n), np.int64)
    for i, (a, b) in enumerate(bounds):
        out[i] = np.bincount(grid[(created >= a) & (created < b)], minlength=n)
    keep = np.flatnonzero(_grids_in_scope(snap, prefix) & out.any(axis=0)).tolist()
    return dict(zip([values[k] for k in keep], out[:, keep].T.tolist(), strict=True))


# Multiplicative hashing of cell keys (two odd constants per width; products wrap around).
_MULTIPLIERS = {
    32: (np.uint32(0x9E3779B1), np.uint32(0x85EBCA6B)),
    64: (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)),
}


def _maybe_full(key: np.ndarray, min_tickets: int) -> np.ndarray:
    """Indexes of the keys that may occur ``min_tickets`` times or more: a superset of those
    that do, found without sorting. All copies of a key fall into one hash bucket, so a
    key's count never exceeds its bucket's; two passes with different hashes into at most
    2^20 buckets (8 MB of counts, cheap to clear and to hit) leave few thin keys behind."""
    width = key.dtype.itemsize * 8
    bits = min(20, max(10, key.size.bit_length()))
    unsigned = key.view(f"u{key.dtype.itemsize}")
    shift = unsigned.dtype.type(width - bits)
    first, second = _MULTIPLIERS[width]
    bucket = ((unsigned * first) >> shift).astype(np.intp)
    keep = np.flatnonzero(np.bincount(bucket, minlength=1 << bits)[bucket] >= min_tickets)
    bucket = ((unsigned[keep] * second) >> shift).astype(np.intp)
    return keep[np.bincount(bucket, minlength=1 << bits)[bucket] >= min_tickets]


@dataclass(frozen=True)
class Window:
    """The recurring window's tickets that may lie in recurring cells: their cell ``keys``
    and snapshot ``rows`` (unsorted), to find the tickets of the places listed."""

    snap: Snapshot
    x0: int
    y0: int
    span_x: int
    span_y: int
    keys: np.ndarray
    rows: np.ndarray

    def key(self, category: str, cx: int, cy: int) -> int:
        code = self.snap.dicts["cat"].index[category]
        return (code * self.span_x + (cx - self.x0)) * self.span_y + (cy - self.y0)

    def tickets(
        self, places: Sequence[Sequence[tuple[str, int, int]]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(place index, ticket id, created seconds since EPOCH) of every ticket in the
        cells of ``places`` (lists of (category, cx, cy); no cell in two places), by place."""
        want = np.array([self.key(*c) for cells in places for c in cells], np.int64)
        place = np.repeat(np.arange(len(places)), [len(cells) for cells in places])
        if not want.size or not self.keys.size:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
        order = np.argsort(want)
        want, place = want[order], place[order]
        pos = np.minimum(np.searchsorted(want, self.keys), want.size - 1)
        hit = np.flatnonzero(want[pos] == self.keys)
        by_place = hit[np.argsort(place[pos[hit]], kind="stable")]
        rows = self.rows[by_place]
        return (
            place[pos[by_place]].astype(np.int64),
            self.snap.cols["id"][rows].astype(np.int64),
            self.snap.cols["created"][rows].astype(np.int64),
        )


def cells(
    snap: Snapshot,
    prefix: str,
    start: datetime,
    end: datetime,
    sx: float,
    sy: float,
    min_tickets: int,
) -> tuple[CellColumns, Window | None]:
    """The (category, cell x, cell y, tickets) with at least ``min_tickets`` tickets created
    in [start, end) inside the scope — the cells of recurring._CELLS_SQL — and where their
    tickets are (None when the window has none)."""
    rows = _rows(snap, prefix, to_s(start), to_s(end))
    none = np.zeros(0, np.int64)
    if not rows.size:
        return CellColumns([], none, none, none, none), None
    cx = np.floor(snap.cols["lon"][rows] / sx).astype(np.int64)
    cy = np.floor(snap.cols["lat"][rows] / sy).astype(np.int64)
    x0, y0 = int(cx.min()), int(cy.min())
    span_y = int(cy.max()) - y0 + 1
    span_x = int(cx.max()) - x0 + 1
    # int32 keys when they fit (a whole large city: 51 categories × 1,671 × 1,304 cells):
    # half the memory to hash and sort.
    wide = len(snap.dicts["cat"].values) * span_x * span_y >= 2**31
    kind = np.int64 if wide else np.int32
    key = (snap.cols["cat"][rows].astype(kind) * kind(span_x) + (cx - x0).astype(kind)) * kind(
        span_y
    ) + (cy - y0).astype(kind)
    # Sorting a whole city's 1.3 M keys took 80 ms, yet most tickets sit in cells too thin to
    # recur: thinning them by hash buckets first leaves ~a fifth to sort.
    full = _maybe_full(key, min_tickets)
    window = Window(snap, x0, y0, span_x, span_y, key[full], rows[full])
    ranked = np.sort(window.keys)
    first = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if ranked.size else none
    counts = np.diff(np.r_[first, ranked.size])
    keep = counts >= min_tickets
    uniq, counts = ranked[first[keep]].astype(np.int64), counts[keep]
    dy = uniq % span_y
    rest = uniq // span_y
    dx, c = rest % span_x, rest // span_x
    present = np.unique(c)
    names = [snap.dicts["cat"].values[i] for i in present.tolist()]
    return CellColumns(names, np.searchsorted(present, c), dx + x0, dy + y0, counts), window
