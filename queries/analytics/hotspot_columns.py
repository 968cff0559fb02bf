"""The hotspot panel's two big counts answered from the workbench's in-memory ticket columns
(queries/explore/columns.py) when the server process has them loaded: tickets per grid in a
few day ranges, and tickets per (category, cell) in the recurring window. The same numbers as
the SQL in hotspots.py and recurring.py (a test holds them equal); None when the columns do not
cover the days asked for, and the caller falls back to SQL.

Times in the columns are whole seconds since EPOCH; the ranges asked for start and end on whole
seconds (local midnights, or a pinned "now"), so ``created >= a`` and ``created < b`` select the
same tickets as the SQL's half-open instants.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from domain.analytics.recurring import Cell

from ..explore.columns import Snapshot, to_s


def _in_scope(snap: Snapshot, prefix: str) -> np.ndarray:
    """A boolean per ticket: its grid code starts with ``prefix``."""
    values = snap.dicts["grid"].values
    ok = np.fromiter((v is not None and v.startswith(prefix) for v in values), bool, len(values))
    return ok[snap.cols["grid"]]


def covers(snap: Snapshot | None, start: datetime) -> bool:
    return snap is not None and to_s(start) >= snap.start_s


def grid_counts(
    snap: Snapshot, prefix: str, ranges: Sequence[tuple[datetime, datetime]]
) -> dict[str, list[int]]:
    """{grid code: [tickets created in each [a, b) of ``ranges``]} for the grids of the
    scope with a ticket in any of them."""
    created = snap.cols["created"]
    grid = snap.cols["grid"]
    scope = _in_scope(snap, prefix)
    n = len(snap.dicts["grid"].values)
    out = np.zeros((len(ranges), n), np.int64)
    for i, (a, b) in enumerate(ranges):
        m = scope & (created >= to_s(a)) & (created < to_s(b))
        out[i] = np.bincount(grid[m], minlength=n)
    values = snap.dicts["grid"].values
    return {
        values[k]: [int(v) for v in out[:, k]]
        for k in np.flatnonzero(out.sum(axis=0))
        if values[k] is not None
    }


def cells(
    snap: Snapshot,
    prefix: str,
    start: datetime,
    end: datetime,
    sx: float,
    sy: float,
    min_tickets: int,
) -> list[Cell]:
    """(category, cell x, cell y, tickets) with at least ``min_tickets`` tickets created in
    [start, end) inside the scope: the cells of recurring._CELLS_SQL."""
    created = snap.cols["created"]
    m = _in_scope(snap, prefix) & (created >= to_s(start)) & (created < to_s(end))
    if not m.any():
        return []
    cat = snap.cols["cat"][m].astype(np.int64)
    cx = np.floor(snap.cols["lon"][m] / sx).astype(np.int64)
    cy = np.floor(snap.cols["lat"][m] / sy).astype(np.int64)
    x0, y0 = int(cx.min()), int(cy.min())
    span_y = int(cy.max()) - y0 + 1
    span_x = int(cx.max()) - x0 + 1
    key = (cat * span_x + (cx - x0)) * span_y + (cy - y0)
    uniq, counts = np.unique(key, return_counts=True)
    keep = counts >= min_tickets
    uniq, counts = uniq[keep], counts[keep]
    dy = uniq % span_y
    rest = uniq // span_y
    dx, c = rest % span_x, rest // span_x
    names = snap.dicts["cat"].values
    return [
        Cell(names[int(ci)], int(xi) + x0, int(yi) + y0, int(ni))
        for ci, xi, yi, ni in zip(c, dx, dy, counts, strict=True)
    ]
