"""The per-department and per-worker daily rollups and the survey records (issue #12) against
real PostGIS: the demo's rebuilt rollups and surveys equal a recount written here
(tests/db/rollup_recount.py), the write path keeps them equal to a rebuild, the counting rules
give known answers on a constructed ticket, and a ticket is surveyed once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from domain.clock.work_calendar import WorkCalendar
from domain.vocabulary import SATISFACTION, STAFF_ROLES
from domain.workflow.survey import SURVEY_CHANNELS
from gridscope.demo.surveys import CHANNEL_MIX, UNSATISFIED_COMMENTS, after_load
from queries import bulk
from queries.analytics.rollup_build import rebuild_surveys_from_events, rebuild_task_worker_rollups
from queries.db import connect
from queries.item_list import load_limits, seed_defaults
from queries.tickets import Clocks, NewTicket, TicketError, create_ticket
from tests.conftest import DEMO_NOW
from tests.db.rollup_recount import (
    WHOLE,
    clocks_for,
    recount_tasks,
    recount_workers,
    rollups,
    step,
)

pytestmark = pytest.mark.db


@pytest.fixture
def demo(demo_db):
    """A private copy of the small demo with its surveys and rollups filled by after_load."""
    with connect(demo_db) as conn:
        rows = after_load(conn, demo_db, None, 7, DEMO_NOW, echo=lambda _m: None)
        conn.commit()
    return demo_db, rows


# ---- the demo: rebuilt rollups against a recount -------------------------------------------------


def test_demo_rollups_equal_a_recount_from_tasks_and_events(demo):
    settings, rows = demo
    with connect(settings) as conn:
        tasks, workers, _ = rollups(conn)
        assert rows["stat_task_daily"] == len(tasks) > 1000
        assert rows["stat_worker_daily"] == len(workers) > 1000
        assert tasks == recount_tasks(conn, settings.timezone)
        assert workers == recount_workers(conn, settings.timezone)
        # Against the per-grid rollup: every rework lands on a department, every dispatch of
        # the ticket on its lead (plus the assisting tasks), every self-resolution on a worker.
        sd = conn.execute(
            "SELECT sum(dispatched), sum(returned), sum(reworked), sum(self_resolved),"
            " sum(verify_due) FROM stat_daily"
        ).fetchone()
        st = conn.execute(
            "SELECT sum(dispatched), sum(returned), sum(reworked) FROM stat_task_daily"
        ).fetchone()
        sw = conn.execute("SELECT sum(self_resolved), sum(verify_due) FROM stat_worker_daily")
        assert st[2] == sd[2] > 0 and st[1] == sd[1] > 0
        assert st[0] == conn.execute("SELECT count(*) FROM ticket_task").fetchone()[0] > sd[0]
        assert sw.fetchone() == (sd[3], sd[4])
        # Keys are real departments and staff.
        assert not conn.execute(
            "SELECT 1 FROM stat_task_daily s WHERE NOT EXISTS"
            " (SELECT 1 FROM department d WHERE d.id = s.department_id)"
        ).fetchall()
        assert not conn.execute(
            "SELECT 1 FROM stat_worker_daily s WHERE NOT EXISTS"
            " (SELECT 1 FROM staff d WHERE d.id = s.staff_id AND d.role = ANY(%s))",
            (list(STAFF_ROLES),),
        ).fetchall()


def test_demo_surveys_follow_the_survey_events(demo):
    settings, rows = demo
    with connect(settings) as conn:
        surveys = conn.execute(
            "SELECT s.ticket_id, s.channel, s.result, s.comment, s.at = e.at,"
            " s.grid_code = t.grid_code AND s.category_code = t.category_code,"
            " s.result = t.satisfaction"
            " FROM survey s JOIN ticket t ON t.id = s.ticket_id"
            " AND t.created_at = s.ticket_created_at"
            " JOIN ticket_event e ON e.ticket_id = s.ticket_id AND e.action = 'survey'"
        ).fetchall()
        n_events = conn.execute(
            "SELECT count(*) FROM ticket_event WHERE action = 'survey'"
        ).fetchone()[0]
        assert rows["survey"] == len(surveys) == n_events > 1000
        assert all(r[4] and r[5] and r[6] for r in surveys)
        by_channel = Counter(r[1] for r in surveys)
        for channel, share in CHANNEL_MIX:
            assert abs(by_channel[channel] / len(surveys) - share) < 0.03, channel
        assert set(by_channel) <= set(SURVEY_CHANNELS)
        assert {r[2] for r in surveys} == set(SATISFACTION)
        for _, _, result, comment, *_ in surveys:
            assert (comment in UNSATISFIED_COMMENTS) if result == "unsatisfied" else comment is None
        assert len({r[3] for r in surveys if r[3]}) == len(UNSATISFIED_COMMENTS)
        # The same seed gives the same records; another seed other channels.
        before = rollups(conn)
        after_load(conn, settings, None, 7, DEMO_NOW, echo=lambda _m: None)
        assert rollups(conn) == before
        rebuild_surveys_from_events(conn, seed=8, channel_mix=CHANNEL_MIX)
        other = conn.execute("SELECT channel, comment FROM survey ORDER BY ticket_id").fetchall()
        assert [c for c, _ in other] != [s[5] for s in before[2]]
        assert all(comment is None for _, comment in other)
        conn.rollback()


# ---- the write path keeps the rollups equal to a rebuild -----------------------------------------


def test_write_path_keeps_rollups_and_surveys_equal_to_a_rebuild(demo):
    settings, _ = demo
    with connect(settings) as conn:
        clocks = clocks_for(conn, settings)
        grid, lon, lat = conn.execute(
            "SELECT code, ST_X(anchor), ST_Y(anchor) FROM grid WHERE valid_to IS NULL"
            " ORDER BY code LIMIT 1"
        ).fetchone()
        workers = [
            r[0]
            for r in conn.execute(
                "SELECT staff_id FROM staff_assignment WHERE grid_code = %s AND valid_to IS NULL"
                " ORDER BY staff_id",
                (grid,),
            ).fetchall()
        ]
        depts = [r[0] for r in conn.execute("SELECT id FROM department ORDER BY id LIMIT 3")]
        w, lead, helper, other = workers[0], depts[0], depts[1], depts[2]
        start = DEMO_NOW + timedelta(hours=1)
        # New tickets along every path that moves a count, steps 7 h apart (crossing days).
        paths = [
            [("self_resolve", {"actor_kind": "worker", "actor_id": w}), ("close", {})],
            [
                ("report", {"actor_kind": "worker", "actor_id": w}),
                ("accept", {}),
                ("dispatch", {"department_id": lead, "assist_department_ids": (helper,)}),
                ("sign", {}),
                ("sign", {"department_id": helper}),
                ("return", {"department_id": helper}),
                ("feedback", {}),
                ("start_verify", {}),
                ("verify_fail", {"actor_kind": "worker", "actor_id": w}),
                ("feedback", {}),
                ("start_verify", {}),
                ("verify_pass", {"actor_kind": "worker", "actor_id": w}),
                ("survey", {"satisfaction": "unsatisfied", "channel": "visit", "comment": "慢"}),
            ],
            [
                ("report", {"actor_kind": "worker", "actor_id": workers[-1]}),
                ("accept", {}),
                ("dispatch", {"department_id": lead, "assist_department_ids": (helper, other)}),
                ("return", {}),
                ("dispatch", {"department_id": other, "assist_department_ids": (helper,)}),
                ("feedback", {"department_id": helper}),
                ("sign", {}),
                ("feedback", {"override": True, "comment": "协办未完成，先行反馈"}),
                ("start_verify", {}),
                ("verify_pass", {"actor_kind": "centre"}),
                ("survey", {"satisfaction": "satisfied"}),
            ],
        ]
        for i, path in enumerate(paths):
            t0 = start + timedelta(minutes=i)
            t = create_ticket(
                conn,
                clocks,
                WHOLE,
                NewTicket("0601", lon, lat, "patrol", grid_code=grid, actor_id=w),
                now=t0,
            )
            for j, (action, kw) in enumerate(path):
                step(conn, clocks, t["id"], t0 + timedelta(hours=7 * (j + 1)), action, **kw)
        # Loaded tickets: a rework reopens a bulk-loaded finish; closed ones are surveyed.
        at = start
        for tid, state in conn.execute(
            "(SELECT id, state FROM ticket WHERE state = 'verifying' ORDER BY id LIMIT 4)"
            " UNION ALL (SELECT id, state FROM ticket WHERE state = 'closed' ORDER BY id LIMIT 4)"
        ).fetchall():
            if state == "verifying":
                step(conn, clocks, tid, at, "verify_fail", actor_kind="worker", actor_id=w)
                step(conn, clocks, tid, at + timedelta(days=1), "feedback")
            else:
                step(conn, clocks, tid, at, "survey", satisfaction="basic", channel="sms")
            at += timedelta(hours=5)
        kept = rollups(conn)
        assert kept[2][-1][5:8] != () and len(kept[2]) == len(rollups(conn)[2])
        rebuild_task_worker_rollups(conn, settings.timezone)
        rebuild_surveys_from_events(conn, seed=123, channel_mix=CHANNEL_MIX)
        rebuilt = rollups(conn)
        assert kept[0] == rebuilt[0]
        assert kept[1] == rebuilt[1]
        # The write path's survey records come back exactly; the demo's follow the seed.
        new = {r[0] for r in kept[2] if r[4] > DEMO_NOW}
        assert len(new) == 6
        assert [r for r in kept[2] if r[0] in new] == [r for r in rebuilt[2] if r[0] in new]
        assert rebuilt[0] == recount_tasks(conn, settings.timezone)
        assert rebuilt[1] == recount_workers(conn, settings.timezone)


# ---- the counting rules on one constructed ticket ------------------------------------------------

GRID = "330402007024001"
SQUARE = "MULTIPOLYGON(((120.75 30.75, 120.76 30.75, 120.76 30.76, 120.75 30.76, 120.75 30.75)))"
# A Monday morning in Asia/Shanghai (2026-11-16 09:00 local).
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
WORKER = 77


@pytest.fixture
def tiny(fresh_db):
    """One grid, two departments (ids 1 and 2), the default item list."""
    with connect(fresh_db) as conn:
        seed_defaults(conn)
        conn.execute(
            "INSERT INTO grid (code, name, community_code, grid_type, households, geom)"
            " VALUES (%s, '第1网格', '330402007024', 'comprehensive', 300,"
            " ST_GeomFromText(%s, 4326))",
            (GRID, SQUARE),
        )
        conn.execute(
            "INSERT INTO department (code, name, kind, region_code) VALUES"
            " ('ZF', '综合行政执法局', 'linked', '330402'), ('ZJ', '住建局', 'linked', '330402')"
        )
        bulk.ensure_ticket_partitions(conn, T0 - timedelta(days=40), T0 + timedelta(days=40))
        conn.commit()
        clocks = Clocks(WorkCalendar(), load_limits(conn), fresh_db.tz)
    return fresh_db, clocks


def test_counting_rules_on_a_constructed_ticket(tiny):
    settings, clocks = tiny
    with connect(settings) as conn:
        t = create_ticket(
            conn,
            clocks,
            WHOLE,
            NewTicket("0601", 120.755, 30.755, "patrol", actor_id=WORKER),
            now=T0,
        )
        worker = {"actor_kind": "worker", "actor_id": WORKER}
        for hours, action, kw in [
            (1, "report", worker),
            (2, "accept", {}),
            (3, "dispatch", {"department_id": 1, "assist_department_ids": (2,)}),
            (4, "sign", {}),
            (24, "return", {"department_id": 2}),  # the assisting department returns its task
            (26, "feedback", {}),  # day 1, on time
            (27, "start_verify", {}),
            (48, "verify_fail", worker),  # day 2, 22 h after the feedback: on time
            (72, "feedback", {}),  # day 3: the finish moves here
            (73, "start_verify", {}),
            (120, "verify_pass", worker),  # day 5, 47 h after the feedback: late
            (121, "survey", {"satisfaction": "unsatisfied", "channel": "visit", "comment": "慢"}),
        ]:
            step(conn, clocks, t["id"], T0 + timedelta(hours=hours), action, **kw)
        d = [(T0 + timedelta(days=i)).astimezone(settings.tz).date() for i in range(6)]
        tasks, workers, surveys = rollups(conn)
        # (dispatched, returned, finished, finished_on_time, reworked); day 1's finish of
        # department 1 was withdrawn by the rework, and its row of zeros is gone.
        assert tasks == {
            (d[0], 1, GRID): (1, 0, 0, 0, 0),
            (d[0], 2, GRID): (1, 0, 0, 0, 0),
            (d[1], 2, GRID): (0, 1, 0, 0, 0),
            (d[2], 1, GRID): (0, 0, 0, 0, 1),
            (d[3], 1, GRID): (0, 0, 1, 1, 0),
        }
        # (discovered, self_resolved, reported, reported_on_time, verify_due, verified_on_time)
        assert workers == {
            (d[0], WORKER, GRID): (1, 0, 1, 1, 0, 0),
            (d[2], WORKER, GRID): (0, 0, 0, 0, 1, 1),
            (d[5], WORKER, GRID): (0, 0, 0, 0, 1, 0),
        }
        assert [s[5:] for s in surveys] == [("visit", "unsatisfied", "慢", "centre", None)]
        # Events name the lead task they moved.
        named = conn.execute(
            "SELECT action, task_id IS NOT NULL FROM ticket_event WHERE action IN"
            " ('dispatch', 'sign', 'feedback', 'verify_fail') ORDER BY at"
        ).fetchall()
        assert all(n for _, n in named) and len(named) == 5
        rebuild_task_worker_rollups(conn, settings.timezone)
        rebuild_surveys_from_events(conn)
        assert rollups(conn) == (tasks, workers, surveys)


def test_a_survey_is_recorded_once(tiny):
    settings, clocks = tiny
    with connect(settings) as conn:
        t = create_ticket(conn, clocks, WHOLE, NewTicket("0601", 120.755, 30.755, "patrol"), now=T0)
        step(conn, clocks, t["id"], T0 + timedelta(hours=1), "self_resolve")
        step(conn, clocks, t["id"], T0 + timedelta(hours=2), "close")
        with pytest.raises(TicketError) as bad:
            step(
                conn,
                clocks,
                t["id"],
                T0 + timedelta(hours=3),
                "survey",
                satisfaction="basic",
                channel="fax",
            )
        assert bad.value.field == "channel" and "phone" in bad.value.message
        first = step(conn, clocks, t["id"], T0 + timedelta(hours=3), "survey", satisfaction="basic")
        again = step(conn, clocks, t["id"], T0 + timedelta(hours=4), "survey", satisfaction="basic")
        assert first == again
        with pytest.raises(TicketError) as other:
            step(conn, clocks, t["id"], T0 + timedelta(hours=5), "survey", satisfaction="satisfied")
        assert other.value.status == 409 and "already surveyed" in other.value.message
        assert conn.execute("SELECT channel, result FROM survey").fetchall() == [("phone", "basic")]
        assert conn.execute(
            "SELECT count(*) FROM ticket_event WHERE action = 'survey'"
        ).fetchone() == (1,)
