"""The screen payload against real PostGIS and real Redis servers: numbers equal SQL, a write
invalidates the cache, and a Redis outage neither breaks the screen nor outlives Redis."""

import json
import logging
import time

from domain.clock.now import FixedClock
from domain.clock.work_calendar import WorkCalendar
from queries.cache import Cache
from queries.db import connect, make_pool
from queries.item_list import load_limits
from queries.scope import Scope
from queries.screen import screen_payload
from queries.services import Services
from queries.tickets import Clocks, NewTicket, create_ticket
from tests.conftest import DEMO_NOW


def services_for(settings, redis_url: str) -> Services:
    pool = make_pool(settings)
    pool.open(wait=True)
    return Services(
        settings=settings,
        pool=pool,
        scope=Scope(""),
        cache=Cache.from_url(redis_url, 60, "test"),
        clock=FixedClock(DEMO_NOW),
    )


def test_payload_equals_sql_and_a_write_shows_at_the_next_refresh(demo_db, private_redis):
    url, _, _ = private_redis
    svc = services_for(demo_db, url)
    try:
        now = svc.clock.now()
        first = json.loads(screen_payload(svc, now))
        with connect(demo_db) as conn:
            open_now = conn.execute(
                "SELECT count(*) FROM ticket WHERE state NOT IN ('closed', 'surveyed',"
                " 'rejected', 'suspended')"
            ).fetchone()[0]
            grids = conn.execute("SELECT count(*) FROM grid").fetchone()[0]
        assert first["kpis"]["in_progress"] == open_now
        assert first["kpis"]["grids"] == grids
        assert svc.cache.client.dbsize() >= 1  # cached in Redis
        assert json.loads(screen_payload(svc, now)) == first  # same bucket and version: a hit
        with connect(demo_db) as conn:
            clocks = Clocks(WorkCalendar(), load_limits(conn), demo_db.tz)
            lon, lat = conn.execute(
                "SELECT ST_X(ST_PointOnSurface(geom)),"
                " ST_Y(ST_PointOnSurface(geom)) FROM grid LIMIT 1"
            ).fetchone()
            create_ticket(conn, clocks, Scope(""), NewTicket("0901", lon, lat, "hotline"), now=now)
        second = json.loads(screen_payload(svc, now))  # same bucket, new data version
        assert second["kpis"]["in_progress"] == open_now + 1
        assert second["kpis"]["created_today"] == first["kpis"]["created_today"] + 1
    finally:
        svc.close()


def test_screen_survives_redis_going_down_and_uses_it_again(demo_db, private_redis, caplog):
    url, procs, start = private_redis
    svc = services_for(demo_db, url)
    svc.cache.RETRY_AFTER_S = 0.2
    try:
        now = svc.clock.now()
        expected = json.loads(screen_payload(svc, now))
        procs[0].terminate()
        procs[0].wait(5)
        caplog.set_level(logging.WARNING, logger="queries.cache")
        for _ in range(3):
            assert json.loads(screen_payload(svc, now)) == expected
            time.sleep(0.1)
        assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1
        procs.append(start())
        time.sleep(0.3)
        assert json.loads(screen_payload(svc, now)) == expected
        assert svc.cache.available and svc.cache.client.dbsize() >= 1
    finally:
        svc.close()
