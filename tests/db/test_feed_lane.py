"""The feed lane (dashboard/feed_lane.py): a wall's repeated polls are answered before Flask,
with the same bytes and headers Flask's route gives, and every request the lane cannot
decide alone reaches the route (which answers 401/403/400/404 as before)."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from app import create_app
from dashboard.feed_lane import FeedLane
from gridscope.auth import walls
from queries import accounts
from queries.db import connect
from queries.scope import WHOLE
from tests.access import signed_in

TOWN = "330402007"
GZIP = {"Accept-Encoding": "gzip"}
SAME_EVERY_TIME = {"Date", "X-Server-Time"}


@pytest.fixture
def app(demo_db, redis_client):
    app = create_app(demo_db.model_copy(update={"version_poll_ms": 50}))
    yield app
    app.server.extensions["gridscope"].close()


def lane_of(server) -> FeedLane:
    app = server.wsgi_app
    while not isinstance(app, FeedLane):
        app = app.app
    return app


def _headers(resp) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k not in SAME_EVERY_TIME}


def _open_wall(app, settings):
    with connect(settings) as conn:
        wall_id, token = walls.create(conn, "lane test", TOWN, "standard", "test")
        conn.commit()
    client = app.server.test_client()
    assert client.get(f"/wall/{token}").status_code == 302
    return wall_id, client


def test_the_lane_answers_repeated_polls_exactly_as_the_route_does(app, demo_db):
    lane = lane_of(app.server)
    _, wall = _open_wall(app, demo_db)
    for path in ("/feed/counters", "/feed/ticker", "/feed/layer-overdue?category=all&min_step=all"):
        before = lane.answered
        routed = wall.get(path, headers=GZIP)  # verifies the session, computes the entry
        assert routed.status_code == 200 and lane.answered == before
        laned = wall.get(path, headers=GZIP)
        assert lane.answered == before + 1, path
        assert laned.status_code == 200 and laned.data == routed.data
        assert _headers(laned) == _headers(routed)
        assert "Cookie" in laned.headers["Vary"] and laned.headers["X-Content-Type-Options"]
        # 304 for an unchanged entry, and plain JSON for a client without gzip.
        again = wall.get(path, headers={"If-None-Match": laned.headers["ETag"]})
        assert again.status_code == 304 and again.data == b"" and lane.answered == before + 2
        plain = wall.get(path)
        assert json.loads(plain.data) == json.loads(gzip.decompress(routed.data))


def test_requests_the_lane_cannot_decide_reach_the_route(app, demo_db):
    lane = lane_of(app.server)
    wall_id, wall = _open_wall(app, demo_db)
    assert wall.get("/feed/counters").status_code == 200
    answered = lane.answered
    assert app.server.test_client().get("/feed/counters").status_code == 401  # no session
    forged = app.server.test_client()
    forged.set_cookie("gridscope_session", "eyJfdXNlcl9pZCI6Inc6MSJ9.forged.sig")
    assert forged.get("/feed/counters").status_code == 401
    assert wall.get("/feed/counters?colour=red").status_code == 400  # unknown parameter
    assert wall.get("/feed/counters?since=1&since=2").status_code == 400
    assert wall.get("/feed/nothing").status_code == 404
    assert wall.get("/feed/counters?unit=330411104").status_code == 404  # outside
    assert lane.answered == answered

    # A revoked link: the lane stops reusing its principal and the route answers 401.
    with connect(demo_db) as conn:
        assert accounts.revoke_wall(conn, wall_id, WHOLE)
        conn.commit()
    time.sleep(0.2)  # past version_poll_ms (50 ms): the new auth generation is read
    assert wall.get("/feed/counters").status_code == 401
    assert lane.answered == answered


def test_an_expired_session_is_not_answered_by_the_lane(app, demo_db):
    lane = lane_of(app.server)
    leader = signed_in(app, demo_db, "leader", TOWN)
    assert leader.get("/feed/ticker").status_code == 200
    assert leader.get("/feed/ticker").status_code == 200
    answered = lane.answered
    assert answered >= 1
    # The same session with its own expiry in the past, signed with the app's key.
    server = app.server
    serializer = server.session_interface.get_signing_serializer(server)
    cookie = leader.get_cookie("gridscope_session").value
    data = serializer.loads(cookie)
    clock = server.extensions["gridscope"].clock  # the app's clock (a fixed demo instant)
    data["exp"] = int(clock.now().timestamp()) - 60
    leader.set_cookie("gridscope_session", serializer.dumps(data))
    assert leader.get("/feed/ticker").status_code == 401
    assert lane.answered == answered


def test_the_lane_serves_an_entry_being_recomputed_between_looks(app, demo_db):
    """After a version move the entry is no longer acceptable; the route looks in Redis once
    and answers it while the refresher works, and the lane does the same until the next look
    is due (queries.feed.FeedState.peek)."""
    from queries.cache import bump_data_version
    from queries.feed import REDIS_LOOK_S, feed_state

    server = app.server
    lane = lane_of(server)
    state = feed_state(server.extensions["gridscope"])
    state.close()  # no background refresher: the entry stays the one being "recomputed"
    _, wall = _open_wall(app, demo_db)
    first = wall.get("/feed/counters", headers=GZIP)
    assert wall.get("/feed/counters", headers=GZIP).status_code == 200
    with connect(demo_db) as conn:
        conn.autocommit = True
        bump_data_version(conn)
    time.sleep(0.1)  # past version_poll_ms: the process sees the new version
    for entry in state.memo.entries():
        entry.born -= demo_db.refresh_counters_s / 8 + 0.1  # older than the floor
    answered = lane.answered
    routed = wall.get("/feed/counters", headers=GZIP)  # the look is due: the long way
    assert lane.answered == answered and routed.headers["ETag"] == first.headers["ETag"]
    laned = wall.get("/feed/counters", headers=GZIP)
    assert lane.answered == answered + 1 and laned.data == routed.data
    time.sleep(REDIS_LOOK_S + 0.05)
    wall.get("/feed/counters", headers=GZIP)  # the next look is due again
    assert lane.answered == answered + 1
