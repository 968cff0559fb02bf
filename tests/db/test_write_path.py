"""The ticket write path against real PostGIS: transactions, event log, rollups, refusals."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.clock.work_calendar import WorkCalendar
from queries import bulk
from queries.cache import data_version
from queries.db import connect
from queries.item_list import load_limits, seed_defaults
from queries.scope import Scope
from queries.tickets import (
    Clocks,
    NewTicket,
    TicketError,
    Transition,
    apply_transition,
    create_ticket,
)

GRID = "330402007024001"
# A Monday morning in Asia/Shanghai (2026-11-16 09:00 local).
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
SQUARE = "MULTIPOLYGON(((120.75 30.75, 120.76 30.75, 120.76 30.76, 120.75 30.76, 120.75 30.75)))"


@pytest.fixture
def tiny(fresh_db):
    """One community, one grid with one micro-grid, one department; the default item list."""
    with connect(fresh_db) as conn:
        seed_defaults(conn)
        conn.execute(
            "INSERT INTO region (code, name, level, parent_code, geom) VALUES"
            " ('330402007024', '百福弄社区', 'community', '330402007', ST_GeomFromText(%s, 4326))",
            (SQUARE,),
        )
        conn.execute(
            "INSERT INTO grid (code, name, community_code, grid_type, households, geom)"
            " VALUES (%s, '百福弄社区第1网格', '330402007024', 'comprehensive', 300,"
            " ST_GeomFromText(%s, 4326))",
            (GRID, SQUARE),
        )
        conn.execute(
            "INSERT INTO micro_grid (code, grid_code, name, geom) VALUES (%s, %s, '1', "
            " ST_GeomFromText(%s, 4326))",
            (GRID + "001", GRID, SQUARE),
        )
        conn.execute(
            "INSERT INTO department (code, name, kind, region_code)"
            " VALUES ('ZF', '综合行政执法局', 'linked', '330402')"
        )
        bulk.ensure_ticket_partitions(conn, T0 - timedelta(days=40), T0 + timedelta(days=40))
        clocks = Clocks(WorkCalendar(), load_limits(conn), fresh_db.tz)
        conn.commit()
    return fresh_db, clocks


def stat(conn, column):
    return conn.execute(f"SELECT coalesce(sum({column}), 0) FROM stat_daily").fetchone()[0]  # noqa: S608


def test_full_lifecycle_writes_events_rollups_and_bumps_version(tiny):
    settings, clocks = tiny
    scope = Scope("3304")
    with connect(settings) as conn:
        v0 = data_version(conn)
        t = create_ticket(conn, clocks, scope, NewTicket("0901", 120.755, 30.755, "patrol"), now=T0)
        assert t["state"] == "discovered" and t["grid_code"] == GRID
        assert t["micro_grid_code"] == GRID + "001"
        assert data_version(conn) == v0 + 1
        steps = [
            ("report", 1),
            ("accept", 2),
            ("dispatch", 3),
            ("sign", 4),
            ("feedback", 30),
            ("start_verify", 31),
            ("verify_pass", 40),
            ("survey", 60),
        ]
        for action, minutes in steps:
            tr = Transition(
                action,
                at=T0 + timedelta(minutes=minutes),
                department_id=1,
                satisfaction="satisfied" if action == "survey" else None,
            )
            apply_transition(conn, clocks, scope, t["id"], tr, now=T0 + timedelta(minutes=minutes))
        row = conn.execute(
            "SELECT state, closed_on_time, satisfaction, stage FROM ticket"
        ).fetchone()
        assert row == ("surveyed", True, "satisfied", None)
        actions = [
            r[0] for r in conn.execute("SELECT action FROM ticket_event ORDER BY at, id").fetchall()
        ]
        assert actions == ["create"] + [a for a, _ in steps]
        for column, expected in [
            ("created", 1),
            ("reported", 1),
            ("reported_on_time", 1),
            ("dispatched", 1),
            ("closed", 1),
            ("closed_on_time", 1),
            ("verify_due", 1),
            ("verified_on_time", 1),
            ("surveyed", 1),
            ("satisfied", 1),
            ("self_resolved", 0),
        ]:
            assert stat(conn, column) == expected, column
        task = conn.execute("SELECT role, state, on_time FROM ticket_task").fetchone()
        assert task == ("lead", "feedback", True)
        assert data_version(conn) == v0 + 1 + len(steps)


def test_dispatch_sets_handling_due_on_the_work_calendar(tiny):
    settings, clocks = tiny
    scope = Scope("")
    with connect(settings) as conn:
        t = create_ticket(conn, clocks, scope, NewTicket("05", 120.755, 30.755, "hotline"), now=T0)
        at = T0 + timedelta(minutes=10)
        apply_transition(conn, clocks, scope, t["id"], Transition("accept", at=at), now=at)
        apply_transition(
            conn, clocks, scope, t["id"], Transition("dispatch", at=at, department_id=1), now=at
        )
        due, original, stage = conn.execute(
            "SELECT due_at, original_due_at, stage FROM ticket"
        ).fetchone()
        # 05 disputes: 7 working days; Monday 09:10 local + 7 WD = next Wednesday 09:10 local.
        assert stage == "T5" and due == original
        assert due.astimezone(settings.tz) == datetime(2026, 11, 25, 9, 10, tzinfo=settings.tz)


def test_illegal_transition_is_refused_and_changes_nothing(tiny):
    settings, clocks = tiny
    scope = Scope("")
    with connect(settings) as conn:
        t = create_ticket(conn, clocks, scope, NewTicket("0901", 120.755, 30.755), now=T0)
        before = conn.execute("SELECT count(*) FROM ticket_event").fetchone()[0]
        v = data_version(conn)
        with pytest.raises(TicketError) as err:
            apply_transition(conn, clocks, scope, t["id"], Transition("close", at=T0), now=T0)
        assert err.value.status == 409 and "not allowed in state 'discovered'" in err.value.message
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM ticket_event").fetchone()[0] == before
        assert conn.execute("SELECT state FROM ticket").fetchone()[0] == "discovered"
        assert data_version(conn) == v


@pytest.mark.parametrize(
    "new, field",
    [
        (NewTicket("0901", 121.5, 31.5), "lat/long"),  # outside every grid
        (NewTicket("7777", 120.755, 30.755), "service_code"),
        (NewTicket("0901", 200.0, 30.755), "long"),
        (NewTicket("0901", 120.755, 30.755, source="fax"), "source"),
        (NewTicket("0901", 120.755, 30.755, urgency="now!"), "urgency"),
        (NewTicket("0901", 120.755, 30.755, grid_code="330402007024999"), "grid_code"),
    ],
)
def test_bad_new_tickets_are_refused_with_the_field(tiny, new, field):
    settings, clocks = tiny
    with connect(settings) as conn:
        with pytest.raises(TicketError) as err:
            create_ticket(conn, clocks, Scope(""), new, now=T0)
        assert err.value.field == field
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM stat_daily").fetchone()[0] == 0


def test_scope_is_enforced_on_writes(tiny):
    settings, clocks = tiny
    with connect(settings) as conn:
        with pytest.raises(TicketError) as err:
            create_ticket(conn, clocks, Scope("330411"), NewTicket("0901", 120.755, 30.755), now=T0)
        assert err.value.field == "lat/long"
        conn.rollback()
        t = create_ticket(conn, clocks, Scope(""), NewTicket("0901", 120.755, 30.755), now=T0)
        with pytest.raises(TicketError) as err:
            apply_transition(conn, clocks, Scope("330411"), t["id"], Transition("report"), now=T0)
        assert err.value.status == 404


def test_incremental_rollups_equal_a_rebuild_from_the_event_log(tiny):
    settings, clocks = tiny
    scope = Scope("")
    paths = [
        ["self_resolve", "close"],
        [
            "report",
            "accept",
            "dispatch",
            "sign",
            "feedback",
            "start_verify",
            "verify_fail",
            "feedback",
            "start_verify",
            "verify_pass",
            "survey",
        ],
        ["report", "accept", "dispatch", "return", "dispatch", "sign", "feedback"],
        ["report", "reject"],
    ]
    with connect(settings) as conn:
        for i, path in enumerate(paths):
            start = T0 + timedelta(days=i, hours=i)
            t = create_ticket(conn, clocks, scope, NewTicket("0601", 120.755, 30.755), now=start)
            for j, action in enumerate(path):
                at = start + timedelta(hours=6 * (j + 1))  # crosses days: counts land on event days
                apply_transition(
                    conn,
                    clocks,
                    scope,
                    t["id"],
                    Transition(
                        action,
                        at=at,
                        department_id=1,
                        satisfaction="basic" if action == "survey" else None,
                    ),
                    now=at,
                )
        incremental = conn.execute(
            "SELECT * FROM stat_daily ORDER BY day, grid_code, category_code"
        ).fetchall()
        bulk.rebuild_stat_daily(conn, settings.timezone)
        rebuilt = conn.execute(
            "SELECT * FROM stat_daily ORDER BY day, grid_code, category_code"
        ).fetchall()
        assert len(incremental) > 2
        assert incremental == rebuilt


def test_same_external_id_creates_one_ticket(tiny):
    settings, clocks = tiny
    with connect(settings) as conn:
        new = NewTicket("0901", 120.755, 30.755, "app", external_id="ext-1")
        first = create_ticket(conn, clocks, Scope(""), new, now=T0)
        again = create_ticket(conn, clocks, Scope(""), new, now=T0 + timedelta(minutes=5))
        assert first["created"] and not again["created"] and again["id"] == first["id"]
        other_ns = create_ticket(
            conn,
            clocks,
            Scope(""),
            NewTicket(
                "0901", 120.755, 30.755, "app", external_id="ext-1", external_namespace="boston311"
            ),
            now=T0,
        )
        assert other_ns["created"] and other_ns["id"] != first["id"]
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] == 2
        assert stat(conn, "created") == 2
