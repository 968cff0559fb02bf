"""The fix log (queries/position_log.py) behind the worker view of points: a screen following
the delta cursors holds what PostgreSQL says after every step, across the log's generations,
a priming, two processes, a restored snapshot and a log that went missing. Real PostgreSQL
(the small demo) and the shared Redis, each test in its own namespace."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import numpy as np
import pytest
import redis

from layers import workers as workers_layer
from layers.base import Access
from queries import position_store
from queries.cache import namespace_for
from queries.db import connect
from queries.position_log import RECORD_BYTES, latest, pack
from queries.positions import PositionStore, record_positions
from queries.scope import Scope
from queries.worker_layer import FIELD_ROLES
from queries.worker_points import Q
from queries.worker_view import WorkerView
from tests.conftest import DEMO_NOW

WHOLE = Scope("")
ADMIN = Access.of_role("admin")  # read_tracks: one point per worker


@pytest.fixture
def store(demo_db, redis_client):
    st = PositionStore(redis_client, namespace_for(demo_db.database_url))
    st.clear()
    yield st
    st.clear()


def _workers(conn, n):
    """n field workers: (staff_id, lon, lat) with a point inside one of their grids."""
    return conn.execute(
        "SELECT DISTINCT ON (s.id) s.id,"
        "  ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))"
        " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
        " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
        " WHERE s.active AND s.role = ANY(%s) ORDER BY s.id, a.grid_code LIMIT %s",
        (list(FIELD_ROLES), n),
    ).fetchall()


def _delta(conn, settings, client, since, at):
    out = workers_layer.delta_payload(
        conn, WHOLE, {}, at, settings, ADMIN, client, namespace_for(settings.database_url), since
    )
    conn.commit()
    return out


def _ids(data):
    return np.cumsum(data["ids"]).tolist() if data.get("ids_delta") else list(data["ids"])


class _Screen:
    """Points held the way the browser holds them: {staff id: (x, y, s, r, o)}."""

    def __init__(self):
        self.held: dict = {}
        self.origin = None

    def apply(self, data):
        if data["full"]:
            self.held, self.origin = {}, tuple(data["origin"])
        assert tuple(data["origin"]) == self.origin
        keys = ("x", "y", "s", "r", "o", "d")
        cols = zip(_ids(data), *(data[k] for k in keys), strict=True)
        for sid, x, y, s, r, o, d in cols:
            if d:
                x, y = x + self.held[sid][0], y + self.held[sid][1]
            self.held[sid] = (x, y, s, r, o)
        for sid in data["removed"]:
            del self.held[sid]

    def points(self):
        """{staff id: (lon, lat, s, r, o)}."""
        lon0, lat0 = self.origin
        return {
            k: (lon0 + x * Q, lat0 + y * Q, s, r, o) for k, (x, y, s, r, o) in self.held.items()
        }


def _truth(conn, settings, at):
    """What PostgreSQL says (the fallback without Redis), as a screen would hold it."""
    full = _delta(conn, settings, None, 0, at)
    assert full["meta"]["source"] == "postgres"
    screen = _Screen()
    screen.apply(full)
    return screen.points(), full["meta"]


def _check(conn, settings, screen, data, at):
    """``screen`` after ``data`` holds what PostgreSQL says at ``at``, within Q."""
    screen.apply(data)
    want, meta = _truth(conn, settings, at)
    got = screen.points()
    assert set(got) == set(want)
    for sid, (lon, lat, *rest) in want.items():
        assert abs(got[sid][0] - lon) <= Q and abs(got[sid][1] - lat) <= Q
        assert list(got[sid][2:]) == rest, sid
    for key in ("online", "off_duty", "stale", "outside", "hidden_old"):
        assert data["meta"][key] == meta[key], key


class _Walk:
    """Workers walking around their homes; every step some send a fix (some off duty, some
    into another worker's grid)."""

    def __init__(self, ws, seed=3):
        self.ws, self.rng = ws, random.Random(seed)
        self.pos = {sid: [lon, lat] for sid, lon, lat in ws}

    def step(self, conn, store, at, share=0.8):
        fixes, off = [], []
        for sid, p in self.pos.items():
            if self.rng.random() >= share:
                continue
            if self.rng.random() < 0.05:  # into another worker's grid, or back home
                other = self.rng.choice(self.ws)
                p[0], p[1] = other[1], other[2]
            p[0] += self.rng.gauss(0, 0.0002)
            p[1] += self.rng.gauss(0, 0.0002)
            t = at - timedelta(seconds=self.rng.uniform(0, 14))
            (off if self.rng.random() < 0.1 else fixes).append((sid, t, p[0], p[1]))
        record_positions(conn, fixes, store=store)
        record_positions(conn, off, on_duty=False, store=store)


def test_latest_keeps_the_last_record_and_any_level():
    packed = pack(
        [(5, 1000, 1.5, 2.5, True), (3, 1000, 0.0, 0.0, False), (5, 2000, 1.75, 2.0, False)]
    )
    # the put script's part: the level byte and padding after each packed record
    parts = [packed[i * 33 : (i + 1) * 33] for i in range(3)]
    levels = [b"\1", b"\0", b"\0"]
    data = b"".join(p + lv + b"\0" * 6 for p, lv in zip(parts, levels, strict=True))
    got = latest(data)
    assert got.sid.tolist() == [3, 5] and got.at.tolist() == [1000, 2000]
    assert got.lon.tolist() == [0.0, 1.75] and got.duty.tolist() == [False, False]
    assert got.level.tolist() == [False, True]  # 5's first write changed its level
    with pytest.raises(ValueError, match="whole number"):
        latest(data[:-1])


def test_a_screen_follows_the_log_across_generations(demo_db, redis_client, store, monkeypatch):
    """A log of a few records per generation: a view synced every step reads on from the
    previous generation; one idle for longer (its position gone) is compared afresh and its
    screen still gets a delta, not everything."""
    monkeypatch.setattr(position_store, "LOG_CAP", 70 * RECORD_BYTES)
    view = WorkerView(store, WHOLE, FIELD_ROLES, False, demo_db.basemap_crs)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        walk = _Walk(_workers(conn, 40))
        walk.step(conn, store, now, share=1.0)
        screen = _Screen()
        data = _delta(conn, demo_db, redis_client, 0, now)
        _check(conn, demo_db, screen, data, now)
        built = redis_client.hget(view.k_meta, "built")
        gens = set()
        for i in range(1, 7):
            at = now + i * timedelta(seconds=15)
            walk.step(conn, store, at)
            gens.add(redis_client.getrange(store.log_key, 0, RECORD_BYTES - 1))
            data = _delta(conn, demo_db, redis_client, data["seq"], at)
            assert not data["full"]
            _check(conn, demo_db, screen, data, at)
        # the log turned over generations meanwhile, and the view read on from each
        assert len(gens) >= 3 and redis_client.hget(view.k_meta, "built") == built
        # idle for several generations: the view's position is gone
        at = now + timedelta(minutes=2)
        for k in range(8):
            walk.step(conn, store, at - timedelta(seconds=8 - k), share=1.0)
        data = _delta(conn, demo_db, redis_client, data["seq"], at)
        assert not data["full"] and redis_client.hget(view.k_meta, "built") != built
        _check(conn, demo_db, screen, data, at)
        # and on from there
        at += timedelta(seconds=15)
        walk.step(conn, store, at)
        data = _delta(conn, demo_db, redis_client, data["seq"], at)
        assert not data["full"]
        _check(conn, demo_db, screen, data, at)


def test_two_processes_share_the_view_through_the_log(demo_db, redis_client, store):
    """Two processes (their own clients) take turns; time alone turns fixes stale."""
    other = redis.Redis.from_url(demo_db.redis_url)
    now = DEMO_NOW
    try:
        with connect(demo_db) as conn:
            walk = _Walk(_workers(conn, 30), seed=5)
            walk.step(conn, store, now, share=1.0)
            screen = _Screen()
            data = _delta(conn, demo_db, redis_client, 0, now)
            _check(conn, demo_db, screen, data, now)
            at = now
            for i in range(1, 7):
                at = now + i * timedelta(minutes=3)  # the unlucky ones turn stale
                walk.step(conn, store, at, share=0.5)
                client = other if i % 2 else redis_client
                data = _delta(conn, demo_db, client, data["seq"], at)
                _check(conn, demo_db, screen, data, at)
            assert data["meta"]["stale"] > 0
    finally:
        other.close()


def test_a_priming_starts_every_screen_afresh(demo_db, redis_client, store):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        walk = _Walk(_workers(conn, 25), seed=7)
        walk.step(conn, store, now, share=1.0)
        screen = _Screen()
        first = _delta(conn, demo_db, redis_client, 0, now)
        _check(conn, demo_db, screen, first, now)
        at = now + timedelta(seconds=15)
        walk.step(conn, store, at)
        store.resync(conn)  # as after a failed write: the seq jumps past every cursor
        walk.step(conn, store, at + timedelta(seconds=5))
        at += timedelta(seconds=15)
        data = _delta(conn, demo_db, redis_client, first["seq"], at)
        assert data["full"] and data["seq"] > first["seq"]
        _check(conn, demo_db, screen, data, at)
        at += timedelta(seconds=15)
        walk.step(conn, store, at)
        data = _delta(conn, demo_db, redis_client, data["seq"], at)
        assert not data["full"]
        _check(conn, demo_db, screen, data, at)


def test_a_restored_snapshot_is_primed_with_the_views_transaction(
    demo_db, redis_client, store, caplog
):
    """Redis goes back to a snapshot (its log and the view's position with it) while
    PostgreSQL kept newer fixes: the points view's own check primes the positions again and
    every screen starts afresh with the newest fixes."""
    now = DEMO_NOW
    with connect(demo_db) as conn:
        walk = _Walk(_workers(conn, 25), seed=11)
        walk.step(conn, store, now, share=1.0)
        screen = _Screen()
        data = _delta(conn, demo_db, redis_client, 0, now)
        _check(conn, demo_db, screen, data, now)
        snapshot = {
            k: redis_client.dump(k) for k in redis_client.scan_iter(match=store.prefix + "*")
        }
        for i in range(1, 3):
            at = now + i * timedelta(seconds=15)
            walk.step(conn, store, at)
            data = _delta(conn, demo_db, redis_client, data["seq"], at)
            _check(conn, demo_db, screen, data, at)
        at += timedelta(seconds=15)
        walk.step(conn, store, at, share=1.0)
        store.clear()
        for k, v in snapshot.items():
            redis_client.restore(k, 0, v, replace=True)
        caplog.set_level(logging.INFO)
        data = _delta(conn, demo_db, redis_client, data["seq"], at)
        assert data["full"] and data["meta"]["source"] == "redis"
        warned = [r for r in caplog.records if "older than PostgreSQL" in r.getMessage()]
        assert len(warned) == 1
        _check(conn, demo_db, screen, data, at)
        at += timedelta(seconds=15)
        walk.step(conn, store, at)
        data = _delta(conn, demo_db, redis_client, data["seq"], at)
        assert not data["full"]
        _check(conn, demo_db, screen, data, at)


def test_a_missing_log_is_read_afresh(demo_db, redis_client, store):
    """The log evicted (or never written: a Redis primed by older code) while the view
    stays: the view is compared afresh and screens get a delta."""
    view = WorkerView(store, WHOLE, FIELD_ROLES, False, demo_db.basemap_crs)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        walk = _Walk(_workers(conn, 25), seed=13)
        walk.step(conn, store, now, share=1.0)
        screen = _Screen()
        data = _delta(conn, demo_db, redis_client, 0, now)
        _check(conn, demo_db, screen, data, now)
        for i in range(1, 4):
            at = now + i * timedelta(seconds=15)
            walk.step(conn, store, at)
            redis_client.delete(store.log_key, store.prev_log_key)
            if i == 3:  # and written again since: a generation the view never saw
                walk.step(conn, store, at + timedelta(seconds=1))
                at += timedelta(seconds=1)
            data = _delta(conn, demo_db, redis_client, data["seq"], at)
            assert not data["full"]
            _check(conn, demo_db, screen, data, at)
            assert redis_client.hget(view.k_meta, "lgen") == redis_client.getrange(
                store.log_key, 0, RECORD_BYTES - 1
            )
