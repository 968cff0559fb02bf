"""The measures of /analytics (queries.analytics.measures) against counts written here from the
ticket table and the event log, on the small demo: random jurisdictions and periods, the Spring
Festival and its make-up working days included; and 环比/同比 on a constructed dataset whose
answers are known.

The direct counts below follow DOMAIN.md §5 and the docstrings of queries/analytics/backlog.py,
not the rollup SQL: closed tickets by their closing time, steps by the time of their event, the
stock of tickets open past due by replaying each ticket's due time, closing time and suspensions
at the period's end."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import measures
from domain.analytics.periods import Period, parse_period
from queries.analytics import backlog
from queries.analytics import measures as analytics
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW, database_copy, settings_for

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")
NOW = DEMO_NOW
FLOWS = [
    k
    for k in measures.COUNT_KEYS
    if k
    not in (
        "open_past_due",
        "micro_grids_visited",
        "micro_grids",
        "online_minutes",
        "scheduled_minutes",
    )
]


@pytest.fixture(scope="module")
def conn(small_demo_template):
    with database_copy(small_demo_template) as s, connect(s) as c:
        yield c


@pytest.fixture(scope="module")
def codes(conn) -> list[str]:
    regions = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM region WHERE valid_to IS NULL ORDER BY code"
        ).fetchall()
    ]
    grids = [
        r[0]
        for r in conn.execute(
            "SELECT code FROM grid WHERE valid_to IS NULL ORDER BY code"
        ).fetchall()
    ]
    return ["", *regions, *grids[:: max(1, len(grids) // 12)], regions[-1][:-1]]


def _bounds(p: Period) -> tuple[datetime, datetime]:
    a = datetime.combine(p.start, time(), TZ)
    b = min(datetime.combine(p.end + timedelta(days=1), time(), TZ), NOW)
    return a, b


def direct_counts(conn, prefix: str, p: Period) -> dict[str, int]:
    """Every raw count of the period, from the tickets and the event log."""
    a, b = _bounds(p)
    like = prefix + "%"
    c = dict.fromkeys(FLOWS, 0)
    rows = conn.execute(
        "SELECT e.action, e.to_state, (e.data ->> 'on_time')::boolean, t.satisfaction"
        "  FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id"
        "   AND t.created_at = e.ticket_created_at"
        " WHERE e.at >= %s AND e.at < %s AND t.grid_code LIKE %s",
        (a, b, like),
    ).fetchall()
    for action, to_state, on_time, sat in rows:
        c["created"] += action == "create"
        c["self_resolved"] += action == "self_resolve"
        reported_at_create = action == "create" and to_state == "reported"
        c["reported"] += action == "report" or reported_at_create
        c["reported_on_time"] += (action == "report" and bool(on_time)) or reported_at_create
        c["dispatched"] += action == "dispatch"
        c["returned"] += action == "return"
        c["reworked"] += action == "verify_fail"
        c["verify_due"] += action in ("verify_pass", "verify_fail")
        c["verified_on_time"] += action in ("verify_pass", "verify_fail") and bool(on_time)
        c["surveyed"] += action == "survey"
        c["satisfied"] += action == "survey" and sat in ("satisfied", "basic")
    closed = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE closed_on_time) FROM ticket"
        " WHERE closed_at >= %s AND closed_at < %s AND grid_code LIKE %s",
        (a, b, like),
    ).fetchone()
    c["closed"], c["closed_on_time"] = int(closed[0]), int(closed[1])
    c["open_past_due"] = direct_open_past_due(conn, like, b)
    return c


def direct_open_past_due(conn, like: str, e: datetime) -> int:
    """Tickets with due_at < E <= closed_at (or open), not rejected, not suspended at E."""
    late = conn.execute(
        "SELECT id, created_at FROM ticket WHERE due_at < %s AND created_at < %s"
        " AND (closed_at IS NULL OR closed_at >= %s) AND state <> 'rejected'"
        " AND grid_code LIKE %s",
        (e, e, e, like),
    ).fetchall()
    last: dict[int, str] = {}
    for tid, action in conn.execute(
        "SELECT ticket_id, action FROM ticket_event WHERE action IN ('suspend', 'resume')"
        " AND at < %s ORDER BY at, id",
        (e,),
    ).fetchall():
        last[tid] = action
    return sum(1 for tid, _ in late if last.get(tid) != "suspend")


def _query(conn, prefix: str, p: Period) -> Query:
    s = settings_for(conn.info.dbname)
    return Query(Scope(prefix), p.cut(NOW, TZ), NOW, TZ, s)


PERIODS = st.one_of(
    st.sampled_from(
        [
            "2026-02",  # the Spring Festival (17 February) and both make-up Saturdays
            "2026-02-10..2026-03-01",
            "2026-02-14..2026-02-14",  # a make-up working Saturday
            "2026-W08",
            "2026-Q1",
            "2026-10",
            "2026-11",  # under way at NOW: the stock is counted live
            "2025-12",
        ]
    ),
    st.tuples(
        st.dates(min_value=date(2025, 12, 1), max_value=date(2026, 11, 25)),
        st.integers(min_value=0, max_value=70),
    ).map(lambda t: f"{t[0]}..{min(t[0] + timedelta(days=t[1]), date(2026, 11, 25))}"),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), key=PERIODS)
def test_every_measure_equals_a_direct_count(conn, codes, data, key):
    prefix = data.draw(st.sampled_from(codes), label="jurisdiction")
    p = parse_period(key)
    q = _query(conn, prefix, p)
    got = analytics.period_counts(conn, q, [q.period])[0]
    want = direct_counts(conn, prefix, q.period)
    assert {k: got[k] for k in want} == want, (prefix, key)
    panel = analytics.compute(conn, q)
    derived = measures.derive(want, q.settings.ranking_weights)
    for card in panel["cards"]:
        if card["key"] in ("patrol_coverage", "online_rate"):
            continue
        assert card["value"] == pytest.approx(derived[card["key"]].value), card["key"]


def test_the_snapshot_path_and_the_instant_path_agree_on_every_day(conn):
    """stat_backlog_daily (taken at the demo load) against the live count at each day's end."""
    whole = Scope("")
    for day in (date(2026, 2, 17), date(2026, 2, 28), date(2026, 6, 30), date(2026, 11, 24)):
        e = backlog.day_end(day, TZ)
        snap = backlog.open_past_due_totals(conn, whole, [day], NOW, TZ)[0]
        assert snap == direct_open_past_due(conn, "%", e), day


# --- 环比/同比 on a constructed dataset -----------------------------------------------------

TOWN, COMMUNITY, GRID = "330402007", "330402007001", "330402007001001"
SQUARE = "MULTIPOLYGON(((120.70 30.70,120.71 30.70,120.71 30.71,120.70 30.71,120.70 30.70)))"


def _stat(conn, day: date, **counts: int) -> None:
    cols = ", ".join(counts)
    marks = ", ".join(["%s"] * len(counts))
    conn.execute(
        f"INSERT INTO stat_daily (day, grid_code, category_code, {cols})"
        f" VALUES (%s, %s, '0101', {marks})",
        (day, GRID, *counts.values()),
    )


def _ticket(conn, no: str, created: datetime, due: datetime, closed: datetime | None) -> None:
    conn.execute(
        "INSERT INTO ticket (created_at, ticket_no, source, category_code, urgency, state,"
        " grid_code, geom, due_at, original_due_at, closed_at, updated_at)"
        " VALUES (%s, %s, 'patrol', '0101', 'normal', %s, %s,"
        " ST_SetSRID(ST_MakePoint(120.705, 30.705), 4326), %s, %s, %s, %s)",
        (created, no, "closed" if closed else "in_progress", GRID, due, due, closed, created),
    )


@pytest.fixture
def constructed(fresh_db):
    """October 2026: 120 created, 99 closed (66 on time), 1 open past due at its end.
    September 2026: 100 created, 79 closed (60 on time), 1 open past due at its end.
    October 2025: 80 created, 50 closed (45 on time), none past due."""
    with connect(fresh_db) as conn:
        conn.execute(
            "INSERT INTO region (code, name, level, parent_code) VALUES"
            " ('3304', '嘉兴市', 'city', NULL), (%s, '建设街道', 'town', '3304'),"
            " (%s, '某社区', 'community', %s)",
            (TOWN, COMMUNITY, TOWN),
        )
        conn.execute(
            "INSERT INTO grid (code, name, community_code, grid_type, geom) VALUES"
            " (%s, '第1网格', %s, 'comprehensive', ST_GeomFromText(%s, 4326))",
            (GRID, COMMUNITY, SQUARE),
        )
        _stat(conn, date(2026, 10, 2), created=70, closed=50, closed_on_time=30)
        _stat(conn, date(2026, 10, 31), created=50, closed=49, closed_on_time=36)
        _stat(conn, date(2026, 9, 15), created=100, closed=79, closed_on_time=60)
        _stat(conn, date(2025, 10, 9), created=80, closed=50, closed_on_time=45)
        at = lambda m, d, h=10: datetime(2026, m, d, h, tzinfo=TZ)  # noqa: E731
        _ticket(conn, "A", at(10, 1), at(10, 20), None)  # open past due since 20 October
        _ticket(conn, "B", at(9, 1), at(9, 10), at(10, 5))  # past due at the end of September
        backlog.take_snapshots(conn, date(2025, 9, 1), date(2026, 11, 24), TZ, NOW)
        conn.commit()
        yield conn


def test_mom_and_yoy_on_a_constructed_dataset(constructed):
    s = settings_for(constructed.info.dbname)
    for prefix in ("", TOWN, COMMUNITY, GRID):  # rollup per town, per community, stat_daily
        q = Query(Scope(prefix), parse_period("2026-10").cut(NOW, TZ), NOW, TZ, s)
        cards = {c["key"]: c for c in analytics.compute(constructed, q)["cards"]}
        assert cards["due_to_close"]["value"] == 100
        assert cards["closure_rate"]["value"] == pytest.approx(0.99)
        assert cards["on_time_rate"]["value"] == pytest.approx(0.66)
        assert cards["on_time_rate"]["previous"] == pytest.approx(60 / 80)
        assert cards["on_time_rate"]["mom"] == pytest.approx(0.66 - 0.75)
        assert cards["on_time_rate"]["yoy"] == pytest.approx(0.66 - 0.90)
        assert cards["closure_rate"]["mom"] == pytest.approx(0.99 - 79 / 80)
        assert cards["closure_rate"]["yoy"] == pytest.approx(0.99 - 1.0)
        assert cards["due_to_close"]["mom"] == pytest.approx(100 / 80 - 1)
        assert cards["due_to_close"]["yoy"] == pytest.approx(100 / 50 - 1)
        assert cards["on_time_rate"]["series"][-1]["value"] == pytest.approx(0.66)
        assert cards["on_time_rate"]["series"][-2]["value"] == pytest.approx(0.75)
        assert [p["period"] for p in cards["on_time_rate"]["series"]][0] == "2025-11"
        # Nothing was due in November 2025: "—", not 0 % or 100 %.
        assert cards["on_time_rate"]["series"][0]["value"] is None
        assert cards["satisfaction_rate"]["value"] is None
        assert cards["on_time_rate"]["target"] == q.settings.analytics_targets["on_time_rate"]
        assert cards["rework_rate"]["higher_is_better"] is False


def test_the_coarse_rollups_follow_every_write_to_stat_daily(constructed):
    """Insert, update (upsert) and delete on stat_daily: the per-town and per-community sums
    and the per-town category sums stay equal to stat_daily's."""
    conn = constructed
    conn.execute(
        "INSERT INTO stat_daily (day, grid_code, category_code, closed) VALUES"
        " ('2026-10-02', %s, '0101', 5), ('2026-10-03', %s, '0202', 7)"
        " ON CONFLICT (day, grid_code, category_code)"
        " DO UPDATE SET closed = stat_daily.closed + EXCLUDED.closed",
        (GRID, GRID),
    )
    conn.execute("DELETE FROM stat_daily WHERE day = '2025-10-09'")
    sums = "sum(created), sum(closed), sum(closed_on_time)"
    want = conn.execute(f"SELECT {sums} FROM stat_daily").fetchone()
    for level in ("town", "community"):
        got = conn.execute(
            f"SELECT {sums} FROM stat_area_daily WHERE level = %s", (level,)
        ).fetchone()
        assert got == want, level
    got = conn.execute(f"SELECT {sums} FROM stat_area_category_daily WHERE level = 'town'")
    assert got.fetchone() == want
    by_cat = dict(
        conn.execute(
            "SELECT category_code, sum(closed) FROM stat_area_category_daily WHERE level = 'county'"
            " GROUP BY 1"
        ).fetchall()
    )
    assert by_cat == {"0101": 50 + 49 + 79 + 5, "0202": 7}


def test_an_import_into_the_past_drops_the_snapshots_it_makes_stale(constructed):
    """Snapshots of days from the earliest imported ticket on are dropped (counted directly,
    then retaken by the sweep's catch_up), so the stock stays right after an import."""
    conn = constructed
    s = settings_for(conn.info.dbname)
    q = Query(Scope(""), parse_period("2026-10").cut(NOW, TZ), NOW, TZ, s)
    before = analytics.period_counts(conn, q, [q.period])[0]["open_past_due"]
    # A late ticket "imported" into October (as the import's COPY would add it) …
    at = datetime(2026, 10, 3, 9, tzinfo=TZ)
    _ticket(conn, "IMPORTED", at, at + timedelta(days=2), None)
    assert analytics.period_counts(conn, q, [q.period])[0]["open_past_due"] == before  # stale
    dropped = backlog.forget_from(conn, at.date())
    assert dropped > 0
    assert analytics.period_counts(conn, q, [q.period])[0]["open_past_due"] == before + 1
    assert backlog.catch_up(conn, TZ, NOW, date(2025, 9, 1)) == dropped
    assert analytics.period_counts(conn, q, [q.period])[0]["open_past_due"] == before + 1
