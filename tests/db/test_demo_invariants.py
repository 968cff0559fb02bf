"""Invariants of the loaded demo city (small size), checked in PostGIS and against the rules.

The territory invariants use the session's demo (ending at DEMO_NOW). The lifecycle and clock
invariants run again on demos generated to end at pinned instants (night, morning, late
evening, a public holiday, a make-up working day): the generator is a function of its ``now``,
so each instant gives the same data at whatever hour the suite runs.
"""

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.clock.limits import limit_for
from domain.clock.work_calendar import WorkCalendar
from domain.codes import NationalCodeRule
from domain.supervision import ladder_step
from domain.workflow import rules
from queries.db import connect
from queries.item_list import load_limits

LEVELS = [("county", "city"), ("town", "county"), ("community", "town")]

_SH = ZoneInfo("Asia/Shanghai")
# Local instants the clock invariants are checked at, besides DEMO_NOW (Wed 15:30).
PINNED = {
    "night-03:00": datetime(2026, 11, 26, 3, 0, tzinfo=_SH),
    "morning-09:15": datetime(2026, 11, 26, 9, 15, tzinfo=_SH),
    "late-23:59": datetime(2026, 11, 26, 23, 59, tzinfo=_SH),
    "national-day-holiday": datetime(2026, 10, 2, 10, 0, tzinfo=_SH),
    "make-up-working-sunday": datetime(2026, 9, 20, 11, 0, tzinfo=_SH),
}


@pytest.fixture(scope="module")
def demo(small_demo_template):
    from tests.conftest import settings_for

    settings = settings_for(small_demo_template)
    with connect(settings) as conn:
        yield settings, conn


@pytest.fixture(scope="module", params=["demo-now", *PINNED])
def demo_at(request, migrated_template):
    """(settings, conn, now): the small demo generated to end at one pinned instant."""
    from gridscope.demo.load import load_demo
    from tests.conftest import DEMO_NOW, database_copy

    now = DEMO_NOW if request.param == "demo-now" else PINNED[request.param].astimezone(UTC)
    with database_copy(migrated_template) as blank:
        settings = blank.model_copy(update={"fixed_now": now})
        load_demo(settings, "small", 7, now=now, echo=lambda _m: None, progress=False)
        with connect(settings) as conn:
            yield settings, conn, now


def partition_defects(conn, children_sql: str) -> list[tuple]:
    """(parent, children, gap m², overlap m², outside m²) for children grouped by parent."""
    return conn.execute(
        "WITH c AS (" + children_sql + "),"
        " agg AS (SELECT parent, ST_Union(geom) AS u, sum(ST_Area(geom::geography)) AS s,"
        "         count(*) AS n FROM c GROUP BY parent)"
        " SELECT a.parent, a.n,"
        "   ST_Area(ST_Difference(p.geom, a.u)::geography) AS gap,"
        "   a.s - ST_Area(a.u::geography) AS overlap,"
        "   ST_Area(ST_Difference(a.u, p.geom)::geography) AS outside"
        " FROM agg a JOIN (SELECT code, geom FROM region UNION ALL SELECT code, geom FROM grid)"
        "   p ON p.code = a.parent"
    ).fetchall()


@pytest.mark.parametrize("child_level, parent_level", LEVELS)
def test_regions_partition_their_parent(demo, child_level, parent_level):
    _, conn = demo
    rows = partition_defects(
        conn, f"SELECT parent_code AS parent, geom FROM region WHERE level = '{child_level}'"
    )
    assert rows, f"no {child_level} regions"
    bad = [r for r in rows if r[2] > 1.0 or abs(r[3]) > 1.0 or r[4] > 1.0]
    assert not bad, f"{child_level} gaps/overlaps/outside (m²): {bad[:5]}"


def test_grids_partition_their_community(demo):
    _, conn = demo
    rows = partition_defects(conn, "SELECT community_code AS parent, geom FROM grid")
    n_comm = conn.execute("SELECT count(*) FROM region WHERE level = 'community'").fetchone()[0]
    assert len(rows) == n_comm  # every community is covered by grids
    bad = [r for r in rows if r[2] > 1.0 or abs(r[3]) > 1.0 or r[4] > 1.0]
    assert not bad, f"grid gaps/overlaps/outside (m²): {bad[:5]}"


def test_micro_grids_partition_their_grid(demo):
    _, conn = demo
    rows = partition_defects(conn, "SELECT grid_code AS parent, geom FROM micro_grid")
    assert len(rows) == conn.execute("SELECT count(*) FROM grid").fetchone()[0]
    bad = [r for r in rows if r[2] > 1.0 or abs(r[3]) > 1.0 or r[4] > 1.0]
    assert not bad, f"micro-grid gaps/overlaps/outside (m²): {bad[:5]}"


def test_codes_are_unique_and_well_formed(demo):
    _, conn = demo
    rule = NationalCodeRule()
    for code, level in conn.execute("SELECT code, level FROM region").fetchall():
        assert rule.validate_region(code, level) is None, (code, level)
    grids = conn.execute("SELECT code, community_code FROM grid").fetchall()
    assert len({g for g, _ in grids}) == len(grids)
    for code, community in grids:
        assert rule.validate_grid(code, community) is None, code
    micro = conn.execute("SELECT code, grid_code FROM micro_grid").fetchall()
    assert len({m for m, _ in micro}) == len(micro)
    for code, grid in micro:
        assert rule.validate_micro_grid(code, grid) is None, code


def test_every_grid_lies_in_exactly_one_community(demo):
    _, conn = demo
    rows = conn.execute(
        "SELECT g.code, count(r.code) FILTER (WHERE ST_Area(ST_Intersection(g.geom, r.geom)"
        "   ::geography) > 1.0), bool_or(r.code = g.community_code AND ST_Covers(r.geom,"
        "   ST_PointOnSurface(g.geom)))"
        " FROM grid g JOIN region r ON r.level = 'community' AND ST_Intersects(g.geom, r.geom)"
        " GROUP BY g.code"
    ).fetchall()
    assert rows and all(n == 1 and ok for _, n, ok in rows), [r for r in rows if r[1] != 1][:5]


def test_every_ticket_lies_in_its_grid_and_micro_grid(demo):
    _, conn = demo
    n, outside_grid, outside_micro = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT ST_Covers(g.geom, t.geom)),"
        " count(*) FILTER (WHERE NOT ST_Covers(m.geom, t.geom))"
        " FROM ticket t JOIN grid g ON g.code = t.grid_code"
        " LEFT JOIN micro_grid m ON m.code = t.micro_grid_code"
    ).fetchone()
    assert n >= 4000 and outside_grid == 0 and outside_micro == 0


def test_staffing_rules(demo):
    _, conn = demo
    no_chief, no_worker = conn.execute(
        "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM staff_assignment a"
        "   WHERE a.grid_code = g.code AND a.role = 'grid_chief')),"
        " count(*) FILTER (WHERE g.grid_type = 'comprehensive' AND NOT EXISTS ("
        "   SELECT 1 FROM staff_assignment a WHERE a.grid_code = g.code"
        "   AND a.role = 'fulltime_worker'))"
        " FROM grid g"
    ).fetchone()
    assert no_chief == 0 and no_worker == 0


def test_lifecycles_replay_in_valid_order(demo_at):
    _, conn, now = demo_at
    tickets = {
        r[0]: r[1:] for r in conn.execute("SELECT id, state, created_at FROM ticket").fetchall()
    }
    events = defaultdict(list)
    for tid, action, frm, to, at in conn.execute(
        "SELECT ticket_id, action, from_state, to_state, at FROM ticket_event"
        " ORDER BY ticket_id, at, id"
    ):
        events[tid].append((action, frm, to, at))
    assert set(events) == set(tickets)
    for tid, evs in events.items():
        state, created_at = tickets[tid]
        first = evs[0]
        assert first[0] == "create" and first[1] is None and first[3] == created_at, tid
        current = rules.State(first[2])
        last_at = first[3]
        for action, frm, to, at in evs[1:]:
            assert at >= last_at, (tid, action)
            if to is None:  # supervision or comment events do not change state
                continue
            assert frm == current.value, (tid, action, frm, current)
            current = rules.next_state(current, action)
            assert current.value == to, (tid, action)
            last_at = at
        assert current.value == state, tid
        assert last_at <= now, (tid, "an event after the demo's now")


def test_open_ticket_due_times_agree_with_the_clocks(demo_at):
    settings, conn, _ = demo_at
    limits = load_limits(conn)
    calendar = WorkCalendar(tz=settings.timezone)
    rows = conn.execute(
        "SELECT category_code, urgency, stage, stage_started_at, stage_due_at, stage_warn_at"
        " FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')"
        " AND stage IS NOT NULL AND extension_count = 0 AND stage <> 'T5'"
    ).fetchall()
    # The small demo has a few tickets waiting in these stages at every pinned instant (two at
    # 03:00, more by day): the check below is never vacuous.
    assert len(rows) >= 2, len(rows)
    for cat, urg, stage, started, due, warn in rows:
        lim = limit_for(cat, stage, urg, limits)
        assert due == calendar.add(started, lim.amount, lim.unit), (cat, stage, started)
        assert warn == calendar.warn_at(started, due, unit=lim.unit)


def test_handling_due_times_agree_with_dispatch_and_t5(demo_at):
    settings, conn, _ = demo_at
    limits = load_limits(conn)
    calendar = WorkCalendar(tz=settings.timezone)
    rows = conn.execute(
        "SELECT t.category_code, t.urgency, t.original_due_at, d.at"
        " FROM ticket t JOIN LATERAL (SELECT max(at) AS at FROM ticket_event e"
        "   WHERE e.ticket_id = t.id AND e.action = 'dispatch') d ON d.at IS NOT NULL"
        " WHERE NOT EXISTS (SELECT 1 FROM ticket_event e WHERE e.ticket_id = t.id"
        "   AND e.action = 'resume')"
    ).fetchall()
    assert len(rows) > 100
    for cat, urg, original_due, dispatched in rows:
        lim = limit_for(cat, "T5", urg, limits)
        assert original_due == calendar.add(dispatched, lim.amount, lim.unit), cat


def test_closure_and_overdue_shares_are_realistic(demo_at):
    _, conn, now = demo_at
    total, overdue, mismatched, self_resolved, reworked, returned, extended, escalated = (
        conn.execute(
            "SELECT count(*),"
            " count(*) FILTER (WHERE (closed_at IS NOT NULL AND NOT closed_on_time)"
            "   OR (closed_at IS NULL AND state NOT IN ('rejected', 'suspended')"
            "       AND stage_due_at < %(now)s)),"
            " count(*) FILTER (WHERE closed_at IS NOT NULL AND closed_on_time IS DISTINCT FROM"
            "   (finished_at <= original_due_at)),"
            " count(*) FILTER (WHERE self_resolved), count(*) FILTER (WHERE rework_count > 0),"
            " count(*) FILTER (WHERE return_count > 0),"
            " count(*) FILTER (WHERE extension_count > 0),"
            " count(*) FILTER (WHERE escalated)"
            " FROM ticket",
            {"now": now},
        ).fetchone()
    )
    assert mismatched == 0
    assert 0.05 <= overdue / total <= 0.15, overdue / total
    assert self_resolved > 0 and reworked > 0 and returned > 0 and extended > 0 and escalated > 0


def test_recorded_supervision_steps_follow_the_ladder(demo_at):
    """Every open ticket's recorded step is the ladder's step at the demo's now, or the higher
    step it reached before (steps are recorded once and never lowered) — never a step the rule
    has not reached."""
    _, conn, now = demo_at
    rows = conn.execute(
        "SELECT state, stage_started_at, stage_warn_at, stage_due_at, rework_count, supervision"
        " FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')"
    ).fetchall()
    assert len(rows) >= 20  # the small demo has about 40–50 open tickets at any instant
    steps = [ladder_step(st, s, w, d, rw, now) for st, s, w, d, rw, _ in rows]
    behind = [(r, int(x)) for r, x in zip(rows, steps, strict=True) if r[5] < x]
    assert not behind, behind[:5]
    assert sum(1 for r, x in zip(rows, steps, strict=True) if r[5] == x) >= 0.9 * len(rows)
