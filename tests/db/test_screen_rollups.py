"""The screen's counters read the coarse daily rollups (queries.screen.sources) and count the open
tickets once: the same numbers as the per-grid SQL they replaced, kept here verbatim as the
reference, for every kind of scope (the whole database, city, county, town, community, grid, a
prefix that is no unit, nowhere), with a grid the grid table does not know and with rows the
write path added after the load (the rollups are kept by triggers)."""

from datetime import timedelta

import pytest

from domain import measures
from domain.clock.work_calendar import WorkCalendar
from queries.db import connect, custom_plans
from queries.item_list import load_limits
from queries.scope import NOWHERE, Scope
from queries.screen import build_screen, category_mix, kpis, town_ranking, trend
from queries.screen.ranking import rank_rows
from queries.screen.sources import sources_for
from queries.tickets import Clocks, NewTicket, create_ticket
from queries.window import Window
from tests.conftest import DEMO_NOW

# ---- The reference: the screen's SQL before it read the rollups (per grid, from stat_daily) ----

REF_KPI_ROLLUP_SQL = """
SELECT coalesce(sum(created) FILTER (WHERE day = %(today)s), 0)       AS created_today,
       coalesce(sum(reported) FILTER (WHERE day = %(today)s), 0)      AS reported_today,
       coalesce(sum(self_resolved) FILTER (WHERE day = %(today)s), 0) AS self_resolved_today,
       coalesce(sum(closed) FILTER (WHERE day = %(today)s), 0)        AS closed_today,
       coalesce(sum(created), 0)        AS created_mtd,
       coalesce(sum(closed), 0)         AS closed_mtd,
       coalesce(sum(closed_on_time), 0) AS closed_on_time_mtd,
       coalesce(sum(reworked), 0)       AS reworked_mtd
  FROM stat_daily
 WHERE day BETWEEN %(month_start)s AND %(today)s AND grid_code LIKE %(like)s
"""
REF_KPI_OPEN_SQL = """
SELECT count(*) FILTER (WHERE state <> 'suspended') AS in_progress,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_warn_at <= %(now)s
                          AND stage_due_at > %(now)s) AS warning,
       count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS open_past_due,
       count(*) FILTER (WHERE state = 'suspended') AS suspended
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
"""
REF_WORKERS_ONLINE_SQL = """
SELECT count(*)
  FROM worker_last_position w JOIN staff s ON s.id = w.staff_id
 WHERE w.at > %(since)s AND w.on_duty AND s.active
   AND coalesce(w.grid_code, s.region_code) LIKE %(like)s
"""
REF_ONLINE_BY_ROLE_SQL = """
SELECT s.role, count(*)::int
  FROM worker_last_position w JOIN staff s ON s.id = w.staff_id
 WHERE w.at > %(since)s AND w.on_duty AND s.active
   AND coalesce(w.grid_code, s.region_code) LIKE %(like)s
 GROUP BY s.role
"""
REF_GRID_COUNT_SQL = """
SELECT count(*) FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
"""
REF_TREND_SQL = """
SELECT day, sum(created)::int, sum(closed)::int
  FROM stat_daily
 WHERE day BETWEEN %(first)s AND %(today)s AND grid_code LIKE %(like)s
 GROUP BY day
"""
REF_CATEGORY_MIX_SQL = """
SELECT c.code, c.name_zh, sum(s.created)::int AS n
  FROM stat_daily s
  JOIN category c ON c.code = left(s.category_code, 2)
 WHERE s.day BETWEEN %(first)s AND %(today)s AND s.grid_code LIKE %(like)s
 GROUP BY c.code, c.name_zh
HAVING sum(s.created) > 0
 ORDER BY n DESC, c.code
"""
REF_TOWN_RANKING_SQL = """
WITH s AS MATERIALIZED (
    SELECT grid_code, sum(closed) AS closed, sum(closed_on_time) AS on_time,
           sum(reworked) AS reworked
      FROM stat_daily
     WHERE day BETWEEN %(month_start)s AND %(today)s AND grid_code LIKE %(like)s
     GROUP BY grid_code
), o AS MATERIALIZED (
    SELECT grid_code, count(*) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
       AND state <> 'suspended' AND due_at < %(now)s
     GROUP BY grid_code
), per_grid AS MATERIALIZED (
    SELECT coalesce(s.grid_code, o.grid_code) AS grid_code, coalesce(s.closed, 0) AS closed,
           coalesce(s.on_time, 0) AS on_time, coalesce(s.reworked, 0) AS reworked,
           coalesce(o.past_due, 0) AS past_due
      FROM s FULL JOIN o ON o.grid_code = s.grid_code
), town_of AS MATERIALIZED (
    SELECT DISTINCT ON (g.code) g.code AS grid_code, t.code AS town_code, t.name AS town_name
      FROM grid g
      JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
      JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL AND t.level = 'town'
     WHERE g.code LIKE %(like)s
     ORDER BY g.code, g.valid_from DESC
)
SELECT t.town_code, t.town_name,
       coalesce(sum(p.closed), 0)::int, coalesce(sum(p.on_time), 0)::int,
       coalesce(sum(p.reworked), 0)::int, coalesce(sum(p.past_due), 0)::int
  FROM town_of t
  LEFT JOIN per_grid p ON p.grid_code = t.grid_code
 GROUP BY t.town_code, t.town_name
"""


def reference(conn, scope: Scope, now, tz) -> dict:
    """The old kpis, trend, categories, ranking and online counts of ``scope`` at ``now``."""
    w = Window.at(now, tz)
    first = w.today - timedelta(days=29)
    p = {
        "like": scope.like,
        "today": w.today,
        "month_start": w.month_start,
        "first": first,
        "now": now,
        "since": now - timedelta(minutes=10),
    }

    def row(query: str) -> dict:
        cur = conn.execute(query, p)
        names = [d.name for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))

    k = {key: int(v) for key, v in (row(REF_KPI_ROLLUP_SQL) | row(REF_KPI_OPEN_SQL)).items()}
    closed, past_due = k["closed_mtd"], k["open_past_due"]
    k["due_to_close_mtd"] = closed + past_due
    k["closure_rate"] = measures.closure_rate(closed, past_due)
    k["on_time_rate"] = measures.on_time_rate(k["closed_on_time_mtd"], closed, past_due)
    k["rework_rate"] = measures.rate(k["reworked_mtd"], closed)
    k["composite"] = measures.composite_score(
        k["closure_rate"], k["on_time_rate"], k["rework_rate"]
    )
    k["workers_online"] = int(row(REF_WORKERS_ONLINE_SQL)["count"])
    k["grids"] = int(row(REF_GRID_COUNT_SQL)["count"])
    k["today"], k["month_start"] = w.today.isoformat(), w.month_start.isoformat()

    by_day = {d: (c, n) for d, c, n in conn.execute(REF_TREND_SQL, p).fetchall()}
    days = [first + timedelta(days=i) for i in range(30)]
    series = [
        {
            "day": d.isoformat(),
            "created": by_day.get(d, (0, 0))[0],
            "closed": by_day.get(d, (0, 0))[1],
        }
        for d in days
    ]
    categories = [
        {"code": c, "name": name, "count": n}
        for c, name, n in conn.execute(REF_CATEGORY_MIX_SQL, p).fetchall()
    ]
    towns = []
    for code, name, t_closed, on_time, reworked, late in conn.execute(
        REF_TOWN_RANKING_SQL, p
    ).fetchall():
        closure = measures.closure_rate(t_closed, late)
        on_time_r = measures.on_time_rate(on_time, t_closed, late)
        rework = measures.rate(reworked, t_closed)
        towns.append(
            {
                "code": code,
                "name": name,
                "closed": t_closed,
                "closed_on_time": on_time,
                "reworked": reworked,
                "open_past_due": late,
                "due_to_close": t_closed + late,
                "closure_rate": closure,
                "on_time_rate": on_time_r,
                "rework_rate": rework,
                "composite": measures.composite_score(closure, on_time_r, rework),
            }
        )
    online = dict(conn.execute(REF_ONLINE_BY_ROLE_SQL, p).fetchall())
    return {
        "kpis": k,
        "trend": series,
        "categories": categories,
        "ranking": rank_rows(towns),
        "online": {"total": sum(online.values()), "by_role": online},
    }


# ---- The scopes of the small demo, and data that exercises the edges ----


def demo_scopes(conn) -> dict[str, str]:
    """A code of each kind: city, county, town, community, grid (the first of each)."""
    out = dict(
        conn.execute(
            "SELECT DISTINCT ON (level) level, code FROM region WHERE valid_to IS NULL"
            " ORDER BY level, code"
        ).fetchall()
    )
    out["grid"] = conn.execute("SELECT min(code) FROM grid").fetchone()[0]
    return out


def add_unknown_grid(conn, community: str, now, tz) -> str:
    """Rows of a grid the grid table does not know, inside ``community`` by its code: daily
    counts today and earlier this month (the rollups' triggers file them under its own code)
    and a ticket open past its handling due time."""
    code = community + "999"
    today = Window.at(now, tz).today
    conn.execute(
        "INSERT INTO stat_daily (day, grid_code, category_code, created, reported, self_resolved,"
        " closed, closed_on_time, reworked) VALUES"
        " (%(d0)s, %(g)s, '0901', 3, 2, 1, 2, 1, 1), (%(d1)s, %(g)s, '0502', 4, 3, 0, 1, 0, 0)",
        {"g": code, "d0": today, "d1": max(today.replace(day=1), today - timedelta(days=2))},
    )
    conn.execute(
        "INSERT INTO ticket (created_at, ticket_no, source, category_code, urgency, state,"
        " stage, stage_due_at, due_at, grid_code, geom, updated_at)"
        " SELECT %(at)s, 'T-UNKNOWN-GRID', 'import', '0901', 'normal', 'in_progress',"
        " 'handling', %(due)s, %(due)s, %(g)s, geom, %(at)s FROM ticket LIMIT 1",
        {"g": code, "at": now - timedelta(days=3), "due": now - timedelta(hours=5)},
    )
    conn.commit()
    return code


def add_positions(conn, now) -> None:
    """A last fix for every worker (the small demo has none): most recent and on duty, some
    stale, off duty, without a grid (their region counts) or of a person no longer active."""
    conn.execute(
        "INSERT INTO worker_last_position (staff_id, at, geom, grid_code, on_duty)"
        " SELECT s.id, %(now)s - CASE WHEN s.id %% 7 = 0 THEN interval '20 minutes'"
        "                             ELSE interval '2 minutes' END,"
        "        ST_SetSRID(ST_MakePoint(120.75, 30.75), 4326),"
        "        CASE WHEN s.id %% 5 <> 0 THEN (SELECT min(a.grid_code) FROM staff_assignment a"
        "                                     WHERE a.staff_id = s.id) END,"
        "        s.id %% 6 <> 0"
        "   FROM staff s",
        {"now": now},
    )
    conn.execute("UPDATE staff SET active = false WHERE id % 11 = 1")
    conn.commit()


@pytest.fixture
def screen_db(demo_db):
    """The small demo plus a ticket created through the write path, an unknown grid and the
    workers' last fixes."""
    with connect(demo_db) as conn:
        scopes = demo_scopes(conn)
        clocks = Clocks(WorkCalendar(), load_limits(conn), demo_db.tz)
        lon, lat = conn.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grid"
            " WHERE code = %s AND valid_to IS NULL",
            (scopes["grid"],),
        ).fetchone()
        create_ticket(conn, clocks, Scope(""), NewTicket("0901", lon, lat, "hotline"), now=DEMO_NOW)
        scopes["unknown_grid"] = add_unknown_grid(conn, scopes["community"], DEMO_NOW, demo_db.tz)
        add_positions(conn, DEMO_NOW)
    return demo_db, scopes


def test_the_screen_equals_the_per_grid_sql_for_every_kind_of_scope(screen_db):
    settings, codes = screen_db
    tz = settings.tz
    scopes = [Scope(""), *(Scope(c) for c in codes.values()), NOWHERE]
    scopes += [Scope(codes["town"][:-1]), Scope(codes["community"] + "9")]  # no unit's code
    with connect(settings) as conn, custom_plans(conn):
        for scope in scopes:
            ref = reference(conn, scope, DEMO_NOW, tz)
            got = build_screen(conn, scope, DEMO_NOW, tz)
            for key in ("kpis", "trend", "categories", "ranking"):
                assert got[key] == ref[key], (scope, key)
            assert got["basic"]["online"] == ref["online"], scope
            # Each panel alone (without what build_screen shares) says the same.
            assert kpis(conn, scope, DEMO_NOW, tz) == ref["kpis"], scope
            assert trend(conn, scope, DEMO_NOW, tz) == ref["trend"], scope
            assert category_mix(conn, scope, DEMO_NOW, tz) == ref["categories"], scope
            assert town_ranking(conn, scope, DEMO_NOW, tz) == ref["ranking"], scope


def test_the_unknown_grid_counts_where_its_code_says_and_ranks_in_no_town(screen_db):
    settings, codes = screen_db
    with connect(settings) as conn:
        alone = build_screen(conn, Scope(codes["unknown_grid"]), DEMO_NOW, settings.tz)
        town = build_screen(conn, Scope(codes["town"]), DEMO_NOW, settings.tz)
        without = reference(conn, Scope(codes["town"]), DEMO_NOW, settings.tz)
    assert alone["kpis"]["created_today"] == 3 and alone["kpis"]["open_past_due"] == 1
    assert alone["ranking"] == []
    assert town["kpis"]["created_today"] >= 3 and town["kpis"] == without["kpis"]
    assert sum(r["open_past_due"] for r in town["ranking"]) == (town["kpis"]["open_past_due"] - 1)


def test_whole_regions_read_the_rollups_and_finer_scopes_stat_daily(screen_db):
    settings, codes = screen_db
    with connect(settings) as conn:
        levels = {k: sources_for(conn, Scope(c)) for k, c in codes.items()}
        whole = sources_for(conn, Scope(""))
    assert (whole.area, whole.category) == ("town", "county")
    assert (levels["city"].area, levels["city"].category) == ("town", "county")
    assert (levels["county"].area, levels["county"].category) == ("town", "county")
    assert (levels["town"].area, levels["town"].category) == ("town", "town")
    assert (levels["community"].area, levels["community"].category) == ("community", None)
    assert (levels["grid"].area, levels["grid"].category) == (None, None)
