"""Counts, facets and series of a workbench view from the column store (``columns``): the
same ``Summary`` the SQL path (``summary``) returns, from vectorised passes over numpy columns.

Each filter is a boolean mask over the store's rows (categorical ones through a lookup table
of the column's dictionary, so a code prefix or a major category is one gather), and each
facet a ``bincount`` of the selected rows. The rules are the SQL path's, written once more in
numpy: ``tests/db/test_explore_engine.py`` holds the two to the same numbers on random
filter states.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import shapely

from domain.explore.filters import ring as closed
from queries.explore.columns import EPOCH, NULL_T, Snapshot, to_s
from queries.explore.summary import Summary, day_series
from queries.explore.where import CLOSED_STATES, View

CLOCKS = ("normal", "warning", "overdue", "closed_on_time", "closed_late", "none")
_FACETS = ("state", "stage", "source", "urgency", "dept", "cat", "stype")
# Threads that count a summary's facets and clocks (numpy releases the GIL in bincount and
# element-wise operations), and the fewest rows a thread is given.
COUNT_THREADS = 2
PART_ROWS = 500_000


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


def clock_codes(snap: Snapshot, idx: Rows, now_s: int) -> np.ndarray:
    """Index into CLOCKS of the rows ``idx`` at ``now_s`` (the rule of where.CLOCK_SQL); a
    long run of rows is done in parts side by side (numpy releases the GIL)."""
    n = idx.stop - idx.start if isinstance(idx, slice) else idx.size
    if n < 2 * PART_ROWS:
        return _clock_codes(snap, idx, now_s)
    cut = np.linspace(0, n, COUNT_THREADS + 1).astype(int)
    parts: list[Rows] = [
        slice(idx.start + a, idx.start + b) if isinstance(idx, slice) else idx[a:b]
        for a, b in itertools.pairwise(cut)
    ]
    with ThreadPoolExecutor(COUNT_THREADS) as pool:
        return np.concatenate(list(pool.map(lambda p: _clock_codes(snap, p, now_s), parts)))


def _clock_codes(snap: Snapshot, idx: Rows, now_s: int) -> np.ndarray:
    states = snap.dicts["state"].values
    closed_lut = np.array([s in CLOSED_STATES for s in states], bool)
    suspended_lut = np.array([s == "suspended" for s in states], bool)
    c = {k: snap.cols[k][idx] for k in ("state", "due", "warn", "cot")}
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
# The rows of a selection: a slice when they are one contiguous run of the store (indexing
# with it gives views, no copies: a whole year with no other filter costs no gather at all),
# else their positions.
Rows = slice | np.ndarray


def positions(idx: Rows) -> np.ndarray:
    """The row positions of ``idx`` as an array."""
    return np.arange(idx.start, idx.stop) if isinstance(idx, slice) else idx


def select(snap: Snapshot, view: View) -> tuple[Rows, np.ndarray]:
    """(the rows of ``view``'s tickets, their clock codes), remembered for the last few
    views (the sort and the drawer do not change the rows)."""
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


def _window(snap: Snapshot, view: View) -> tuple[slice, np.ndarray | None]:
    """The store's rows that can be in ``view``'s period: a window [a, b) of the rows and a
    mask over it (None: every row of the window). Creation times ascending in the store (the
    usual case: ids follow creation) make the created-at period a window found by binary
    search; otherwise one pass marks the period and the window spans its first and last row,
    so the other filters look only at that stretch."""
    f = view.filters
    cols = snap.cols
    lo, hi = to_s(view.start), to_s(view.end)
    if f.basis != "closed" and snap.created_sorted:
        created = cols["created"]
        a = int(np.searchsorted(created, lo, "left"))
        b = int(np.searchsorted(created, hi, "left"))
        return slice(a, max(a, b)), None
    basis = cols["closed"] if f.basis == "closed" else cols["created"]
    mask = (basis >= lo) & (basis < hi) & (basis != NULL_T)
    if f.basis == "closed":
        mask &= cols["created"] < hi + 86400
    if not mask.any():
        return slice(0, 0), None
    a = int(np.argmax(mask))
    b = int(mask.size - np.argmax(mask[::-1]))
    part = mask[a:b]
    return slice(a, b), None if bool(part.all()) else part


def _select(snap: Snapshot, view: View) -> tuple[Rows, np.ndarray]:
    f = view.filters
    w, mask = _window(snap, view)
    c = {k: v[w] for k, v in snap.cols.items()}  # views of the window, no copies
    n = w.stop - w.start

    def keep(m: np.ndarray) -> None:
        nonlocal mask
        mask = m if mask is None else mask & m

    prefix = view.scope.prefix
    if prefix or view.scope.empty:
        keep(_lut(snap, "grid", lambda g: not view.scope.empty and g.startswith(prefix))[c["grid"]])
    if f.cat:
        majors = {x for x in f.cat if len(x) == 2}
        minors = {x for x in f.cat if len(x) == 4}
        keep(_lut(snap, "cat", lambda v: v[:2] in majors or v in minors)[c["cat"]])
    for name in ("state", "stage", "source", "urgency", "stype"):
        chosen = set(getattr(f, name))
        if chosen:
            keep(_lut(snap, name, lambda v, chosen=chosen: v in chosen)[c[name]])
    if f.dept:
        depts = {str(d) for d in f.dept}
        keep(_lut(snap, "dept", lambda v: v in depts)[c["dept"]])
    if f.sup:
        keep(np.isin(c["sup"], np.array(f.sup, np.int8)))
    if f.flag:
        flagged = np.zeros(n, bool)
        if "reworked" in f.flag:
            flagged |= c["reworked"] == 1
        if "returned" in f.flag:
            flagged |= c["returned"] == 1
        keep(flagged)
    if f.bbox:
        west, so, e, north = f.bbox
        keep((c["lon"] >= west) & (c["lon"] <= e) & (c["lat"] >= so) & (c["lat"] <= north))
    if f.poly:
        keep(_in_polygon(c["lon"], c["lat"], f.poly, np.ones(n, bool) if mask is None else mask))
    idx: Rows = w if mask is None or bool(mask.all()) else w.start + np.flatnonzero(mask)
    clocks = clock_codes(snap, idx, to_s(view.now))
    if f.clock:
        chosen_clock = np.isin(clocks, [CLOCKS.index(x) for x in f.clock])
        if not bool(chosen_clock.all()):
            idx = positions(idx)[chosen_clock]
            clocks = clocks[chosen_clock]
    return idx, clocks


# Sorts the store can rank: a time column (whole seconds) -> its column.
SORT_TIMES = {"created_at": "created", "closed_at": "closed", "stage_due_at": "due"}
# Deeper than this, the table asks PostgreSQL directly (a long id list costs more than a scan).
MAX_CANDIDATES = 20_000
# How far from the run's end candidates() looks for a bound on the first ``need`` rows.
TAIL_ROWS_PER_NEED = 64


def candidates(snap: Snapshot, view: View, need: int) -> np.ndarray | None:
    """Ids of a superset of the first ``need`` tickets of ``view`` in its sort order, for
    PostgreSQL to order exactly (the store knows times to the second; rows tied on the k-th
    second are all included); None when the store cannot rank this sort or depth."""
    column = view.filters.sort.lstrip("-")
    if column not in SORT_TIMES or need > MAX_CANDIDATES:
        return None
    idx, _clocks = select(snap, view)
    keys = snap.cols[SORT_TIMES[column]]
    if isinstance(idx, slice) and column == "created_at" and snap.created_sorted:
        # The rows are in creation order: the first ``need`` are the run's head or tail
        # (with every row tied on the boundary second).
        a, b = idx.start, idx.stop
        if b - a > need:
            run = keys[a:b]
            if view.filters.sort.startswith("-"):
                a += int(np.searchsorted(run, run[run.size - need], "left"))
            else:
                b = a + int(np.searchsorted(run, run[need - 1], "right"))
        return snap.cols["id"][a:b]
    k = keys[idx]
    if isinstance(idx, slice) and column == "created_at" and k.size > need:
        # Creation times mostly ascend with the rows (ids follow creation; late imports
        # break it here and there): the ``need``-th latest (earliest) of the run's last
        # (first) few thousand rows bounds the ``need``-th of the whole run, so the rows on
        # the right side of it are a superset of the first ``need``. One comparison instead
        # of partitioning the run; far out of order, the partition below does it.
        desc = view.filters.sort.startswith("-")
        near_rows = min(k.size, TAIL_ROWS_PER_NEED * need)
        if desc:
            tail = k[k.size - near_rows :]
            bound = np.partition(tail, tail.size - need)[tail.size - need]
        else:
            bound = np.partition(k[:near_rows], need - 1)[need - 1]
        near = np.flatnonzero(k >= bound if desc else k <= bound)
        if near.size <= max(4 * need, 1000):
            return snap.cols["id"][idx.start + near]
    present = k != NULL_T
    if need > int(present.sum()):  # NULLs would be needed (sorted last): let SQL do it
        return None
    if isinstance(idx, slice):
        rows = idx.start + np.flatnonzero(present)
        k = k[present]
    else:
        rows, k = idx[present], k[present]
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
        return c[name][idx]  # a view when idx is a slice

    out = Summary(total=int(clocks.size))
    gvals = snap.dicts["grid"].values
    # Every count is one bincount over the selected rows, and numpy lets go of the GIL while
    # it counts: a few threads count the facets side by side (a city's year, 5 M rows: 80 ms
    # of bincounts take about 45 on 2 cores).
    jobs: dict[str, Any] = {
        name: (col(name), len(snap.dicts[name].values)) for name in (*_FACETS, "grid")
    }
    jobs |= {name: (col(name).view(np.uint8), 0) for name in ("sup", "reworked", "returned")}
    jobs["clock"] = (clocks, len(CLOCKS))
    with ThreadPoolExecutor(COUNT_THREADS) as pool:
        quarters = pool.submit(_quarter_hours, basis[idx])
        counted = dict(
            zip(
                jobs,
                pool.map(lambda job: np.bincount(job[0], minlength=job[1]), jobs.values()),
                strict=True,
            )
        )
        base, buckets = quarters.result()
    for name in _FACETS:
        values = snap.dicts[name].values
        counts = counted[name]
        facet = {}
        for code in np.flatnonzero(counts):
            v = values[code]
            facet[int(v) if name == "dept" and v is not None else v] = int(counts[code])
        out.facets[name] = facet
    out.facets["clock"] = {CLOCKS[k]: int(n) for k, n in enumerate(counted["clock"]) if n}
    for name in ("sup", "reworked", "returned"):  # NOT NULL columns: 0..3 and 0/1
        conv = int if name == "sup" else bool
        out.facets[name] = {conv(k): int(n) for k, n in enumerate(counted[name]) if n}
    grids = counted["grid"]
    out.grids = {gvals[k]: int(grids[k]) for k in np.flatnonzero(grids)}
    days: dict = {}
    if buckets.size:
        # Each non-empty quarter hour's local day and hour (pandas converts them all at once,
        # daylight saving included), as the SQL path does.
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


def _quarter_hours(times: np.ndarray) -> tuple[int, np.ndarray]:
    """(first quarter hour since EPOCH, count per quarter hour from it) of ``times``."""
    if not times.size:
        return 0, np.zeros(0, np.int64)
    q = times // 900
    base = int(q.min())
    q -= base
    return base, np.bincount(q)
