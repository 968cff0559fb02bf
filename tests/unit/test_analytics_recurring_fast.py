"""The hotspot panel's vectorised parts held to plain reference loops: merging recurring cells
into places (domain.analytics.recurring.merge, the greedy rule of docs/analytics-hotspots.md),
the baseline rates and the Benjamini–Hochberg q (domain.analytics.hotspots), and the cells
counted from in-memory ticket columns with the tickets of the places listed
(queries.analytics.hotspot_columns: hash thinning, int32 and int64 keys)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.analytics import hotspots as hs
from domain.analytics.recurring import Cell, CellColumns, Place, merge, merge_cells
from queries.analytics import hotspot_columns
from queries.explore.columns import EPOCH, Dictionary, Snapshot, to_s

# ---- merging cells into places ---------------------------------------------------------------


def merge_by_loop(cells: list[Cell]) -> list[Place]:
    """The rule as first written: fullest cell first (ties by category, cx, cy), each seed
    takes its 8 neighbours not yet taken, in (dx, dy) order; places largest first, ties in
    seed order."""
    at = {(c.category, c.cx, c.cy): c for c in cells}
    taken: set[Cell] = set()
    places = []
    for c in sorted(cells, key=lambda c: (-c.tickets, c.category, c.cx, c.cy)):
        if c in taken:
            continue
        taken.add(c)
        members = [c]
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                n = at.get((c.category, c.cx + dx, c.cy + dy))
                if n is not None and n not in taken:
                    taken.add(n)
                    members.append(n)
        places.append(Place(c.category, tuple(members), sum(m.tickets for m in members)))
    places.sort(key=lambda p: -p.tickets)
    return places


cell_sets = st.lists(
    st.tuples(
        st.sampled_from(["0901", "0902", "1003"]),
        st.integers(-6, 6),
        st.integers(-6, 6),
        st.integers(3, 7),
    ),
    max_size=150,
    unique_by=lambda c: c[:3],
)


@settings(max_examples=300, deadline=None)
@given(cell_sets, st.randoms(use_true_random=False))
def test_merge_is_the_greedy_loop(rows, rnd):
    cells = [Cell(*r) for r in rows]
    expected = merge_by_loop(cells)
    rnd.shuffle(cells)
    assert merge_cells(cells) == expected


@settings(max_examples=200, deadline=None)
@given(cell_sets, st.integers(0, 12), st.randoms(use_true_random=False))
def test_merge_lists_the_largest_and_counts_them_all(rows, limit, rnd):
    cells = [Cell(*r) for r in rows]
    expected = merge_by_loop(cells)
    # Categories in any order (the column store's dictionary order), ties still by name.
    names = sorted({c.category for c in cells})
    rnd.shuffle(names)
    index = {n: i for i, n in enumerate(names)}
    cols = CellColumns(
        names,
        np.array([index[c.category] for c in cells], np.int64),
        np.array([c.cx for c in cells], np.int64),
        np.array([c.cy for c in cells], np.int64),
        np.array([c.tickets for c in cells], np.int64),
    )
    merged = merge(cols, limit)
    assert merged.places == expected[:limit]
    assert merged.total == len(expected)
    assert merged.tickets == sum(p.tickets for p in expected)


def test_a_long_chain_of_equal_cells_merges_like_the_loop():
    cells = [Cell("0901", x, 0, 3) for x in range(500)] + [Cell("0901", 0, y, 3) for y in (1, 2)]
    assert merge_cells(cells) == merge_by_loop(cells)


# ---- baseline and q ------------------------------------------------------------------------


@given(
    st.lists(st.lists(st.integers(0, 10**6), min_size=3, max_size=3), max_size=30),
    st.lists(st.integers(1, 92), min_size=3, max_size=3),
    st.integers(1, 92),
)
def test_baseline_rates_are_baseline_rate_row_by_row(rows, days, period_days):
    table = np.array(rows, np.int64).reshape(len(rows), 3)
    got = hs.baseline_rates(table, days, period_days).tolist()
    assert got == [hs.baseline_rate(r, days, period_days) for r in rows]


def bh_by_loop(ps: list[float]) -> list[float]:
    n = len(ps)
    order = sorted(range(n), key=lambda i: ps[i])
    out = [1.0] * n
    running = 1.0
    for rank in range(n, 0, -1):
        i = order[rank - 1]
        running = min(running, ps[i] * n / rank)
        out[i] = min(1.0, running)
    return out


@given(
    st.lists(
        st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1e-300, 0.01, 0.5, 1.0])), max_size=60
    )
)
def test_benjamini_hochberg_is_the_loop(ps):
    assert hs.benjamini_hochberg(ps) == bh_by_loop(ps)


# ---- cells from the ticket columns ---------------------------------------------------------

START = datetime(2026, 8, 1, tzinfo=UTC)
END = START + timedelta(days=90)


def snapshot(rnd: random.Random, n: int, span_deg: float, categories: int) -> Snapshot:
    """``n`` tickets clumped around a few spots in ``span_deg`` degrees, some outside the
    window and some in another town."""
    grids, cats = Dictionary(), Dictionary()
    spots = [(rnd.uniform(0, span_deg), rnd.uniform(0, span_deg)) for _ in range(40)]
    lon, lat, grid, cat, created, ids = [], [], [], [], [], []
    for i in range(n):
        x, y = rnd.choice(spots) if rnd.random() < 0.7 else (0.0, 0.0)
        lon.append(120.0 + x + rnd.gauss(0, 0.0004))
        lat.append(30.0 + y + rnd.gauss(0, 0.0004))
        grid.append(grids._add(rnd.choice(["330402007001", "330402007002", "330402008001"])))
        cat.append(cats._add(f"09{rnd.randrange(categories):02d}"))
        created.append(to_s(START) + rnd.randrange(-86400 * 20, 86400 * 100))
        ids.append(1000 + i)
    cols = {
        "id": np.array(ids, np.int64),
        "created": np.array(created, np.int32),
        "grid": np.array(grid, np.int32),
        "cat": np.array(cat, np.int32),
        "lon": np.array(lon),
        "lat": np.array(lat),
    }
    return Snapshot(cols, {"grid": grids, "cat": cats}, to_s(EPOCH), START, None, 0, 0.0)


def cells_by_counting(snap: Snapshot, prefix: str, sx: float, sy: float, least: int) -> Counter:
    c = snap.cols
    rows = [
        i
        for i in range(snap.rows)
        if to_s(START) <= c["created"][i] < to_s(END)
        and snap.dicts["grid"].values[c["grid"][i]].startswith(prefix)
    ]
    per_cell = Counter(
        (
            snap.dicts["cat"].values[c["cat"][i]],
            int(np.floor(c["lon"][i] / sx)),
            int(np.floor(c["lat"][i] / sy)),
        )
        for i in rows
    )
    return Counter({k: v for k, v in per_cell.items() if v >= least})


def test_columns_count_the_cells_and_find_their_tickets():
    rnd = random.Random(7)
    # Narrow (int32 keys) and a spread-out city with many categories (int64 keys).
    for span, categories, sx in ((0.05, 5, 0.0005), (40.0, 90, 0.0005), (0.02, 3, 0.00005)):
        snap = snapshot(rnd, 6000, span, categories)
        for prefix, least in (("", 3), ("330402007", 2), ("330402007002", 4), ("9", 3)):
            sy = sx * 0.9
            cols, window = hotspot_columns.cells(snap, prefix, START, END, sx, sy, least)
            got = Counter(
                {
                    (cols.categories[k], x, y): n
                    for k, x, y, n in zip(
                        cols.cat.tolist(),
                        cols.cx.tolist(),
                        cols.cy.tolist(),
                        cols.tickets.tolist(),
                        strict=True,
                    )
                }
            )
            expected = cells_by_counting(snap, prefix, sx, sy, least)
            assert got == expected, (span, prefix)
            if not expected:
                continue
            # The tickets of a few places (groups of cells), found again by cell.
            listed = sorted(expected)[:: max(1, len(expected) // 7)]
            groups = [listed[i : i + 2] for i in range(0, len(listed), 2)]
            place, ids, created = window.tickets(groups)
            c = snap.cols
            want = sorted(
                (g, int(c["id"][i]), int(c["created"][i]))
                for g, cells in enumerate(groups)
                for i in range(snap.rows)
                if to_s(START) <= c["created"][i] < to_s(END)
                and snap.dicts["grid"].values[c["grid"][i]].startswith(prefix)
                and (
                    snap.dicts["cat"].values[c["cat"][i]],
                    int(np.floor(c["lon"][i] / sx)),
                    int(np.floor(c["lat"][i] / sy)),
                )
                in cells
            )
            assert sorted(zip(place.tolist(), ids.tolist(), created.tolist(), strict=True)) == want
            assert place.tolist() == sorted(place.tolist())


@given(st.lists(st.integers(-(2**40), 2**40), max_size=400), st.integers(2, 5), st.booleans())
def test_hash_thinning_keeps_every_full_key(values, least, narrow):
    values = values + values[: len(values) // 2] * least  # some keys repeated
    if narrow:
        key = np.array([v % 2**31 for v in values], np.int32)
    else:
        key = np.array(values, np.int64)
    kept = set(hotspot_columns._maybe_full(key, least).tolist())
    counts = Counter(key.tolist())
    assert {i for i, k in enumerate(key.tolist()) if counts[k] >= least} <= kept
