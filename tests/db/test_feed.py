"""The wall's feeds (GET /feed/<panel>) against real PostgreSQL and Redis: ETag and 304, one
computation shared by every viewer of a scope and by every process, scopes never shared, unit
narrowing inside the jurisdiction only, the last good entry served stale while PostgreSQL does
not answer, and a clear 400/404 for whatever a browser sends."""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest

from app import create_app
from domain.clock.work_calendar import WorkCalendar
from queries.db import connect, make_pool
from queries.feed import FeedSpec, FeedState, feed_state
from queries.item_list import load_limits
from queries.scope import Scope
from queries.tickets import Clocks, NewTicket, create_ticket
from tests.access import signed_in
from tests.conftest import DEMO_NOW, free_port

pytestmark = pytest.mark.db

TOWN = "330402007"
CLOSED_PORT_URL = "postgresql://postgres@127.0.0.1:{port}/nowhere"


def body_of(resp) -> dict:
    data = resp.data
    if resp.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    return json.loads(data)


def communities(settings) -> list[tuple[str, str]]:
    with connect(settings) as conn:
        return conn.execute(
            "SELECT code, name FROM region WHERE level = 'community' AND parent_code = %s"
            " AND valid_to IS NULL ORDER BY code",
            (TOWN,),
        ).fetchall()


def state_of(app) -> FeedState:
    services = app.server.extensions["gridscope"]
    with app.server.app_context():
        return feed_state(services)


def new_ticket(settings) -> None:
    with connect(settings) as conn:
        clocks = Clocks(WorkCalendar(tz=settings.timezone), load_limits(conn), settings.tz)
        lon, lat = conn.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
            " FROM grid WHERE valid_to IS NULL ORDER BY code LIMIT 1"
        ).fetchone()
        create_ticket(conn, clocks, Scope(""), NewTicket("0901", lon, lat, "patrol"), now=DEMO_NOW)


@pytest.fixture
def app(demo_db, redis_client):
    return create_app(demo_db.model_copy(update={"version_poll_ms": 50}))


def test_a_feed_is_gzip_json_with_an_etag_and_answers_304(app, demo_db):
    wall = signed_in(app, demo_db, "wall", TOWN)
    resp = wall.get("/feed/counters", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    assert resp.headers["Cache-Control"] == "no-cache, private"
    body = body_of(resp)
    assert set(body) == {"panel", "as_of_ms", "period_s", "version", "stale", "data"}
    assert body["panel"] == "counters" and body["stale"] is False
    assert body["as_of_ms"] == int(DEMO_NOW.timestamp() * 1000)
    assert body["period_s"] == demo_db.refresh_counters_s
    assert int(resp.headers["X-Data-Version"]) == body["version"]
    assert int(resp.headers["X-As-Of"]) == body["as_of_ms"]
    assert int(resp.headers["X-Server-Time"]) == int(DEMO_NOW.timestamp() * 1000)
    data = body["data"]
    assert data["jurisdiction"] == "建设街道"
    assert [k["label"] for k in data["kpis"]][:3] == ["今日上报", "今日结案", "处置中"]
    assert all(k["value"] != "—" for k in data["kpis"])  # display-ready: formatted numbers
    etag = resp.headers["ETag"]
    again = wall.get("/feed/counters", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["X-As-Of"] == resp.headers["X-As-Of"]
    plain = wall.get("/feed/ticker")  # a client without gzip gets plain JSON
    assert "Content-Encoding" not in plain.headers
    assert json.loads(plain.data)["panel"] == "ticker"


def test_one_computation_per_scope_shared_by_viewers_and_processes(app, demo_db):
    state = state_of(app)
    first, second = signed_in(app, demo_db, "wall", TOWN), signed_in(app, demo_db, "leader", TOWN)
    a = first.get("/feed/counters")
    assert state.computes == 1
    b = second.get("/feed/counters")
    assert state.computes == 1, "a second viewer of the same scope must not compute again"
    assert a.headers["ETag"] == b.headers["ETag"] and a.data == b.data
    # Another process (its own FeedState and memo) finds the entry in Redis.
    other = create_app(demo_db)
    viewer = signed_in(other, demo_db, "wall", TOWN)
    c = viewer.get("/feed/counters")
    assert c.status_code == 200 and c.headers["ETag"] == a.headers["ETag"]
    assert state_of(other).computes == 0


def test_scopes_never_share_an_entry(app, demo_db):
    state = state_of(app)
    (a, name_a), (b, name_b) = communities(demo_db)[:2]
    got = {}
    for code in (a, b, TOWN):
        resp = signed_in(app, demo_db, "wall", code).get("/feed/counters")
        got[code] = (resp.headers["ETag"], body_of(resp)["data"])
    assert state.computes == 3
    assert len({etag for etag, _ in got.values()}) == 3
    assert got[a][1]["jurisdiction"] == name_a and got[b][1]["jurisdiction"] == name_b
    grids_a = signed_in(app, demo_db, "wall", a).get("/feed/layer-grids?window=30d")
    codes = set(body_of(grids_a)["data"]["hideout"]["values"])
    assert codes and all(c.startswith(a) for c in codes)


def test_unit_narrows_inside_the_jurisdiction_only(app, demo_db):
    (a, name_a), (b, _) = communities(demo_db)[:2]
    town = signed_in(app, demo_db, "wall", TOWN)
    resp = town.get(f"/feed/counters?unit={a}")
    assert resp.status_code == 200 and body_of(resp)["data"]["jurisdiction"] == name_a
    ticker = town.get(f"/feed/ticker?unit={a}")
    assert ticker.status_code == 200
    community = signed_in(app, demo_db, "wall", a)
    refused = community.get(f"/feed/counters?unit={b}")
    assert refused.status_code == 404 and b"not in your jurisdiction" in refused.data
    assert community.get(f"/feed/counters?unit={TOWN}").status_code == 404  # wider: refused
    assert town.get(f"/feed/counters?unit={TOWN}999").status_code == 404  # no such unit
    assert town.get("/feed/counters?unit=33'--").status_code == 400


@pytest.mark.parametrize(
    "path, status, says",
    [
        ("/feed/nope", 404, b"no feed"),
        ("/feed/counters?window=today", 400, b"takes no parameter"),
        ("/feed/layer-grids?level=planet", 400, b"not a value of 'level'"),
        ("/feed/layer-grids?palette=heat", 400, b"has no option 'palette'"),  # style: never sent
        ("/feed/layer-grids?focus=a%20b", 400, b"not a value of 'focus'"),
        ("/feed/layer-grids?focus=330402999999", 404, b"not in your jurisdiction"),
        ("/feed/layer-heat?zoom=120", 400, b"not a value of 'zoom'"),
        ("/feed/counters?unit=1&unit=2", 400, b"given 2 times"),
        ("/feed/counters?unit=" + "1" * 200, 400, b"too long"),
    ],
)
def test_bad_input_is_a_clear_400_or_404(app, demo_db, path, status, says):
    resp = signed_in(app, demo_db, "wall", TOWN).get(path)
    assert resp.status_code == status, resp.data
    assert says in resp.data


def test_anonymous_gets_401(app):
    assert app.server.test_client().get("/feed/counters").status_code == 401


def test_a_write_shows_once_the_entry_is_old_enough(app, demo_db):
    """The recompute rule: a moved version recomputes only when the entry is older than
    max(1 s, period / 8); until then the last entry is served. The recomputation runs in the
    refresher, ahead of the screens: the request that finds the entry too old is answered from
    it at once (not stale) and the next one gets the new data."""
    state = state_of(app)
    wall = signed_in(app, demo_db, "wall", TOWN)
    first = wall.get("/feed/counters")
    before = body_of(first)["data"]["kpis"][0]["value"]
    new_ticket(demo_db)
    time.sleep(0.1)  # past version_poll_ms (50 ms): this process sees the new version
    young = wall.get("/feed/counters")
    assert young.headers["ETag"] == first.headers["ETag"] and state.computes == 1
    for entry in state.memo.entries():  # the entry is now a period old
        entry.born -= demo_db.refresh_counters_s
    waited = wall.get("/feed/counters")  # no computation on the request's path
    assert waited.headers["ETag"] == first.headers["ETag"]
    assert body_of(waited)["stale"] is False
    state.refresh_due()  # what the background refresher does every REFRESH_TICK_S
    assert state.computes == 2
    fresh = wall.get("/feed/counters")
    assert fresh.headers["ETag"] != first.headers["ETag"]
    assert int(body_of(fresh)["data"]["kpis"][0]["value"]) == int(before) + 1
    assert int(fresh.headers["X-Data-Version"]) > int(first.headers["X-Data-Version"])


def closed_pool(settings):
    """A pool whose server does not exist (a closed port): every connection fails fast."""
    dead = settings.model_copy(update={"database_url": CLOSED_PORT_URL.format(port=free_port())})
    pool = make_pool(dead, min_size=0)
    pool.open(wait=False)
    return pool


def test_the_last_good_entry_is_served_stale_when_postgresql_does_not_answer(app, demo_db):
    wall = signed_in(app, demo_db, "wall", TOWN)
    good = wall.get("/feed/counters")
    assert good.status_code == 200
    services = app.server.extensions["gridscope"]
    services.replica_pool = closed_pool(demo_db)  # the reads go there from now on
    time.sleep(0.1)
    stale = wall.get("/feed/counters")
    assert stale.status_code == 200
    body = body_of(stale)
    assert body["stale"] is True and body["data"] == body_of(good)["data"]
    assert stale.headers["X-Feed-Stale"] == "1" and "postgres" in stale.headers["X-Feed-Degraded"]
    assert stale.headers["ETag"] != good.headers["ETag"]
    again = wall.get("/feed/counters", headers={"If-None-Match": stale.headers["ETag"]})
    assert again.status_code == 304 and again.headers["X-Feed-Stale"] == "1"
    # A process that never computed it serves Redis's copy; nothing at all: 503.
    other = create_app(demo_db)
    viewer = signed_in(other, demo_db, "wall", TOWN)
    other.server.extensions["gridscope"].replica_pool = closed_pool(demo_db)
    from_redis = viewer.get("/feed/counters")
    assert from_redis.status_code == 200 and body_of(from_redis)["stale"] is True
    nothing = viewer.get("/feed/ticker")
    assert nothing.status_code == 503 and nothing.headers["Retry-After"]
    assert nothing.get_json()["ok"] is False
    # PostgreSQL answers again: fresh, not stale.
    services.replica_pool = None
    time.sleep(0.1)
    back = wall.get("/feed/counters")
    assert back.status_code == 200 and body_of(back)["stale"] is False
    assert back.headers["X-Feed-Degraded"] == ""


def test_single_flight_within_and_across_processes(demo_db, redis_client):
    """Eight threads of two processes ask for one slot at once: one computation in all."""
    from queries.cache import Cache
    from queries.services import Services

    calls = []

    def slow(conn, now):
        calls.append(now)
        time.sleep(0.3)
        return {"n": conn.execute("SELECT count(*) FROM ticket").fetchone()[0]}

    def services():
        pool = make_pool(demo_db)
        pool.open(wait=True)
        cache = Cache.from_url(demo_db.redis_url, 60, f"sf{time.monotonic_ns()}")
        return Services(settings=demo_db, pool=pool, cache=cache, scope=Scope(TOWN))

    one, two = services(), services()
    two.cache.namespace = one.cache.namespace
    states = (FeedState(), FeedState())
    spec = FeedSpec("test", Scope(TOWN), {"p": 1}, 30, slow)
    answers = []

    def ask(i: int) -> None:
        svc = (one, two)[i % 2]
        answers.append(states[i % 2].serve(svc, spec).etag)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(calls) == 1, f"{len(calls)} computations"
    assert len(answers) == 8 and len(set(answers)) == 1
    one.close()
    two.close()


def test_a_process_looks_for_a_newer_entry_in_redis_at_most_twice_a_second(demo_db, redis_client):
    """Between a version move and the recomputation a process serves its own entry and reads
    Redis for another process's newer one once per REDIS_LOOK_S, not on every request; the
    newer entry is picked up by the next look."""
    from queries import feed as feed_mod
    from queries.cache import Cache, bump_data_version
    from queries.services import Services

    pool = make_pool(demo_db)
    pool.open(wait=True)
    svc = Services(
        settings=demo_db.model_copy(update={"version_poll_ms": 50}),
        pool=pool,
        cache=Cache.from_url(demo_db.redis_url, 60, f"look{time.monotonic_ns()}"),
        scope=Scope(TOWN),
    )
    answer = {"n": 1}
    spec = FeedSpec("look", Scope(TOWN), {}, 8, lambda conn, now: dict(answer))
    mine, other = FeedState(), FeedState()
    first = mine.serve(svc, spec)
    mine.close()  # no background refresher: this test plays the requests between two ticks
    reads = []
    real = FeedState._redis_get

    def counted(self, services, slot, spec_):
        reads.append(slot)
        return real(self, services, slot, spec_)

    try:
        FeedState._redis_get = counted  # type: ignore[method-assign]
        with pool.connection() as conn:
            bump_data_version(conn)
            conn.commit()
        time.sleep(max(0.1, spec.min_age_s + 0.05))  # the entry is no longer acceptable
        for _ in range(20):
            assert mine.serve(svc, spec).etag == first.etag
        assert len(reads) == 1, reads
        answer["n"] = 2
        other.serve(svc, spec)  # another process serves the old entry and recomputes it
        other.refresh_due()
        newer = other.serve(svc, spec)
        assert newer.etag != first.etag
        time.sleep(feed_mod.REDIS_LOOK_S + 0.05)
        assert mine.serve(svc, spec).etag == newer.etag
    finally:
        FeedState._redis_get = real  # type: ignore[method-assign]
        mine.close()
        other.close()
        svc.close()


def test_feed_computations_run_without_parallel_workers(demo_db, redis_client):
    """queries.db.serial_plans: the wall's background computations plan serially, and the
    pooled connection gets its setting back afterwards."""
    from queries.cache import Cache
    from queries.services import Services

    pool = make_pool(demo_db)
    pool.open(wait=True)
    svc = Services(
        settings=demo_db,
        pool=pool,
        cache=Cache.from_url(demo_db.redis_url, 60, f"serial{time.monotonic_ns()}"),
        scope=Scope(TOWN),
    )

    def setting(conn, now):
        return conn.execute("SELECT current_setting('max_parallel_workers_per_gather')").fetchone()[
            0
        ]

    state = FeedState()
    try:
        served = state.serve(svc, FeedSpec("serial", Scope(TOWN), {}, 30, setting))
        assert json.loads(gzip.decompress(served.gz))["data"] == "0"
        with pool.connection() as conn:
            assert setting(conn, None) != "0"  # the server's default (2) is back
    finally:
        state.close()
        svc.close()
