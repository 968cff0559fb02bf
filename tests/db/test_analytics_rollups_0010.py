"""The coarse rollups of migration 0010 (stat_task_area_daily from stat_task_daily,
stat_survey_daily from survey) against real PostGIS: equal to a recount written here after the
demo load, after writes through the write path, after direct updates and deletes, and after a
bulk rebuild; and the rankings and satisfaction panels that read them give the same answers as
from the fine rows, for any jurisdiction and period."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.analytics.periods import parse_period
from gridscope.demo.surveys import CHANNEL_MIX
from queries.analytics import rankings, satisfaction
from queries.analytics.query import Query
from queries.analytics.rollup_build import (
    rebuild_coarse_rollups,
    rebuild_surveys_from_events,
    rebuild_task_worker_rollups,
)
from queries.db import connect
from queries.scope import Scope
from queries.tickets import NewTicket, create_ticket
from queries.tickets.rollup import TASK_COLUMNS
from tests.conftest import DEMO_NOW, database_copy, settings_for
from tests.db.rollup_recount import WHOLE, clocks_for, step

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")
LEVELS = ("town", "county")


def _areas(conn):
    """grid code -> (town, county) by the rules of gridscope_grid_areas (0008), recomputed
    from the grid and region rows: the current version's community, its town, the town's
    county; what is missing falls back to the code below it."""
    community = dict(
        conn.execute(
            "SELECT DISTINCT ON (code) code, community_code FROM grid"
            " ORDER BY code, valid_from DESC"
        ).fetchall()
    )
    region = {
        c: (p, lv)
        for c, p, lv in conn.execute(
            "SELECT code, parent_code, level FROM region WHERE valid_to IS NULL"
        ).fetchall()
    }

    def of(grid: str) -> tuple[str, str]:
        c = community.get(grid) or grid
        town_code = (region.get(c) or (None, None))[0]
        town = town_code or c
        t = region.get(town_code) if town_code else None
        county = (t[0] if t and t[1] == "town" else None) or town
        return town, county

    return of


def recount_tasks(conn) -> dict:
    """stat_task_area_daily recounted from stat_task_daily."""
    of = _areas(conn)
    out: dict = defaultdict(lambda: [0] * len(TASK_COLUMNS))
    rows = conn.execute(
        f"SELECT day, department_id, grid_code, {', '.join(TASK_COLUMNS)} FROM stat_task_daily"  # noqa: S608
    ).fetchall()
    for day, dept, grid, *counts in rows:
        for level, code in zip(LEVELS, of(grid), strict=True):
            acc = out[level, day, code, dept]
            for i, n in enumerate(counts):
                acc[i] += n
    return {k: tuple(v) for k, v in out.items() if any(v)}


def recount_surveys(conn, tz: ZoneInfo) -> dict:
    """stat_survey_daily recounted from the survey rows on local days of ``tz``."""
    of = _areas(conn)
    out: dict = defaultdict(int)
    for at, grid, channel, cat, result in conn.execute(
        "SELECT at, grid_code, channel, category_code, result FROM survey"
    ).fetchall():
        for level, code in zip(LEVELS, of(grid), strict=True):
            out[level, at.astimezone(tz).date(), code, channel, cat, result] += 1
    return dict(out)


def kept(conn) -> tuple[dict, dict]:
    tasks = conn.execute(
        f"SELECT level, day, area_code, department_id, {', '.join(TASK_COLUMNS)}"  # noqa: S608
        " FROM stat_task_area_daily"
    ).fetchall()
    surveys = conn.execute(
        "SELECT level, day, area_code, channel, category_code, result, surveys"
        " FROM stat_survey_daily"
    ).fetchall()
    return (
        {tuple(r[:4]): tuple(r[4:]) for r in tasks},
        {tuple(r[:6]): r[6] for r in surveys},
    )


def assert_recounted(conn, tz) -> tuple[dict, dict]:
    tasks, surveys = kept(conn)
    assert tasks == recount_tasks(conn)
    assert surveys == recount_surveys(conn, tz)
    return tasks, surveys


@pytest.fixture(scope="module")
def conn(small_demo_template):
    with database_copy(small_demo_template) as s, connect(s) as c:
        yield c


@pytest.fixture(scope="module")
def codes(conn) -> list[str]:
    regions = [r[0] for r in conn.execute("SELECT code FROM region WHERE valid_to IS NULL")]
    grids = [r[0] for r in conn.execute("SELECT code FROM grid WHERE valid_to IS NULL")]
    return ["", *sorted(regions), *sorted(grids)[::16], "3304", "33040"]


def test_the_demo_load_fills_both_rollups_as_a_recount(conn):
    tasks, surveys = assert_recounted(conn, TZ)
    assert len(tasks) > 1000 and len(surveys) > 1000
    assert {k[0] for k in tasks} == {k[0] for k in surveys} == set(LEVELS)
    # Both levels hold every count once.
    for level in LEVELS:
        assert (
            sum(v[0] for k, v in tasks.items() if k[0] == level)
            == conn.execute("SELECT sum(dispatched) FROM stat_task_daily").fetchone()[0]
        )
        assert (
            sum(n for k, n in surveys.items() if k[0] == level)
            == conn.execute("SELECT count(*) FROM survey").fetchone()[0]
        )
    # The migration's own backfill (rebuild functions) gives the same rows.
    rebuild_coarse_rollups(conn)
    assert kept(conn) == (tasks, surveys)
    conn.rollback()


PERIODS = st.one_of(
    st.sampled_from(
        ["2026-10", "2026-11", "2026-W30", "2026-Q3", "2025-12", "2026-11-25..2026-11-25"]
    ),
    st.tuples(
        st.dates(min_value=date(2025, 11, 20), max_value=date(2026, 11, 25)),
        st.integers(min_value=0, max_value=70),
    ).map(lambda t: f"{t[0]}..{min(t[0] + timedelta(days=t[1]), date(2026, 11, 25))}"),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), key=PERIODS)
def test_panels_from_the_rollups_equal_the_panels_from_the_fine_rows(conn, codes, data, key):
    prefix = data.draw(st.sampled_from(codes), label="jurisdiction")
    s = settings_for(conn.info.dbname)
    now = DEMO_NOW + data.draw(st.sampled_from([timedelta(0), timedelta(hours=-15)]))
    q = Query(Scope(prefix), parse_period(key).cut(now, TZ), now, TZ, s)
    only = frozenset({"department"})
    got_rank = rankings.compute(conn, q, only=only)
    got_sat = satisfaction.compute(conn, q)
    with (
        mock.patch.object(rankings, "category_level", lambda *_: None),
        mock.patch.object(satisfaction, "category_level", lambda *_: None),
    ):
        assert rankings.compute(conn, q, only=only) == got_rank, (prefix, key)
        assert satisfaction.compute(conn, q) == got_sat, (prefix, key)
    # And the satisfaction groups against a plain count of the survey rows.
    start, end = q.bounds
    want = conn.execute(
        "SELECT channel, category_code, result, count(*)::int FROM survey"
        " WHERE at >= %s AND at < %s AND grid_code LIKE %s GROUP BY 1, 2, 3",
        (start, end, q.scope.like),
    ).fetchall()
    assert sorted(satisfaction._groups(conn, q.scope, q.bounds, TZ)) == sorted(want)


def test_writes_updates_deletes_and_a_rebuild_keep_the_rollups(demo_db):
    settings_ = demo_db
    tz = settings_.tz
    with connect(settings_) as conn:
        clocks = clocks_for(conn, settings_)
        grid, lon, lat = conn.execute(
            "SELECT code, ST_X(anchor), ST_Y(anchor) FROM grid WHERE valid_to IS NULL"
            " ORDER BY code DESC LIMIT 1"
        ).fetchone()
        w = conn.execute(
            "SELECT staff_id FROM staff_assignment WHERE grid_code = %s AND valid_to IS NULL"
            " ORDER BY staff_id LIMIT 1",
            (grid,),
        ).fetchone()[0]
        lead, helper, other = [r[0] for r in conn.execute("SELECT id FROM department LIMIT 3")]
        before = kept(conn)
        start = DEMO_NOW + timedelta(hours=1)
        paths = [
            [
                ("report", {"actor_kind": "worker", "actor_id": w}),
                ("accept", {}),
                ("dispatch", {"department_id": lead, "assist_department_ids": (helper,)}),
                ("sign", {}),
                ("return", {"department_id": helper}),
                ("feedback", {}),
                ("start_verify", {}),
                ("verify_fail", {"actor_kind": "worker", "actor_id": w}),  # withdraws a finish
                ("feedback", {}),
                ("start_verify", {}),
                ("verify_pass", {"actor_kind": "worker", "actor_id": w}),
                ("survey", {"satisfaction": "unsatisfied", "channel": "visit", "comment": "慢"}),
            ],
            [
                ("report", {"actor_kind": "worker", "actor_id": w}),
                ("accept", {}),
                ("dispatch", {"department_id": other}),
                ("return", {}),
                ("dispatch", {"department_id": lead}),
                ("sign", {}),
                ("feedback", {}),
                ("start_verify", {}),
                ("verify_pass", {"actor_kind": "centre"}),
                ("survey", {"satisfaction": "satisfied"}),
            ],
            [("self_resolve", {"actor_kind": "worker", "actor_id": w}), ("close", {})],
        ]
        for i, path in enumerate(paths):
            t0 = start + timedelta(minutes=i)
            new = NewTicket("0601", lon, lat, "patrol", grid_code=grid, actor_id=w)
            t = create_ticket(conn, clocks, WHOLE, new, now=t0)
            for j, (action, kw) in enumerate(path):
                # Steps 7 h apart cross local days.
                step(conn, clocks, t["id"], t0 + timedelta(hours=7 * (j + 1)), action, **kw)
            if i == 2:
                step(conn, clocks, t["id"], t0 + timedelta(days=2), "survey", satisfaction="basic")
        # Loaded tickets: reworks of bulk-loaded finishes (negative counts on old days).
        for (tid,) in conn.execute(
            "SELECT id FROM ticket WHERE state = 'verifying' ORDER BY id LIMIT 3"
        ).fetchall():
            step(conn, clocks, tid, start, "verify_fail", actor_kind="worker", actor_id=w)
        after = assert_recounted(conn, tz)
        assert after != before
        conn.commit()
        # A bulk rebuild (the demo load's path) writes the same rows.
        rebuild_task_worker_rollups(conn, settings_.timezone)
        assert kept(conn)[0] == after[0]
        rebuild_surveys_from_events(conn, seed=5, channel_mix=CHANNEL_MIX)
        assert_recounted(conn, tz)
        conn.rollback()
        # Updates (a survey moved to the day before) and deletes outside the write path.
        conn.execute(
            "UPDATE survey SET result = 'basic', channel = 'app', at = at - interval '1 day'"
            " WHERE id IN (SELECT id FROM survey ORDER BY id DESC LIMIT 7)"
        )
        conn.execute("DELETE FROM survey WHERE id IN (SELECT id FROM survey ORDER BY id LIMIT 5)")
        conn.execute(
            "UPDATE stat_task_daily SET dispatched = dispatched + 2"
            " WHERE (day, department_id, grid_code) IN"
            " (SELECT day, department_id, grid_code FROM stat_task_daily LIMIT 9)"
        )
        conn.execute(
            "DELETE FROM stat_task_daily WHERE (day, department_id, grid_code) IN"
            " (SELECT day, department_id, grid_code FROM stat_task_daily"
            "  ORDER BY day DESC, department_id LIMIT 11)"
        )
        assert_recounted(conn, tz)
        # A TRUNCATE empties them with their source.
        conn.execute("TRUNCATE survey, stat_task_daily")
        assert kept(conn) == ({}, {})
        conn.rollback()
