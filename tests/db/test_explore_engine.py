"""The workbench's column store answers exactly as its SQL: random filter states on the small
demo give the same Summary from ``queries.explore.engine`` as from ``queries.explore.summary``,
the store's candidate ids give the same table page, and writes reach the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg_pool import ConnectionPool

from domain.clock.work_calendar import WorkCalendar
from domain.explore.filters import (
    CLOCK_NAMES_ZH,
    FLAG_NAMES_ZH,
    STAGES,
    STATES,
    Filters,
    ring,
)
from domain.explore.periods import QUICK_NAMES_ZH
from domain.vocabulary import SOURCES, URGENCIES
from queries.bulk import set_meta
from queries.cache import commit_and_bump, data_version
from queries.db import connect
from queries.explore import engine, table
from queries.explore.columns import ColumnStore, Snapshot, ascending
from queries.explore.engine import candidates, eligible, summarize
from queries.explore.summary import summary
from queries.explore.where import resolve
from queries.item_list import load_limits
from queries.scope import Scope
from queries.tickets import Clocks, NewTicket, create_ticket
from tests.conftest import DEMO_NOW

TZ = ZoneInfo("Asia/Shanghai")
NOW = DEMO_NOW.replace(second=0, microsecond=0)


@pytest.fixture(scope="module", params=["creation-order", "id-order", "shuffled"])
def demo(request, small_demo_template):
    """A pool on a copy of the small demo (the template itself must stay free of sessions
    for other tests to copy it), its store loaded at NOW, and the codes the strategies draw
    from. The store in each of the engine's layouts: rows in creation order (a period is a run
    of rows found by binary search), in id order as loaded (mostly by creation: the demo's
    planted hotspot comes last) and shuffled (a period is found by a scan; the first page's
    candidates by a partition)."""
    from tests.conftest import database_copy

    with database_copy(small_demo_template) as s, pytest.MonkeyPatch.context() as mp:
        if request.param != "creation-order":
            # The small demo is far below the size at which clocks are worked out in parts
            # side by side: make its parts small so that path is the one held to SQL.
            mp.setattr(engine, "PART_ROWS", 1000)
        pool = ConnectionPool(s.database_url, min_size=1, open=True)
        try:
            for pool_, snap, codes in _demo(pool):
                yield pool_, layout(snap, request.param), codes
        finally:
            pool.close()


def layout(snap: Snapshot, kind: str) -> Snapshot:
    if kind == "id-order":
        return replace(snap, created_sorted=False, memo={})
    if kind == "shuffled":
        order = np.random.default_rng(7).permutation(snap.rows)
        cols = {k: v[order] for k, v in snap.cols.items()}
        return replace(snap, cols=cols, created_sorted=False, memo={})
    order = np.lexsort((snap.cols["id"], snap.cols["created"]))
    cols = {k: v[order] for k, v in snap.cols.items()}
    assert ascending(cols["created"])
    return replace(snap, cols=cols, created_sorted=True, memo={})


def _demo(pool):
    with pool.connection() as conn:
        codes = {
            "areas": [
                r[0]
                for r in conn.execute(
                    "(SELECT code FROM region WHERE level IN ('county','town','community')"
                    "  ORDER BY code LIMIT 12)"
                    " UNION ALL (SELECT code FROM grid ORDER BY code LIMIT 12)"
                )
            ],
            "cats": [r[0] for r in conn.execute("SELECT code FROM category ORDER BY code")],
            "depts": [r[0] for r in conn.execute("SELECT id FROM department ORDER BY id")],
            "ext": conn.execute(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                " FROM (SELECT ST_Extent(geom)::geometry e FROM grid) x"
            ).fetchone(),
            "version": data_version(conn),
        }
    store = ColumnStore(days=400)
    snap = store.current(pool, NOW, codes["version"])
    yield pool, snap, codes


def filters_strategy(codes):
    w, s, e, n = codes["ext"]
    lon = st.floats(w, e)
    lat = st.floats(s, n)
    # Each filter is off three times in four, or most combined views would be empty.
    some = lambda xs: st.one_of(  # noqa: E731
        st.just(()),
        st.just(()),
        st.just(()),
        st.lists(st.sampled_from(xs), min_size=1, max_size=3, unique=True).map(tuple),
    )
    custom = st.tuples(st.integers(0, 300), st.integers(0, 90)).map(
        lambda ab: {
            "period": "custom",
            "start": NOW.astimezone(TZ).date() - timedelta(days=ab[0] + ab[1]),
            "end": NOW.astimezone(TZ).date() - timedelta(days=ab[0]),
        }
    )
    quick = st.sampled_from([p for p in QUICK_NAMES_ZH if p != "last_year_same"]).map(
        lambda p: {"period": p}
    )
    box = st.tuples(lon, lat, lon, lat).map(
        lambda b: (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]) + 1e-4, max(b[1], b[3]) + 1e-4)
    )
    # Filters reach the views through parse/navigate, which keep only rings of 3 distinct points.
    poly = (
        st.lists(st.tuples(lon, lat), min_size=3, max_size=6)
        .map(ring)
        .filter(lambda p: len(set(p)) >= 3)
    )
    return st.builds(
        lambda period, **kw: Filters(**period, **kw),
        period=st.one_of(quick, custom),
        area=st.one_of(st.just(""), st.sampled_from(codes["areas"])),
        cat=some(codes["cats"]),
        basis=st.sampled_from(["created", "closed"]),
        state=some(STATES),
        stage=some(STAGES),
        source=some(SOURCES),
        urgency=some(URGENCIES),
        clock=some(tuple(CLOCK_NAMES_ZH)),
        sup=some((0, 1, 2, 3)),
        flag=some(tuple(FLAG_NAMES_ZH)),
        dept=some(codes["depts"]),
        bbox=st.one_of(st.none(), st.none(), st.none(), box),
        poly=st.one_of(st.none(), st.none(), st.none(), poly),
    )


def same(a, b) -> bool:
    """Two Summaries with the same numbers (facet and grid order does not matter)."""
    return (a.total, a.facets, a.grids, a.series, a.weekly, a.pattern) == (
        b.total,
        b.facets,
        b.grids,
        b.series,
        b.weekly,
        b.pattern,
    )


def test_the_store_and_sql_agree_on_random_filter_states(demo):
    pool, snap, codes = demo

    @settings(
        max_examples=60,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(filters_strategy(codes))
    def check(f: Filters) -> None:
        with pool.connection() as conn:
            view = resolve(conn, f, Scope(""), NOW, TZ)
            assert eligible(snap, view)
            expected = summary(conn, view)
        got = summarize(snap, view)
        assert got.total == expected.total
        assert got.facets == expected.facets
        assert got.grids == expected.grids
        assert got.series == expected.series and got.weekly == expected.weekly
        assert got.pattern == expected.pattern
        examples.append(got.total)

    examples: list[int] = []
    check()
    # The strategies must reach non-empty views, or the property says little.
    assert sum(1 for n in examples if n > 0) >= 10


@pytest.mark.parametrize(
    "query",
    [
        {"period": "365d"},
        {"period": "quarter", "cat": ("09",), "clock": ("closed_late", "closed_on_time")},
        {"period": "30d", "state": ("closed", "surveyed"), "source": ("patrol",)},
        {"period": "month", "basis": "closed"},
    ],
)
@pytest.mark.parametrize(
    "sort", ["-created_at", "created_at", "-closed_at", "closed_at", "stage_due_at"]
)
def test_candidate_ids_give_the_same_page_as_sql(demo, query, sort):
    pool, snap, _codes = demo
    f = Filters(**query, sort=sort)
    with pool.connection() as conn:
        view = resolve(conn, f, Scope(""), NOW, TZ)
        for offset in (0, 40):
            plain = table.page(conn, view, offset, 40)
            ids = candidates(snap, view, offset + 40)
            if ids is None:  # NULLs needed (closed_at of open tickets): SQL alone answers
                assert sort.lstrip("-") in ("closed_at", "stage_due_at")
                continue
            assert len(ids) >= min(offset + 40, table.count(conn, view))
            narrowed = table.page(conn, view, offset, 40, ids)
            assert [r["id"] for r in narrowed] == [r["id"] for r in plain]


def test_the_scope_and_a_town_scope_agree(demo):
    pool, snap, codes = demo
    town = next(c for c in codes["areas"] if len(c) == 9)
    with pool.connection() as conn:
        for scope in (Scope(town), Scope("9999")):
            view = resolve(conn, Filters(period="365d"), scope, NOW, TZ)
            assert same(summarize(snap, view), summary(conn, view))
        assert (
            summarize(snap, resolve(conn, Filters(period="365d"), Scope("9999"), NOW, TZ)).total
            == 0
        )


def test_what_the_store_cannot_answer_goes_to_sql(demo):
    pool, snap, _codes = demo
    with pool.connection() as conn:
        micro = conn.execute("SELECT code FROM micro_grid ORDER BY code LIMIT 1").fetchone()[0]
        assert not eligible(snap, resolve(conn, Filters(area=micro), Scope(""), NOW, TZ))
        old = Filters(period="custom", start=date(2020, 1, 1), end=date(2020, 1, 31))
        assert not eligible(snap, resolve(conn, old, Scope(""), NOW, TZ))
        odd = NOW + timedelta(microseconds=5)
        assert not eligible(snap, resolve(conn, Filters(), Scope(""), odd, TZ))


def test_writes_reach_the_store_and_a_reload_replaces_it(demo_db):
    pool = ConnectionPool(demo_db.database_url, min_size=1, open=True)
    try:
        store = ColumnStore(days=400)
        with pool.connection() as conn:
            v0 = data_version(conn)
        before = store.current(pool, NOW, v0)
        with connect(demo_db) as conn:
            clocks = Clocks(WorkCalendar(tz=demo_db.timezone), load_limits(conn), demo_db.tz)
            lon, lat = conn.execute(
                "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                " FROM grid WHERE valid_to IS NULL ORDER BY code LIMIT 1"
            ).fetchone()
            create_ticket(
                conn, clocks, Scope(""), NewTicket("0901", lon, lat, "patrol"), now=DEMO_NOW
            )
            v1 = data_version(conn)
        assert v1 != v0
        after = store.current(pool, NOW, v1)
        assert after.rows == before.rows + 1
        with pool.connection() as conn:
            view = resolve(conn, Filters(period="today"), Scope(""), NOW, TZ)
            assert same(summarize(after, view), summary(conn, view))
            # A wholesale replacement (a demo load rewrites gridscope_meta) reloads the store.
            set_meta(conn, "explore-test", {"at": "now"})
            conn.commit()
            v2 = commit_and_bump(conn)
        reloaded = store.current(pool, NOW, v2)
        assert reloaded is not after and reloaded.built_at > after.built_at
        assert reloaded.rows == after.rows
    finally:
        pool.close()
