"""The patrol rollups and panel (issue #12 §1 Patrol) against a real PostGIS: positions of a
tiny set of workers and micro-grids at known instants give exact visits, coverage and online
minutes; re-running a day replaces it; the scope filters; a period without rollups shows "—";
the sweep rolls up before it purges; the live simulator's fixes are rolled up for today."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from click.testing import CliRunner

from dashboard.analytics import patrol as panel
from domain.analytics.periods import Period
from domain.clock.work_calendar import WorkCalendar
from domain.measures import derive
from gridscope.cli import main as cli
from queries.analytics import patrol
from queries.analytics.patrol_build import rollup_patrol
from queries.analytics.patrol_months import refresh_months
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW

TZ = ZoneInfo("Asia/Shanghai")
COMMUNITY = "330402007024"
G1, G2 = COMMUNITY + "001", COMMUNITY + "002"
A, B, C, D = G1 + "001", G1 + "002", G2 + "001", G2 + "002"
DAY = date(2026, 11, 16)  # a Monday, a working day: 08:30–12:00, 13:30–17:30 = 450 minutes
W1, W2, CHIEF, GONE = 1, 2, 3, 4


def square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"MULTIPOLYGON((({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0})))"


# Micro-grid centres (lon, lat).
CENTRE = {A: (120.705, 30.705), B: (120.715, 30.705), C: (120.725, 30.705), D: (120.735, 30.705)}


def at(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), tzinfo=TZ)


@pytest.fixture
def tiny(fresh_db):
    """Two grids of two micro-grids each; W1 full-time in G1, W2 part-time in G1 and G2,
    a grid chief in G2 (not a patrol role) and an inactive full-time worker in G2."""
    with connect(fresh_db) as conn:
        conn.execute(
            "INSERT INTO region (code, name, level, parent_code, geom) VALUES"
            " (%s, '百福弄社区', 'community', '330402007', ST_GeomFromText(%s, 4326))",
            (COMMUNITY, square(120.70, 30.70, 120.74, 30.71)),
        )
        for i, (g, x0) in enumerate(((G1, 120.70), (G2, 120.72)), start=1):
            conn.execute(
                "INSERT INTO grid (code, name, community_code, grid_type, geom)"
                " VALUES (%s, %s, %s, 'comprehensive', ST_GeomFromText(%s, 4326))",
                (g, f"百福弄社区第{i}网格", COMMUNITY, square(x0, 30.70, x0 + 0.02, 30.71)),
            )
            for j, m in enumerate((g + "001", g + "002")):
                x = x0 + 0.01 * j
                conn.execute(
                    "INSERT INTO micro_grid (code, grid_code, name, geom)"
                    " VALUES (%s, %s, %s, ST_GeomFromText(%s, 4326))",
                    (m, g, str(j + 1), square(x, 30.70, x + 0.01, 30.71)),
                )
        for sid, role, active in (
            (W1, "fulltime_worker", True),
            (W2, "parttime_worker", True),
            (CHIEF, "grid_chief", True),
            (GONE, "fulltime_worker", False),
        ):
            conn.execute(
                "INSERT INTO staff (id, staff_no, name, role, region_code, active)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (sid, f"T{sid}", f"测试{sid}", role, COMMUNITY, active),
            )
        for sid, grid, role in (
            (W1, G1, "fulltime_worker"),
            (W2, G1, "parttime_worker"),
            (W2, G2, "parttime_worker"),
            (CHIEF, G2, "grid_chief"),
            (GONE, G2, "fulltime_worker"),
        ):
            conn.execute(
                "INSERT INTO staff_assignment (staff_id, grid_code, role) VALUES (%s, %s, %s)",
                (sid, grid, role),
            )
        conn.commit()
    return fresh_db


def fix(conn, staff: int, when: datetime, micro: str, *, duty: bool = True, acc=None) -> None:
    lon, lat = CENTRE[micro]
    conn.execute(
        "INSERT INTO worker_position (staff_id, at, geom, accuracy_m, on_duty)"
        " VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s)",
        (staff, when, lon, lat, acc, duty),
    )


def the_day(conn) -> None:
    """W1: A at 09:00:10, 09:01, 09:04:59 (one bucket), 09:05 (the next), B at 10:00, A at
    12:30 (lunch: a visit, not online), A at 14:00 with 500 m accuracy (online, no visit), B
    off duty at 15:00 (nothing), C at 16:00 (online; not his grid, no visit). W2: C at 11:00,
    A at 11:10. The chief and the inactive worker in C: nothing."""
    for t in (at(9, 0, 10), at(9, 1), at(9, 4, 59), at(9, 5), at(12, 30)):
        fix(conn, W1, t, A)
    fix(conn, W1, at(10, 0), B)
    fix(conn, W1, at(14, 0), A, acc=500.0)
    fix(conn, W1, at(15, 0), B, duty=False)
    fix(conn, W1, at(16, 0), C)
    fix(conn, W2, at(11, 0), C)
    fix(conn, W2, at(11, 10), A)
    fix(conn, CHIEF, at(11, 20), C)
    fix(conn, GONE, at(11, 30), D)


def rows(conn):
    visits = conn.execute(
        "SELECT day, grid_code, micro_grid_code, staff_id, fixes FROM patrol_visit ORDER BY 2, 3, 4"
    ).fetchall()
    online = conn.execute(
        "SELECT day, staff_id, grid_code, online_minutes, scheduled_minutes"
        " FROM stat_online_daily ORDER BY 2, 3"
    ).fetchall()
    return visits, online


def query(settings, prefix: str, period: Period, now: datetime = DEMO_NOW) -> Query:
    return Query(Scope(prefix), period, now, TZ, settings)


EXPECTED_VISITS = [
    (DAY, G1, A, W1, 5),
    (DAY, G1, A, W2, 1),
    (DAY, G1, B, W1, 1),
    (DAY, G2, C, W2, 1),
]
# W1: buckets 09:00, 09:05, 10:00, 14:00, 16:00 = 25 min; W2: 11:00, 11:10 = 10 min over two
# grids; scheduled 450, W2's split 225 + 225.
EXPECTED_ONLINE = [(DAY, W1, G1, 25, 450), (DAY, W2, G1, 5, 225), (DAY, W2, G2, 5, 225)]


def test_known_fixes_give_exact_visits_and_online_minutes(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        got = rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        conn.commit()
        assert got["built"] == [DAY.isoformat()] and got["visits"] == 4
        assert rows(conn) == (EXPECTED_VISITS, EXPECTED_ONLINE)
        month = conn.execute(
            "SELECT micro_grid_code, days FROM patrol_micro_month ORDER BY 1"
        ).fetchall()
        assert month == [(A, 1 << 15), (B, 1 << 15), (C, 1 << 15)]
        sums = conn.execute(
            "SELECT grid_code, online_minutes, scheduled_minutes FROM stat_online_month ORDER BY 1"
        ).fetchall()
        assert sums == [(G1, 30, 675), (G2, 5, 225)]

        week = Period("week", DAY, DAY + timedelta(days=6))
        data = patrol.compute(conn, query(tiny, "", week))
        assert data["has_data"]
        t = data["totals"]
        assert (t["micro_grids_visited"], t["micro_grids"]) == (3, 4)
        assert (t["online_minutes"], t["scheduled_minutes"]) == (35, 900)
        by_code = {g["code"]: g for g in data["ranked"]}
        assert by_code[G1]["coverage"] == 1.0 and by_code[G2]["coverage"] == 0.5
        assert by_code[G1]["online_rate"] == 30 / 675
        assert by_code[G1]["workers"] == 2 and by_code[G2]["workers"] == 1  # W2; not GONE
        assert [g["code"] for g in data["worst"]] == [G2, G1]  # furthest behind first
        table = data["tables"]["patrol_grids"]
        assert [r[0] for r in table["rows"]] == [G2, G1] and table["rows"][0][5] == 50.0
        # The panel's totals are the lead's counts, and derive() turns them into the measures.
        assert patrol.patrol_counts(conn, Scope(""), week.start, week.end) == {
            k: t[k] for k in patrol.COUNT_KEYS
        }
        measures = derive(t)
        assert measures["patrol_coverage"].value == 0.75
        assert measures["online_rate"].value == 35 / 900


def test_rerunning_a_day_replaces_it(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        assert rows(conn) == (EXPECTED_VISITS, EXPECTED_ONLINE)
        # A fix taken back (W2's visit of A): the day is rebuilt, not added to.
        conn.execute(
            "DELETE FROM worker_position WHERE staff_id = %s AND at = %s", (W2, at(11, 10))
        )
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        visits, online = rows(conn)
        assert visits == [v for v in EXPECTED_VISITS if v[2:4] != (A, W2)]
        assert online[1:] == [(DAY, W2, G1, 3, 225), (DAY, W2, G2, 2, 225)]  # 5 min split
        assert conn.execute("SELECT count(*) FROM patrol_micro_month").fetchone()[0] == 3


def test_scope_filters_rollup_and_panel(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        # W2's visit of C taken back; a rollup of G2 alone replaces G2's rows only (W2's
        # 5 minutes left split 3 + 2 over its two grids, in or out of the scope).
        conn.execute("DELETE FROM worker_position WHERE staff_id = %s AND at = %s", (W2, at(11, 0)))
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar(), scope=Scope(G2))
        visits, online = rows(conn)
        assert [v for v in visits if v[1] == G1] == EXPECTED_VISITS[:3]
        assert [v for v in visits if v[1] == G2] == []
        assert (DAY, W2, G1, 5, 225) in online and (DAY, W2, G2, 2, 225) in online
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())

        month = Period("month", date(2026, 11, 1), date(2026, 11, 30))
        g2 = patrol.compute(conn, query(tiny, G2, month))
        assert [g["code"] for g in g2["ranked"]] == [G2]
        assert g2["totals"]["micro_grids"] == 2 and g2["totals"]["micro_grids_visited"] == 0
        assert g2["totals"]["coverage"] == 0.0  # rolled up, nobody visited: 0 %, not "—"
        g1 = patrol.patrol_counts(conn, Scope(G1), month.start, month.end)
        assert g1 == {
            "micro_grids_visited": 2,
            "micro_grids": 2,
            "online_minutes": 28,
            "scheduled_minutes": 675,
        }
        community = patrol.compute(conn, query(tiny, COMMUNITY, month))
        assert community["areas"] == []  # one community: nothing to split by
        city = patrol.compute(conn, query(tiny, "3304", month))
        assert city["areas"] == [] and city["totals"]["grids"] == 2


def test_a_period_without_rollups_shows_a_dash_not_zero(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        october = Period("month", date(2026, 10, 1), date(2026, 10, 31))
        data = patrol.compute(conn, query(tiny, "", october))
        counts = patrol.patrol_counts(conn, Scope(""), october.start, october.end)
    assert not data["has_data"]
    assert data["totals"]["coverage"] is None and data["totals"]["online_rate"] is None
    assert counts["micro_grids"] == 0
    assert derive(counts)["patrol_coverage"].value is None
    assert all(g["coverage"] is None for g in data["ranked"])
    text = " ".join(strings(panel.render(data, {"period": october.key, "scale": 1.0})))
    assert "—" in text and not re.search(r"(?<![\d.])0\.0%", text) and "0 / 2" not in text


def strings(component) -> list[str]:
    """Every text in a Dash component tree."""
    if component is None:
        return []
    if isinstance(component, str | int | float):
        return [str(component)]
    if isinstance(component, list | tuple):
        return [s for c in component for s in strings(c)]
    return strings(getattr(component, "children", None))


def test_many_periods_agree_with_one_at_a_time(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        # A second day in the next month: W1 in D? not his grid; W2 in D.
        dec = date(2026, 12, 1)
        fix(conn, W2, at(9, 0, day=dec), D)
        rollup_patrol(conn, dec, dec, TZ, WorkCalendar())
        periods = [
            (date(2026, 11, 1), date(2026, 11, 30)),
            (date(2026, 11, 10), date(2026, 12, 5)),  # over two months
            (date(2026, 12, 1), date(2026, 12, 1)),
            (date(2026, 10, 1), date(2026, 10, 31)),  # nothing
        ]
        many = patrol.patrol_counts_many(conn, Scope(""), periods)
        one = [patrol.patrol_counts(conn, Scope(""), a, b) for a, b in periods]
        assert many == one
        # A period asked twice (the series' last one is the period itself) is counted once.
        assert patrol.patrol_counts_many(conn, Scope(""), [*periods, periods[1]]) == [
            *many,
            many[1],
        ]
        assert [c["micro_grids_visited"] for c in many] == [3, 4, 1, 0]
        assert [c["micro_grids"] for c in many] == [4, 4, 4, 0]
        # The monthly sums equal the daily rows they summarise.
        refresh_months(conn, [date(2026, 11, 1), dec])
        assert patrol.patrol_counts_many(conn, Scope(""), periods) == many


def test_days_without_fixes_keep_their_rows_and_purged_days_are_skipped(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        conn.execute("DELETE FROM worker_position")  # purged (or the feed was down)
        got = rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        assert got["kept"] == [DAY.isoformat()] and rows(conn) == (
            EXPECTED_VISITS,
            EXPECTED_ONLINE,
        )
        got = rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar(), retained_since=at(12, 0))
        assert got["skipped"] == [DAY.isoformat()]
        # A day without fixes and without activity is written: a whole day offline is 0 %.
        nxt = DAY + timedelta(days=1)
        got = rollup_patrol(conn, nxt, nxt, TZ, WorkCalendar())
        assert got["built"] == [nxt.isoformat()]
        offline = conn.execute(
            "SELECT staff_id, online_minutes, scheduled_minutes FROM stat_online_daily"
            " WHERE day = %s ORDER BY 1, grid_code",
            (nxt,),
        ).fetchall()
        assert offline == [(W1, 0, 450), (W2, 0, 225), (W2, 0, 225)]


def test_schedule_is_cut_at_now_and_days_off_have_none(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        # At 10:02 the day's schedule so far is 08:30–10:02 = 92 min; W1's buckets 09:00,
        # 09:05 (5 each) and 10:00 (2 of its minutes are scheduled so far).
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar(), now=at(10, 2))
        _, online = rows(conn)
        assert online[0] == (DAY, W1, G1, 12, 92)
        # National Day: no schedule, so no online rows, but the visit counts.
        holiday = date(2026, 10, 1)
        fix(conn, W1, at(10, 0, day=holiday), B)
        rollup_patrol(conn, holiday, holiday, TZ, WorkCalendar())
        assert (
            conn.execute(
                "SELECT count(*) FROM stat_online_daily WHERE day = %s", (holiday,)
            ).fetchone()[0]
            == 0
        )
        assert conn.execute(
            "SELECT staff_id FROM patrol_visit WHERE day = %s", (holiday,)
        ).fetchall() == [(W1,)]


def _cli(settings, *args: str, now: datetime):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": now.isoformat(),
    }
    return CliRunner().invoke(cli, list(args), env=env)


def test_cli_rollup_patrol_and_its_usage_errors(tiny):
    with connect(tiny) as conn:
        the_day(conn)
        conn.commit()
    now = at(18, 0)
    res = _cli(tiny, "rollup", "patrol", "--from", "2026-11-16", "--to", "2026-11-16", now=now)
    assert res.exit_code == 0, res.output
    assert "1 (2026-11-16) day(s) built, 4 visit row(s), 3 online row(s)" in res.output
    with connect(tiny) as conn:
        assert rows(conn) == (EXPECTED_VISITS, EXPECTED_ONLINE)
    bad = _cli(tiny, "rollup", "patrol", "--from", "2026-11-17", "--to", "2026-11-16", now=now)
    assert bad.exit_code == 2 and "before --from" in bad.output
    late = _cli(tiny, "rollup", "patrol", "--to", "2026-11-18", now=now)
    assert late.exit_code == 2 and "after today" in late.output
    odd = _cli(tiny, "rollup", "patrol", "--from", "16/11/2026", now=now)
    assert odd.exit_code == 2 and "--from" in odd.output


def test_sweep_rolls_up_before_it_purges(tiny):
    """Positions of a day 29 days back (still complete) were never rolled up, and a sweep
    runs: it catches that day up, rolls up yesterday and today, then purges the tracks past
    retention (30 days), so the day's patrol survives its positions."""
    now = at(18, 0, day=DAY + timedelta(days=29))
    with connect(tiny) as conn:
        the_day(conn)
        fix(conn, W1, at(9, 0, day=DAY - timedelta(days=2)), A)  # past retention by then
        fix(conn, W2, now - timedelta(hours=8), C)  # today, 10:00
        conn.commit()
    res = _cli(tiny, "sweep", now=now)
    assert res.exit_code == 0, res.output
    assert res.output.index("rollup patrol:") < res.output.index("retention:")
    assert "1 worker position(s) older than 30 days purged" in res.output
    with connect(tiny) as conn:
        visits, online = rows(conn)
        assert [v for v in visits if v[0] == DAY] == EXPECTED_VISITS
        assert [o for o in online if o[0] == DAY] == EXPECTED_ONLINE
        assert (now.astimezone(TZ).date(), G2, C, W2, 1) in visits
        assert (
            conn.execute(
                "SELECT count(*) FROM patrol_visit WHERE day = %s", (DAY - timedelta(days=2),)
            ).fetchone()[0]
            == 0
        )  # begun before the retention cut: never rolled up, now gone
        assert conn.execute("SELECT count(*) FROM worker_position").fetchone()[0] == 14


def test_live_simulator_positions_are_rolled_up_for_today(demo_db):
    """The simulator's real position step (gridscope.demo.live._tick, through
    queries.positions) on the small demo, then `gridscope rollup patrol` for today."""
    from gridscope.demo import live

    with connect(demo_db) as conn:
        rng = np.random.default_rng(5)
        scope = Scope(demo_db.jurisdiction)
        world = live._load_world(conn, demo_db, scope, rng, 15.0)
        pace = live._Pace(0.0, 0.0, 15.0, 1.0)
        stats = live.LiveStats()
        for minutes_ago in (40, 30, 20, 10, 0):
            for sid in world.next_ping:
                world.next_ping[sid] = 0.0
            step_at = DEMO_NOW - timedelta(minutes=minutes_ago)
            live._tick(conn, world, demo_db, scope, rng, step_at, pace, None, stats)
        assert stats.fixes > 0
    res = _cli(demo_db, "rollup", "patrol", now=DEMO_NOW)
    assert res.exit_code == 0, res.output
    today = DEMO_NOW.astimezone(TZ).date()
    with connect(demo_db) as conn:
        fixes, visited_staff = conn.execute(
            "SELECT sum(fixes), count(DISTINCT staff_id) FROM patrol_visit WHERE day = %s",
            (today,),
        ).fetchone()
        online = conn.execute(
            "SELECT count(*) FILTER (WHERE online_minutes > 0), max(online_minutes),"
            " max(scheduled_minutes) FROM stat_online_daily WHERE day = %s",
            (today,),
        ).fetchone()
        data = patrol.compute(
            conn, query(demo_db, "", Period("week", today - timedelta(days=2), today))
        )
    assert fixes > 0 and visited_staff > 0
    # 15:30 on a Wednesday: 08:30–12:00 and 13:30–15:30 scheduled; five buckets online at most.
    assert online[0] > 0 and online[1] <= 25 and online[2] == 330
    assert data["has_data"] and data["totals"]["micro_grids_visited"] > 0


def test_demo_history_is_realistic_and_agrees_with_its_summaries(demo_db):
    """The demo's patrol history (gridscope.demo.patrol.after_load) on the small demo: the
    monthly summaries it writes are exactly what the rollup would rebuild from its daily rows,
    coverage and online rate look like a real jurisdiction's, and weekends are lighter."""
    from gridscope.demo.patrol import DAYS, after_load
    from gridscope.demo.territory import build_territory

    territory = build_territory("small", 7)
    lines: list[str] = []
    with connect(demo_db) as conn:
        after_load(conn, demo_db, territory, 7, DEMO_NOW, echo=lines.append)
        conn.commit()
        assert lines and "patrol history" in lines[0]
        month_rows = "SELECT * FROM {} ORDER BY 1, 2, 3"
        before = {
            t: conn.execute(month_rows.format(t)).fetchall()  # noqa: S608 (constant names)
            for t in ("patrol_micro_month", "stat_online_month")
        }
        today = DEMO_NOW.astimezone(TZ).date()
        first = today - timedelta(days=DAYS - 1)
        months = sorted({(first + timedelta(days=i)).replace(day=1) for i in range(DAYS)})
        # Per-worker visits are kept for the last two months: rebuilt from them and from the
        # complete daily online rows, the summaries come out the same.
        refresh_months(conn, months[-2:])
        assert (
            conn.execute(month_rows.format("patrol_micro_month")).fetchall()
            == before["patrol_micro_month"]
        )
        refresh_months(conn, months)
        assert (
            conn.execute(month_rows.format("stat_online_month")).fetchall()
            == before["stat_online_month"]
        )
        conn.rollback()

        october = Period("month", date(2026, 10, 1), date(2026, 10, 31))
        data = patrol.compute(conn, query(demo_db, "", october))
        t = data["totals"]
        assert data["has_data"] and 0.6 < t["coverage"] < 0.99
        assert 0.8 < t["online_rate"] < 0.97
        cov = sorted(g["coverage"] for g in data["ranked"] if g["micro_grids"])
        assert cov[0] < 0.5 and cov[-1] == 1.0  # some grids clearly worse
        # 同比 exists: last November has data too.
        last_year = patrol.patrol_counts(conn, Scope(""), date(2025, 11, 1), date(2025, 11, 30))
        assert last_year["micro_grids"] > 0 and last_year["scheduled_minutes"] > 0
        per_kind = conn.execute(
            "SELECT extract(isodow FROM day) >= 6, count(*)::float / count(DISTINCT day)"
            " FROM patrol_visit GROUP BY 1 ORDER BY 1"
        ).fetchall()
        (_, weekday), (_, weekend) = per_kind
        assert weekend < 0.4 * weekday
        # Today is cut at 15:30: 330 scheduled minutes per worker.
        assert conn.execute(
            "SELECT DISTINCT scheduled_minutes FROM stat_online_daily o"
            " WHERE day = %s AND NOT EXISTS (SELECT 1 FROM stat_online_daily x"
            "  WHERE x.day = o.day AND x.staff_id = o.staff_id AND x.grid_code <> o.grid_code)",
            (today,),
        ).fetchall() == [(330,)]


def test_retired_micro_grids_leave_coverage(tiny):
    """A grid import retires micro-grid B: coverage counts current micro-grids only, capped
    until the rollup prunes B's summary rows, exact after."""
    from queries.analytics.patrol_months import prune_retired

    with connect(tiny) as conn:
        the_day(conn)
        rollup_patrol(conn, DAY, DAY, TZ, WorkCalendar())
        conn.execute("UPDATE micro_grid SET valid_to = %s WHERE code = %s", (at(20, 0), B))
        month = (date(2026, 11, 1), date(2026, 11, 30))
        capped = patrol.patrol_counts(conn, Scope(G1), *month)
        assert (capped["micro_grids_visited"], capped["micro_grids"]) == (1, 1)
        assert prune_retired(conn) == 1
        exact = patrol.patrol_counts_many(conn, Scope(""), [month])[0]
        assert (exact["micro_grids_visited"], exact["micro_grids"]) == (2, 3)  # A and C of A, C, D
        data = patrol.compute(conn, query(tiny, "", Period("month", *month)))
        assert {g["code"]: g["visited"] for g in data["ranked"]} == {G1: 1, G2: 1}
        # Rebuilding the month from the daily rows keeps B out as well.
        refresh_months(conn, [date(2026, 11, 1)])
        assert patrol.patrol_counts_many(conn, Scope(""), [month])[0] == exact
