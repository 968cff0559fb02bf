"""Counts, facets and series of a workbench view from the column store (``columns``): the
same ``Summary`` the SQL path (``summary``) returns, from vectorised passes over numpy columns.

Each filter is a boolean mask over the store's rows (categorical ones through a lookup table
of the column's dictionary, so a code prefix or a major category is one gather), and each
facet a ``bincount`` of the selected rows. The rules are the SQL path's, written once more in
numpy: ``tests/db/test_explore_engine.py`` holds the two to the same numbers on random
filter states.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import shapely

from domain.explore.filters import ring as closed
from queries.explore.columns import EPOCH, NULL_T, Snapshot, to_s
from queries.explore.summary import Summary, day_series
from queries.explore.where import CLOSED_STATES, View

CLOCKS = ("normal", "warning", "overdue", "closed_on_time", "closed_late", "none")
_FACETS = ("state", "stage", "source", "urgency", "dept", "cat", "stype")


def eligible(snap: Snapshot | None, view: View) -> bool:
    """True when the store can answer ``view``: not a micro-grid (the store keeps no
    micro-grid codes), a period inside the store's range, and a "now" on a whole second (the
    store's time axis)."""
    if snap is None or view.micro_grid or view.now.microsecond:
        return False
    return to_s(view.start) >= snap.start_s


def _lut(snap: Snapshot, column: str, keep) -> np.ndarray:
    """A boolean lookup table over ``column``'s dictionary: keep(value) per code."""
    values = snap.dicts[column].values
    return np.fromiter((v is not None and keep(v) for v in values), bool, len(values))


def _in_polygon(lon: np.ndarray, lat: np.ndarray, ring, mask: np.ndarray) -> np.ndarray:
    """Rows of ``mask`` whose point intersects the polygon ``ring`` as PostGIS tests it in
    where.where (the ring closed and made valid, boundary included); the polygon's box first,
    so GEOS sees only the points that may be inside."""
    poly = shapely.make_valid(shapely.Polygon(closed(ring)))
    w, so, e, n = poly.bounds
    cand = np.flatnonzero(mask & (lon >= w) & (lon <= e) & (lat >= so) & (lat <= n))
    out = np.zeros(lon.size, bool)
    out[cand] = shapely.intersects_xy(poly, lon[cand], lat[cand])
    return out


def clock_codes(snap: Snapshot, idx: np.ndarray | None, now_s: int) -> np.ndarray:
    """Index into CLOCKS of the rows ``idx`` (None: every row) at ``now_s`` (the rule of
    where.CLOCK_SQL)."""
    states = snap.dicts["state"].values
    closed_lut = np.array([s in CLOSED_STATES for s in states], bool)
    suspended_lut = np.array([s == "suspended" for s in states], bool)
    c = (
        snap.cols
        if idx is None
        else {k: snap.cols[k][idx] for k in ("state", "due", "warn", "cot")}
    )
    st = c["state"]
    closed = closed_lut[st]
    running = ~closed & ~suspended_lut[st]
    due, warn, cot = c["due"], c["warn"], c["cot"]
    out = np.zeros(st.size, np.int8)  # normal
    out[running & (warn != NULL_T) & (warn <= now_s)] = 1
    # Sub-second instants are floored to the second: compare "before now" on the floor too.
    out[running & (due != NULL_T) & (due < now_s)] = 2
    out[closed] = 5
    out[closed & (cot == 1)] = 3
    out[closed & (cot == 0)] = 4
    return out


MEMO_SIZE = 4


def select(snap: Snapshot, view: View) -> tuple[np.ndarray | None, np.ndarray]:
    """(row positions of ``view``'s tickets, or None for every row; their clock codes),
    remembered for the last few views (the sort and the drawer do not change the rows)."""
    key = (
        replace(view.filters, sort="", ticket=None),
        view.scope,
        view.micro_grid,
        view.start,
        view.end,
        view.now,
    )
    hit = snap.memo.get(key)
    if hit is None:
        hit = _select(snap, view)
        try:  # another request may be trimming it at the same moment: then it is trimmed
            while len(snap.memo) >= MEMO_SIZE:
                snap.memo.pop(next(iter(snap.memo)))
        except (KeyError, RuntimeError, StopIteration):
            pass
        snap.memo[key] = hit
    return hit


def _select(snap: Snapshot, view: View) -> tuple[np.ndarray | None, np.ndarray]:
    f = view.filters
    c = snap.cols
    now_s = to_s(view.now)
    lo, hi = to_s(view.start), to_s(view.end)
    basis = c["closed"] if f.basis == "closed" else c["created"]
    mask = (basis >= lo) & (basis < hi) & (basis != NULL_T)
    if f.basis == "closed":
        mask &= c["created"] < hi + 86400
    prefix = view.scope.prefix
    if prefix or view.scope.empty:
        mask &= _lut(snap, "grid", lambda g: not view.scope.empty and g.startswith(prefix))[
            c["grid"]
        ]
    if f.cat:
        majors = {x for x in f.cat if len(x) == 2}
        minors = {x for x in f.cat if len(x) == 4}
        mask &= _lut(snap, "cat", lambda v: v[:2] in majors or v in minors)[c["cat"]]
    for name in ("state", "stage", "source", "urgency", "stype"):
        chosen = set(getattr(f, name))
        if chosen:
            mask &= _lut(snap, name, lambda v, chosen=chosen: v in chosen)[c[name]]
    if f.dept:
        depts = {str(d) for d in f.dept}
        mask &= _lut(snap, "dept", lambda v: v in depts)[c["dept"]]
    if f.sup:
        mask &= np.isin(c["sup"], np.array(f.sup, np.int8))
    if f.flag:
        flagged = np.zeros_like(mask)
        if "reworked" in f.flag:
            flagged |= c["reworked"] == 1
        if "returned" in f.flag:
            flagged |= c["returned"] == 1
        mask &= flagged
    if f.bbox:
        w, so, e, n = f.bbox
        mask &= (c["lon"] >= w) & (c["lon"] <= e) & (c["lat"] >= so) & (c["lat"] <= n)
    if f.poly:
        mask &= _in_polygon(c["lon"], c["lat"], f.poly, mask)
    idx = None if bool(mask.all()) else np.flatnonzero(mask)
    clocks = clock_codes(snap, idx, now_s)
    if f.clock:
        keep = np.isin(clocks, [CLOCKS.index(x) for x in f.clock])
        idx = (np.arange(c["id"].size) if idx is None else idx)[keep]
        clocks = clocks[keep]
    return idx, clocks


# Sorts the store can rank: a time column (whole seconds) -> its column.
SORT_TIMES = {"created_at": "created", "closed_at": "closed", "stage_due_at": "due"}
# Deeper than this, the table asks PostgreSQL directly (a long id list costs more than a scan).
MAX_CANDIDATES = 20_000


def candidates(snap: Snapshot, view: View, need: int) -> np.ndarray | None:
    """Ids of a superset of the first ``need`` tickets of ``view`` in its sort order, for
    PostgreSQL to order exactly (the store knows times to the second; rows tied on the k-th
    second are all included); None when the store cannot rank this sort or depth."""
    column = view.filters.sort.lstrip("-")
    if column not in SORT_TIMES or need > MAX_CANDIDATES:
        return None
    idx, _clocks = select(snap, view)
    keys = snap.cols[SORT_TIMES[column]]
    rows = np.arange(keys.size) if idx is None else idx
    k = keys[rows]
    present = k != NULL_T
    if need > int(present.sum()):  # NULLs would be needed (sorted last): let SQL do it
        return None
    rows, k = rows[present], k[present]
    if rows.size > need:
        desc = view.filters.sort.startswith("-")
        kth = (
            np.partition(k, k.size - need)[k.size - need]
            if desc
            else np.partition(k, need - 1)[need - 1]
        )
        keep = k >= kth if desc else k <= kth
        rows = rows[keep]
    return snap.cols["id"][rows]


def summarize(snap: Snapshot, view: View) -> Summary:
    """The Summary of ``view`` (check ``eligible`` first)."""
    c = snap.cols
    f = view.filters
    basis = c["closed"] if f.basis == "closed" else c["created"]
    idx, clocks = select(snap, view)

    def col(name: str) -> np.ndarray:
        # Taking every row would copy each column once more for nothing.
        return c[name] if idx is None else c[name][idx]

    out = Summary(total=int(clocks.size))
    for name in _FACETS:
        values = snap.dicts[name].values
        counts = np.bincount(col(name), minlength=len(values))
        facet = {}
        for code in np.flatnonzero(counts):
            v = values[code]
            facet[int(v) if name == "dept" and v is not None else v] = int(counts[code])
        out.facets[name] = facet
    out.facets["clock"] = {
        CLOCKS[k]: int(n) for k, n in enumerate(np.bincount(clocks, minlength=6)) if n
    }
    for name in ("sup", "reworked", "returned"):  # NOT NULL columns: 0..3 and 0/1
        counts = np.bincount(col(name).view(np.uint8))
        conv = int if name == "sup" else bool
        out.facets[name] = {conv(k): int(n) for k, n in enumerate(counts) if n}
    gvals = snap.dicts["grid"].values
    grids = np.bincount(col("grid"), minlength=len(gvals))
    out.grids = {gvals[k]: int(grids[k]) for k in np.flatnonzero(grids)}
    days: dict = {}
    q = basis if idx is None else basis[idx]
    if q.size:
        # Quarter hours since EPOCH, then each non-empty bucket's local day and hour (pandas
        # converts them all at once, daylight saving included), as the SQL path does.
        q = q // 900
        base = int(q.min())
        buckets = np.bincount(q - base)
        nz = np.flatnonzero(buckets)
        utc = pd.to_datetime((nz + base) * 900 + int(EPOCH.timestamp()), unit="s", utc=True)
        local = pd.DatetimeIndex(utc).tz_convert(view.tz)
        frame = pd.DataFrame(
            {
                "day": local.date,
                "dow": local.isocalendar().day.to_numpy(),
                "hour": local.hour,
                "n": buckets[nz],
            }
        )
        days = {d: int(n) for d, n in frame.groupby("day")["n"].sum().items()}
        for (dw, h), n in frame.groupby(["dow", "hour"])["n"].sum().items():
            out.pattern[(int(dw), int(h))] = int(n)
    out.series, out.weekly = day_series(days, view.first_day, view.last_day)
    return out
