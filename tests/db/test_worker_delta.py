"""The worker layer as the wall feed's compact delta (issue #10 item 2) and positions that
cannot go stale behind PostgreSQL's back (item 4), against the small demo, real Redis and the
real JS decoder (assets/25_workers_delta.js under node).

Every test binds its own database (namespace) in the shared Redis, or a private redis-server
where it must stop or restore Redis."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from domain.geo.display import lonlat_to_display
from layers import workers as workers_layer
from layers.base import Access
from queries.cache import namespace_for
from queries.db import connect
from queries.faults import FaultLog
from queries.positions import PositionStore, record_positions
from queries.scope import Scope
from queries.screen.kpis import workers_online
from queries.worker_delta import changed_since
from queries.worker_layer import MAX_AGE, STALE_AFTER, latest_workers
from queries.worker_points import Q
from tests.conftest import DEMO_NOW

ROOT = Path(__file__).resolve().parents[2]
ASSET = ROOT / "assets" / "25_workers_delta.js"
WHOLE = Scope("")
ADMIN = Access.of_role("admin")  # read_tracks: one point per worker


def _workers(conn, n=12):
    """n field workers with one assigned grid each: (staff_id, role, grid, lon, lat), the
    point inside the grid."""
    return conn.execute(
        "SELECT DISTINCT ON (s.id) s.id, s.role, a.grid_code,"
        "  ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))"
        " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
        " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
        " WHERE s.active AND s.role IN ('fulltime_worker', 'parttime_worker', 'grid_chief')"
        " ORDER BY s.id, a.grid_code LIMIT %s",
        (n,),
    ).fetchall()


def _seed(conn, store, now, n=12):
    """Fresh fixes (30 s old) for n workers inside their grids, through the ingest path."""
    ws = _workers(conn, n)
    fixes = [(sid, now - timedelta(seconds=30), lon, lat) for sid, _, _, lon, lat in ws]
    assert record_positions(conn, fixes, store=store) == len(fixes)
    return ws


def _delta(conn, settings, client, since, now, access=ADMIN, options=None, **kw):
    out = workers_layer.delta_payload(
        conn,
        kw.pop("scope", WHOLE),
        options or {},
        now,
        settings,
        access,
        client,
        namespace_for(settings.database_url),
        since,
        **kw,
    )
    conn.commit()
    return out


def _ids(data):
    ids = list(data["ids"])
    if data.get("ids_delta"):
        for i in range(1, len(ids)):
            ids[i] += ids[i - 1]
    return ids


class _Decoder:
    """The contract's arithmetic in Python, holding points like a screen does (the JS decoder
    itself is checked against the full payload below)."""

    def __init__(self):
        self.steps: dict = {}

    def apply(self, data):
        """{id: (lon, lat, status)} of the points in ``data``, kept for the next delta."""
        if data["full"]:
            self.steps = {}
        (lon0, lat0), q, names = data["origin"], data["q"], data["meta"]["status_names"]
        rel = data.get("d") or [0] * len(data["ids"])
        out = {}
        for pid, x, y, s, d in zip(_ids(data), data["x"], data["y"], data["s"], rel, strict=True):
            if d:
                x, y = x + self.steps[pid][0], y + self.steps[pid][1]
            self.steps[pid] = (x, y)
            out[pid] = (lon0 + x * q, lat0 + y * q, names[s])
        for pid in data["removed"]:
            self.steps.pop(pid, None)
        return out


def _decode(data):
    """{id: (lon, lat, status)} of a full answer."""
    assert data["full"]
    return _Decoder().apply(data)


def _node(steps):
    """The GeoJSON after each of ``steps`` (feed data) applied by the real decoder."""
    node = shutil.which("node")
    assert node, "node is required for this test tier"
    script = (
        "const d = require(process.argv[1]); let st = null; const out = [];"
        "const steps = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "for (const s of steps) { const r = d.apply(st, s); st = r.state;"
        " out.push({geojson: r.geojson, seq: st.seq}); }"
        "process.stdout.write(JSON.stringify(out));"
    )
    run = subprocess.run(
        [node, "-e", script, str(ASSET)],
        input=json.dumps(steps),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(run.stdout)


def _same_features(js_fc, py_fc, tol):
    """The decoder's FeatureCollection equals the full payload's: same features in the same
    order with the same properties and ids, coordinates within ``tol`` degrees."""
    assert len(js_fc["features"]) == len(py_fc["features"]) > 0
    for a, b in zip(js_fc["features"], py_fc["features"], strict=True):
        assert a.get("id") == b.get("id")
        assert a["properties"] == b["properties"]
        for u, v in zip(a["geometry"]["coordinates"], b["geometry"]["coordinates"], strict=True):
            assert abs(u - v) <= tol
    meta = {k: v for k, v in py_fc["meta"].items() if k != "source"}
    assert {k: v for k, v in js_fc["meta"].items() if k != "source"} == meta


@pytest.fixture
def store(demo_db, redis_client):
    st = PositionStore(redis_client, namespace_for(demo_db.database_url))
    st.clear()
    yield st
    st.clear()


def test_full_then_only_changed_workers(demo_db, redis_client, store):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _workers(conn, 12)
        # fresh; turning stale 10 s from now; disappearing (MAX_AGE) 14 s from now
        ages = [timedelta(seconds=30)] * 3 + [STALE_AFTER - timedelta(seconds=10)] * 7
        ages += [MAX_AGE - timedelta(seconds=14)] * 2
        fixes = [(w[0], now - age, w[3], w[4]) for w, age in zip(ws, ages, strict=True)]
        record_positions(conn, fixes, store=store)
        full = _delta(conn, demo_db, redis_client, 0, now)
        assert full["full"] and full["since"] == 0 and full["seq"] > 0
        assert sorted(_ids(full)) == sorted(w[0] for w in ws)
        assert (full["meta"]["online"], full["meta"]["stale"]) == (10, 2)
        assert full["meta"]["points"] == len(ws)
        assert full["hideout"]["colors"] and full["legend"]
        # nothing changed: an empty delta, the same cursor
        same = _delta(conn, demo_db, redis_client, full["seq"], now)
        assert not same["full"] and same["ids"] == [] and same["removed"] == []
        assert same["seq"] == full["seq"] and "hideout" not in same
        # three workers move (one goes off duty): only they come back
        t1 = now + timedelta(seconds=5)
        moved = ws[:3]
        fixes = [(sid, t1, lon + 0.0001, lat) for sid, _, _, lon, lat in moved]
        seq0, _ = changed_since(store, 0)
        record_positions(conn, fixes[:2], store=store)
        record_positions(conn, fixes[2:], on_duty=False, store=store)
        seq, ids = changed_since(store, seq0)  # the positions' own log: every write
        assert seq == seq0 + 2 and sorted(ids or []) == sorted(w[0] for w in moved)
        assert changed_since(store, seq0, grid_level=True)[1] == [moved[2][0]]  # duty only
        assert changed_since(store, seq + 1)[1] is None  # unknown: everything
        delta = _delta(conn, demo_db, redis_client, full["seq"], t1)
        assert not delta["full"] and delta["since"] == full["seq"] and delta["seq"] > full["seq"]
        assert _ids(delta) == sorted(w[0] for w in moved)
        assert delta["d"] == [1, 1, 1] and max(map(abs, delta["x"])) <= 11  # ~10 steps east
        screen = _Decoder()
        screen.apply(full)
        got = screen.apply(delta)
        assert got[moved[2][0]][2] == "off_duty" and got[moved[0][0]][2] == "online"
        assert abs(got[moved[0][0]][0] - (moved[0][3] + 0.0001)) <= Q
        assert delta["meta"]["online"] == 9 and delta["meta"]["off_duty"] == 1
        # an older fix arriving late changes nothing
        record_positions(conn, [(ws[5][0], now - timedelta(hours=1), 0.0, 0.0)], store=store)
        assert _delta(conn, demo_db, redis_client, delta["seq"], t1)["ids"] == []
        # time alone: ten minutes after their fix, seven workers turn stale ...
        t2 = now + timedelta(seconds=12)
        stale = _delta(conn, demo_db, redis_client, delta["seq"], t2)
        assert not stale["full"] and _ids(stale) == sorted(w[0] for w in ws[3:10])
        assert {v[2] for v in screen.apply(stale).values()} == {"stale"}
        assert stale["meta"]["stale"] == 9 and stale["removed"] == []
        # ... and past MAX_AGE two are removed (counted as hidden)
        t3 = now + timedelta(seconds=15)
        gone = _delta(conn, demo_db, redis_client, stale["seq"], t3)
        assert gone["ids"] == [] and sorted(gone["removed"]) == sorted(w[0] for w in ws[10:])
        assert gone["meta"]["hidden_old"] == 2 and gone["meta"]["points"] == 10
        # a cursor from nowhere, or 0, gets everything
        for since in (0, 12345, gone["seq"] + 10, stale["seq"]):
            again = _delta(conn, demo_db, redis_client, since, t3)
            assert again["full"] and sorted(_ids(again)) == sorted(w[0] for w in ws[:10])
        # minutes later the view reads the roster again and sends what that changes: a
        # worker who left the roster is removed, the others stay as they are
        leaver = ws[0][0]
        conn.execute("UPDATE staff SET active = false WHERE id = %s", (leaver,))
        conn.commit()
        later = _delta(conn, demo_db, redis_client, gone["seq"], t3 + timedelta(minutes=6))
        assert not later["full"] and later["seq"] == gone["seq"] + 1
        assert later["ids"] == [] and later["removed"] == [leaver]
        assert later["meta"]["points"] == 9 and later["meta"]["online"] == 1


@pytest.mark.parametrize("crs", ["wgs84", "gcj02"])
def test_quantisation_error_is_within_q(demo_db, redis_client, store, crs):
    settings = demo_db.model_copy(update={"basemap_crs": crs})
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now)
        exact = {}
        for i, (sid, _, _, lon, lat) in enumerate(ws):  # awkward fractions of q
            lon, lat = lon + 0.37e-5 * i, lat - 0.61e-5 * i
            record_positions(conn, [(sid, now, lon, lat)], store=store)
            exact[sid] = lonlat_to_display(lon, lat, crs)
        data = _delta(conn, settings, redis_client, 0, now)
        got = _decode(data)
        assert set(got) == set(exact)
        for sid, (lon, lat, _) in got.items():
            assert abs(lon - exact[sid][0]) <= Q / 2 + 1e-9
            assert abs(lat - exact[sid][1]) <= Q / 2 + 1e-9
        assert all(isinstance(v, int) for k in ("x", "y") for v in data[k])
    if crs == "gcj02":  # the shift is real (hundreds of metres), not a no-op
        assert abs(exact[ws[0][0]][0] - ws[0][3]) > 100 * Q


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_the_js_decoder_rebuilds_the_full_payload(demo_db, redis_client, store, role):
    access = Access.of_role(role)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _workers(conn, 30)
        fixes = [
            (sid, now - timedelta(seconds=30 + 40 * i), lon, lat)
            for i, (sid, _, _, lon, lat) in enumerate(ws)
        ]
        record_positions(conn, fixes, store=store)  # ages from 30 s to 20 min: some stale
        steps, expect = [], []

        def step(since, at):
            data = _delta(conn, demo_db, redis_client, since, at, access)
            steps.append(data)
            expect.append(workers_layer.fetch(conn, WHOLE, {}, at, demo_db, access)["data"])
            return data

        full = step(0, now)
        t1 = now + timedelta(minutes=2)  # within REFRESH_AFTER: deltas, not a rebuild
        fixes = [(sid, t1, lon + 0.0002, lat) for sid, _, _, lon, lat in ws[20:27]]
        record_positions(conn, fixes, store=store)
        record_positions(conn, [(ws[2][0], t1, ws[2][3], ws[2][4])], on_duty=False, store=store)
        delta = step(full["seq"], t1)
        assert not delta["full"] and 0 < len(delta["ids"]) < len(full["ids"])
        assert access.read_tracks == (1 in delta.get("d", []))  # points: steps from the held
        later = step(delta["seq"], t1 + timedelta(minutes=2))  # ages move, some turn stale
        assert not later["full"] and later["ids"]
        decoded = _node(steps)
        for got, want in zip(decoded, expect, strict=True):
            _same_features(got["geojson"], want, Q)
        assert {f["properties"]["status"] for f in expect[-1]["features"]} >= {"stale", "online"}
        assert decoded[-1]["seq"] == later["seq"]
        # a delta that does not follow what the decoder holds makes it ask for everything
        assert _node([full, later])[-1]["seq"] == 0


@pytest.mark.parametrize("role", ["wall", "leader"])
def test_wall_and_leader_get_only_counts_per_grid(demo_db, redis_client, store, role):
    access = Access.of_role(role)
    assert not access.read_tracks
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now)
        full = _delta(conn, demo_db, redis_client, 0, now, access)
        staff = {w[0] for w in ws}
        grids = {w[2] for w in ws}
        assert full["meta"]["per_grid"] and "ids_delta" not in full
        assert set(full["ids"]) <= grids and all(isinstance(i, str) for i in full["ids"])
        assert sum(full["n"]) + full["meta"]["elsewhere"] == len(ws)
        assert not {"r", "o", "t"} & set(full)
        # a worker walking inside its grid changes no count: an empty delta
        sid, _, grid, lon, lat = ws[0]
        t1 = now + timedelta(seconds=15)
        record_positions(conn, [(sid, t1, lon + 0.00001, lat)], store=store)
        walk = _delta(conn, demo_db, redis_client, full["seq"], t1, access)
        assert walk["ids"] == [] and walk["removed"] == []
        # going off duty changes its grid's point, and only that one
        record_positions(conn, [(sid, t1, lon, lat)], on_duty=False, store=store)
        off = _delta(conn, demo_db, redis_client, walk["seq"], t1, access)
        assert off["ids"] == [grid]
        assert off["off_duty"][0] == 1 and off["meta"]["off_duty"] == 1
        # nothing in any answer names a worker: grid codes, counts and the grid's name only
        columns = {"ids", "x", "y", "s", "n", "online", "off_duty", "stale", "outside", "name"}
        head = {"full", "since", "seq", "origin", "q", "as_of_ms", "removed", "meta", "note"}
        for data in (full, walk, off):
            assert set(data) - {"hideout", "legend"} == columns | head
            assert set(data["ids"]) <= grids and not staff & set(data["ids"])
            assert set(data["meta"]) == set(full["meta"])
        # the decoder draws what the full per-grid payload draws
        expect = workers_layer.fetch(conn, WHOLE, {}, t1, demo_db, access)["data"]
        _same_features(_node([full, walk, off])[-1]["geojson"], expect, Q)
        # walking into another grid changes both grids' points
        other = next(w for w in ws if w[2] != grid)
        record_positions(conn, [(sid, t1, other[3], other[4])], on_duty=False, store=store)
        cross = _delta(conn, demo_db, redis_client, off["seq"], t1, access)
        assert sorted(cross["ids"] + cross["removed"]) == sorted({grid, other[2]})
        counts = dict(zip(cross["ids"], cross["n"], strict=True))
        assert counts[other[2]] == sum(1 for w in ws if w[2] == other[2]) + 1
        assert counts.get(grid, 0) == sum(1 for w in ws if w[2] == grid) - 1


def test_a_restored_snapshot_is_primed_again_from_postgresql(demo_db, private_redis, caplog):
    url, procs, start = private_redis
    client = redis.Redis.from_url(url)
    store = PositionStore(client, namespace_for(demo_db.database_url))
    settings = demo_db.model_copy(update={"redis_url": url})
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now)
        assert store.read_all(conn) is not None  # primed
        first = _delta(conn, settings, client, 0, now)
        # the snapshot: every key of the namespace, the primed flag and the mark included
        snapshot = {k: client.dump(k) for k in client.scan_iter(match=store.prefix + "*")}
        assert store.primed_key.encode() in snapshot and store.mark_key.encode() in snapshot
        # a newer fix reaches PostgreSQL (and Redis) through the ingest path: off duty,
        # elsewhere
        sid = ws[0][0]
        t1 = now + timedelta(minutes=2)
        lon2, lat2 = ws[6][3], ws[6][4]
        record_positions(conn, [(sid, t1, lon2, lat2)], on_duty=False, store=store)
        moved = _delta(conn, settings, client, first["seq"], t1)
        # Redis restarts from the snapshot
        procs[-1].terminate()
        procs[-1].wait(5)
        procs.append(start())
        for k, v in snapshot.items():
            client.restore(k, 0, v, replace=True)
        assert client.get(store.primed_key) == b"1"
        caplog.set_level(logging.INFO)
        fixes = store.read_all(conn)
        assert fixes is not None
        fix = fixes[sid]
        assert (fix.at, fix.on_duty) == (t1, False)
        assert (abs(fix.lon - lon2), abs(fix.lat - lat2)) < (1e-9, 1e-9)
        warned = [r for r in caplog.records if "older than PostgreSQL" in r.getMessage()]
        assert len(warned) == 1 and warned[0].levelno == logging.WARNING
        # once primed, nothing more is logged
        store.read_all(conn)
        latest_workers(conn, store, WHOLE, t1)
        assert len([r for r in caplog.records if "older than PostgreSQL" in r.getMessage()]) == 1
        # the map and the KPI agree: 在线 counts the same workers
        layer = workers_layer.fetch(conn, WHOLE, {}, t1, settings, ADMIN)["data"]
        assert layer["meta"]["online"] == workers_online(conn, WHOLE, t1) == len(ws) - 1
        assert layer["meta"]["source"] == "redis"
        # a wall that held the pre-restore cursor starts afresh and sees the newer fix
        after = _delta(conn, settings, client, moved["seq"], t1)
        assert after["full"] and after["seq"] > moved["seq"]
        assert _decode(after)[sid][2] == "off_duty"


def test_redis_down_serves_postgresql_and_logs_once(demo_db, private_redis, caplog):
    url, procs, _ = private_redis
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    store = PositionStore(client, namespace_for(demo_db.database_url))
    faults = FaultLog()
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now)
        ok = _delta(conn, demo_db, client, 0, now, faults=faults)
        assert ok["meta"]["source"] == "redis"
        procs[-1].terminate()
        procs[-1].wait(5)
        caplog.set_level(logging.WARNING)
        for i in range(5):
            got = _delta(
                conn, demo_db, client, ok["seq"], now + timedelta(seconds=i), faults=faults
            )
            assert got["full"] and got["seq"] == 0 and got["meta"]["source"] == "postgres"
            assert sorted(_ids(got)) == sorted(w[0] for w in ws)
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1 and "redis unavailable" in lines[0].getMessage()
        assert faults.down("redis")
        # no Redis client at all: the same answer
        assert _delta(conn, demo_db, None, 0, now)["meta"]["source"] == "postgres"


def test_a_narrower_scope_sees_its_workers_only(demo_db, redis_client, store):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now, n=40)
        community = conn.execute(
            "SELECT community_code FROM grid WHERE code = %s AND valid_to IS NULL", (ws[0][2],)
        ).fetchone()[0]
        scope = Scope(community)
        full = _delta(conn, demo_db, redis_client, 0, now, scope=scope)
        expect = workers_layer.fetch(conn, scope, {}, now, demo_db, ADMIN)["data"]
        inside = {f["id"] for f in expect["features"]}
        assert sorted(_ids(full)) == sorted(inside) and ws[0][0] in inside
        outsider = next(w for w in ws if w[0] not in inside)
        t1 = now + timedelta(seconds=15)
        record_positions(conn, [(outsider[0], t1, outsider[3], outsider[4])], store=store)
        assert _delta(conn, demo_db, redis_client, full["seq"], t1, scope=scope)["ids"] == []
        record_positions(conn, [(ws[0][0], t1, ws[0][3], ws[0][4])], store=store)
        moved = _delta(conn, demo_db, redis_client, full["seq"], t1, scope=scope)
        assert _ids(moved) == [ws[0][0]]
        # the role option narrows the same way
        role = ws[0][1]
        only = _delta(conn, demo_db, redis_client, 0, t1, options={"role": role}, scope=scope)
        assert set(_ids(only)) == {
            f["id"] for f in expect["features"] if f["properties"]["role"] == role
        }


def test_the_map_layer_logs_a_redis_outage_once(demo_db, private_redis, caplog):
    """/map's full layer (layers.workers.fetch) reports Redis failures to the serving app's
    FaultLog: one line per outage, not one per request (issue #10: 121-132 lines a minute)."""
    import flask

    from queries.services import EXTENSION_KEY

    url, procs, _ = private_redis
    settings = demo_db.model_copy(update={"redis_url": url})
    store = PositionStore.from_url(url, demo_db.database_url)
    app = flask.Flask(__name__)
    faults = FaultLog()
    app.extensions[EXTENSION_KEY] = type("Services", (), {"faults": faults})()
    with connect(demo_db) as conn:
        ws = _seed(conn, store, DEMO_NOW)
        procs[-1].terminate()
        procs[-1].wait(5)
        caplog.set_level(logging.WARNING)
        with app.app_context():
            assert workers_layer.app_faults() is faults
            for i in range(6):
                at = DEMO_NOW + timedelta(seconds=i)
                got = workers_layer.fetch(conn, WHOLE, {}, at, settings, ADMIN)["data"]
                assert got["meta"]["source"] == "postgres" and len(got["features"]) == len(ws)
        lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(lines) == 1 and faults.down("redis")
    assert workers_layer.app_faults() is None  # outside a request: the store logs


def test_a_reader_between_commit_and_redis_write_does_not_reprime(demo_db, store, caplog):
    """The ingest path raises the mark before PostgreSQL commits (PositionStore.announce): a
    reader that sees the new row before Redis does must not take it for a restored snapshot
    (a false alarm and a full priming under every busy ingest)."""
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now)
        assert store.read_all(conn) is not None
        sid, _, _, lon, lat = ws[0]
        t1 = now + timedelta(seconds=20)
        published = store.publish
        store.publish = lambda conn, fixes: True  # the moment between the commit and Redis
        try:
            record_positions(conn, [(sid, t1, lon, lat)], store=store)
        finally:
            store.publish = published
        caplog.set_level(logging.INFO)
        fixes = store.read_all(conn)
        assert fixes is not None and fixes[sid].at < t1  # Redis not written yet ...
        assert not [r for r in caplog.records if "primed" in r.getMessage()]  # ... no priming
        # without the announcement the same moment is taken for a lost write
        store.client.set(store.mark_key, fixes[sid].at_ms)
        assert store.read_all(conn)[sid].at == t1
        assert [r for r in caplog.records if "older than PostgreSQL" in r.getMessage()]


@pytest.mark.parametrize("role", ["admin", "wall"])
def test_a_view_missing_a_key_is_built_again(demo_db, redis_client, store, role):
    """Redis may evict one key of a view (they expire) and keep the others: the view notices
    and is built again instead of answering from half of itself."""
    from queries.worker_layer import FIELD_ROLES
    from queries.worker_view import WorkerView

    access = Access.of_role(role)
    view = WorkerView(store, WHOLE, FIELD_ROLES, not access.read_tracks, demo_db.basemap_crs)
    with connect(demo_db) as conn:
        ws = _seed(conn, store, DEMO_NOW)
        full = _delta(conn, demo_db, redis_client, 0, DEMO_NOW, access)
        # per grid: worker rows, counts, points' log; points: the roster and the table
        keys = (view.k_w, view.k_tot, view.k_chg) if view.per_grid else (view.k_w, view.k_st)
        for key in keys:
            redis_client.delete(key)
            again = _delta(conn, demo_db, redis_client, full["seq"], DEMO_NOW, access)
            assert again["full"] and again["seq"] > full["seq"]
            assert again["meta"]["online"] == len(ws)
            full = again


def _same_points(screen, data):
    """The points a screen holds equal the full answer's (ids, position within Q, status)."""
    full = _decode(data)
    assert set(screen) == set(full)
    for pid, (lon, lat, status) in full.items():
        assert abs(screen[pid][0] - lon) <= Q and abs(screen[pid][1] - lat) <= Q
        assert screen[pid][2] == status


def test_a_view_of_points_shared_by_processes_follows_every_change(demo_db, redis_client, store):
    """Two processes (their own Redis clients) take turns bringing one view of points up to
    date; a screen following the cursors holds what a full answer holds after every step:
    walks (steps from the held point), duty, a walk out of its own grids and back (the
    ``o`` flag), a worker's first fix after the view was built."""
    other = redis.Redis.from_url(demo_db.redis_url)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _workers(conn, 20)
        home = ws[:16]
        fixes = [(sid, now - timedelta(seconds=30), lon, lat) for sid, _, _, lon, lat in home]
        record_positions(conn, fixes, store=store)
        screen, held, steps, expect = _Decoder(), {}, [], []

        def step(client, since, at):
            data = _delta(conn, demo_db, client, since, at)
            steps.append(data)
            expect.append(workers_layer.fetch(conn, WHOLE, {}, at, demo_db, ADMIN)["data"])
            held.update(screen.apply(data))
            for pid in data["removed"]:
                del held[pid]
            _same_points(held, _delta(conn, demo_db, client, 0, at))
            return data

        full = step(redis_client, 0, now)
        assert full["full"] and full["meta"]["points"] == 16 and sum(full["o"]) == 0
        # the other process: three walk, a fourth goes off duty
        t1 = now + timedelta(seconds=15)
        walk = [(sid, t1, lon + 0.0001, lat) for sid, _, _, lon, lat in ws[:3]]
        record_positions(conn, walk, store=store)
        record_positions(conn, [(ws[3][0], t1, ws[3][3], ws[3][4])], on_duty=False, store=store)
        d1 = step(other, full["seq"], t1)
        assert not d1["full"] and d1["since"] == full["seq"] and d1["seq"] == full["seq"] + 1
        assert _ids(d1) == sorted(w[0] for w in ws[:4]) and d1["d"] == [1, 1, 1, 1]
        assert d1["meta"]["off_duty"] == 1
        # this process: a worker walks into a grid not its own; another sends a first fix
        t2 = t1 + timedelta(seconds=15)
        away = next(w for w in ws if w[2] != ws[0][2])
        new = ws[16]
        record_positions(conn, [(ws[0][0], t2, away[3], away[4])], store=store)
        record_positions(conn, [(new[0], t2, new[3], new[4])], store=store)
        d2 = step(redis_client, d1["seq"], t2)
        got = dict(zip(_ids(d2), zip(d2["o"], d2["d"], strict=True), strict=True))
        assert got == {ws[0][0]: (1, 1), new[0]: (0, 0)}
        assert d2["meta"]["outside"] == 1 and d2["meta"]["points"] == 17
        # the other process: back home (inside again)
        t3 = t2 + timedelta(seconds=15)
        record_positions(conn, [(ws[0][0], t3, ws[0][3], ws[0][4])], store=store)
        d3 = step(other, d2["seq"], t3)
        assert _ids(d3) == [ws[0][0]] and d3["o"] == [0] and d3["removed"] == []
        assert d3["meta"]["outside"] == 0 and d3["meta"]["points"] == 17
        # nothing more: an empty delta for the current cursor, from either process
        for client in (redis_client, other):
            same = _delta(conn, demo_db, client, d3["seq"], t3)
            assert (same["ids"], same["removed"], same["seq"]) == ([], [], d3["seq"])
        # minutes later the roster is read again: one worker left it, one walked meanwhile;
        # the screen gets just that (steps from the held point), not everything
        t4 = t3 + timedelta(minutes=6)
        conn.execute("UPDATE staff SET active = false WHERE id = %s", (ws[7][0],))
        conn.commit()
        record_positions(conn, [(ws[8][0], t4, ws[8][3], ws[8][4] + 0.0002)], store=store)
        d4 = step(redis_client, d3["seq"], t4)
        assert not d4["full"] and d4["removed"] == [ws[7][0]]
        assert _ids(d4) == [ws[8][0]] and d4["d"] == [1] and d4["meta"]["points"] == 16
        # the real decoder draws what the full payload draws after every step
        for js, want in zip(_node(steps), expect, strict=True):
            _same_features(js["geojson"], want, Q)
    other.close()


def test_a_view_of_points_draws_at_most_max_workers(demo_db, redis_client, store, monkeypatch):
    """The cap (MAX_WORKERS) counts the others as truncated, by staff id; a drawn worker
    hidden as too old makes room for a truncated one at its next fix."""
    import queries.worker_table

    monkeypatch.setattr(queries.worker_table, "MAX_WORKERS", 5)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = sorted(_workers(conn, 12))
        old = MAX_AGE - timedelta(seconds=10)  # hidden 10 s from now
        ages = [old, old] + [timedelta(seconds=30)] * 10
        fixes = [(w[0], now - a, w[3], w[4]) for w, a in zip(ws, ages, strict=True)]
        record_positions(conn, fixes, store=store)
        full = _delta(conn, demo_db, redis_client, 0, now)
        assert _ids(full) == [w[0] for w in ws[:5]]
        assert (full["meta"]["points"], full["meta"]["truncated"]) == (5, 7)
        t1 = now + timedelta(seconds=15)
        moved = [(w[0], t1, w[3], w[4]) for w in ws[5:]]
        record_positions(conn, moved, store=store)
        delta = _delta(conn, demo_db, redis_client, full["seq"], t1)
        assert delta["removed"] == [ws[0][0], ws[1][0]]
        assert _ids(delta) == [ws[5][0], ws[6][0]] and delta["d"] == [0, 0]
        assert (delta["meta"]["points"], delta["meta"]["truncated"]) == (5, 5)
        assert delta["meta"]["hidden_old"] == 2


def test_a_sync_waits_for_another_updater_then_leaves_the_view(demo_db, redis_client, store):
    """While another process holds the view's lock, a request answers from the view as it
    is (nothing new for the current cursor) and the change waits for the next request."""
    from queries.worker_layer import FIELD_ROLES
    from queries.worker_view import WorkerView

    view = WorkerView(store, WHOLE, FIELD_ROLES, False, demo_db.basemap_crs)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws = _seed(conn, store, now)
        full = _delta(conn, demo_db, redis_client, 0, now)
        t1 = now + timedelta(seconds=15)
        record_positions(conn, [(ws[0][0], t1, ws[0][3] + 0.0001, ws[0][4])], store=store)
        redis_client.set(view.k_lock, "another-updater", px=10_000)
        waited = _delta(conn, demo_db, redis_client, full["seq"], t1)
        assert not waited["full"] and waited["ids"] == [] and waited["seq"] == full["seq"]
        redis_client.delete(view.k_lock)
        moved = _delta(conn, demo_db, redis_client, full["seq"], t1)
        assert _ids(moved) == [ws[0][0]] and moved["seq"] == full["seq"] + 1
        assert redis_client.get(view.k_lock) is None  # released with the view's write
