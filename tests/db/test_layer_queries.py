"""The map layers' queries (heat, overdue tickets, worker positions, the grid layer's periods
and categories) against the small demo on real PostgreSQL/PostGIS and Redis: counts equal
direct SQL, scope and option allowlists hold, no personal data leaves, a rate with nothing due
is no data, and the Redis position store follows the ingest path and degrades to
PostgreSQL."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import orjson
import pytest

import layers.grids as grids_layer
import layers.heat as heat_layer
import layers.overdue as overdue_layer
import layers.workers as workers_layer
from domain.text import duration_zh
from domain.workflow.rules import STAGE_NAMES_ZH
from layers.base import Access, OptionError
from queries import geo_measures as gm
from queries import heat as qh
from queries import worker_detail
from queries import worker_layer as qw
from queries.db import connect
from queries.positions import LatestFix, PositionStore, record_positions
from queries.scope import Scope
from queries.screen import kpis
from queries.viewer import Viewer
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

WHOLE = Scope("")


def _a_town(conn) -> str:
    """The code of a town of the demo that has tickets."""
    return conn.execute(
        "SELECT r.code FROM region r WHERE r.level = 'town' AND r.valid_to IS NULL"
        " AND EXISTS (SELECT 1 FROM ticket t WHERE t.grid_code LIKE r.code || '%')"
        " ORDER BY r.code LIMIT 1"
    ).fetchone()[0]


def _a_community(conn) -> str:
    return conn.execute(
        "SELECT g.community_code FROM ticket t JOIN grid g ON g.code = t.grid_code"
        " GROUP BY g.community_code ORDER BY count(*) DESC, g.community_code LIMIT 1"
    ).fetchone()[0]


# --------------------------------------------------------------------------------------------
# Heat
# --------------------------------------------------------------------------------------------


def _direct_count(conn, start, now, like="%", major=None, urgency=None, bbox=None) -> int:
    sql = (
        "SELECT count(*) FROM ticket t WHERE t.created_at > %(start)s AND t.created_at <= %(now)s"
        " AND t.grid_code LIKE %(like)s"
        # sensitive categories (special populations, disputes) are never in the heat
        " AND t.category_code NOT LIKE '0702%%' AND t.category_code NOT LIKE '05%%'"
    )
    if major:
        sql += " AND left(t.category_code, 2) = %(major)s"
    if urgency:
        sql += " AND t.urgency = %(urgency)s"
    if bbox:
        sql += " AND ST_Intersects(t.geom, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326))"
    w, s, e, n = bbox or (0, 0, 0, 0)
    p = {"start": start, "now": now, "like": like, "major": major, "urgency": urgency}
    return conn.execute(sql, p | {"w": w, "s": s, "e": e, "n": n}).fetchone()[0]


def test_heat_weights_sum_to_the_tickets_of_each_window(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        for window, length in qh.WINDOWS.items():
            fc = qh.heat_payload(conn, WHOLE, now, window=window)
            weights = [f["properties"]["weight"] for f in fc["features"]]
            expected = _direct_count(conn, now - length, now)
            m = fc["meta"]
            assert sum(weights) == m["shown"] == m["total"] - m["suppressed"], window
            assert m["total"] == expected, window
            assert all(w >= m["min_k"] == 5 for w in weights)
        # a window with plenty of tickets is non-trivial
        assert qh.heat_payload(conn, WHOLE, now, window="30d")["meta"]["total"] > 100


def test_heat_filters_scope_and_bbox_equal_direct_sql(demo_db):
    now = DEMO_NOW
    start = now - qh.WINDOWS["30d"]
    with connect(demo_db) as conn:
        town = _a_town(conn)
        community = _a_community(conn)
        for major in ("09", "04"):
            for urgency in ("all", "urgent", "normal"):
                fc = qh.heat_payload(conn, WHOLE, now, window="30d", major=major, urgency=urgency)
                expected = _direct_count(
                    conn, start, now, major=major, urgency=None if urgency == "all" else urgency
                )
                assert fc["meta"]["total"] == expected, (major, urgency)
        for prefix in (town, community):
            fc = qh.heat_payload(conn, Scope(prefix), now, window="30d")
            assert fc["meta"]["total"] == _direct_count(conn, start, now, like=prefix + "%")
            # every point of the scope lies in the scope's grids (cells are means of tickets)
        whole = qh.heat_payload(conn, WHOLE, now, window="30d")["meta"]["total"]
        scoped = qh.heat_payload(conn, Scope(community), now, window="30d")["meta"]["total"]
        assert 0 < scoped < whole
        assert qh.heat_payload(conn, Scope("999999"), now, window="30d")["features"] == []
        # a bbox around part of the territory: exactly the tickets inside it
        x0, y0, x1, y1 = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(geom)::geometry AS e FROM ticket) x"
        ).fetchone()
        bbox = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
        vp = qh.Viewport.parse(15, list(bbox))
        assert vp.bbox == bbox and vp.zoom == 15
        fc = qh.heat_payload(conn, WHOLE, now, window="30d", viewport=vp)
        assert fc["meta"]["total"] == _direct_count(conn, start, now, bbox=bbox) > 0
        # cells sit at their centres, merged cells (under k) at the centre of a cell up to
        # 2^K_MERGE_LEVELS as wide: within that margin of the bbox
        pad = fc["meta"]["cell_deg"] * 2**qh.K_MERGE_LEVELS
        for f in fc["features"]:
            lon, lat = f["geometry"]["coordinates"]
            assert bbox[0] - pad <= lon <= bbox[2] + pad and bbox[1] - pad <= lat <= bbox[3] + pad


def test_heat_resolution_follows_zoom_with_a_privacy_floor(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        coarse = qh.heat_payload(conn, WHOLE, now, window="30d", viewport=qh.Viewport(11))
        fine = qh.heat_payload(conn, WHOLE, now, window="30d", viewport=qh.Viewport(16))
        assert coarse["meta"]["cell_deg"] > fine["meta"]["cell_deg"] >= qh.MIN_CELL_DEG
        assert coarse["meta"]["total"] == fine["meta"]["total"]
        # finer cells hold fewer tickets each: more of them fall under k
        assert fine["meta"]["suppressed"] >= coarse["meta"]["suppressed"]
        floor = qh.heat_payload(conn, WHOLE, now, window="30d", viewport=qh.Viewport(18))
        assert floor["meta"]["cell_deg"] == qh.MIN_CELL_DEG


def test_heat_option_allowlists(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        for bad in ({"window": "2h"}, {"major": "0;--"}, {"urgency": "x"}, {"major": "1"}):
            with pytest.raises(ValueError):
                qh.heat_payload(conn, WHOLE, now, **bad)
        with pytest.raises(ValueError):
            qh.heat_payload(conn, WHOLE, now.replace(tzinfo=None))
        # the layer parses browser values: anything unknown becomes the default
        settings = demo_db
        raw = {
            "window": "1 day'; DROP TABLE ticket; --",
            "category": ["09"],
            "urgency": None,
            "zoom": "99999",
            "bbox": "1,2,3",
        }
        got = heat_layer.fetch(conn, WHOLE, raw, now, settings)
        meta = got["data"]["meta"]
        assert (meta["window"], meta["major"], meta["urgency"]) == ("24h", "all", "all")
        assert meta["zoom"] == qh.MAX_ZOOM and meta["bbox"] is None
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] > 0
    assert qh.Viewport.parse("abc", "x,y,z,w") == qh.Viewport()
    assert qh.Viewport.parse(float("nan"), [1, 2, 1, 3]).bbox is None  # west == east
    assert qh.Viewport.parse(True, [-200, 0, 10, 10]) == qh.Viewport()
    assert heat_layer.BBOX.parse("120.1,30.2,120.9,30.9") == "120.1,30.2,120.9,30.9"
    assert heat_layer.BBOX.parse("120.1,30.2,120.9,30.9);--") == ""


def test_heat_coarsen_keeps_the_total():
    cells = [(120 + i * 1e-4, 30 + (i % 7) * 1e-4, 1 + i % 3) for i in range(qh.MAX_POINTS + 500)]
    merged, cell = qh.coarsen(cells, 1e-4)
    assert len(merged) <= qh.MAX_POINTS and cell > 1e-4
    assert sum(n for *_, n in merged) == sum(n for *_, n in cells)


# --------------------------------------------------------------------------------------------
# Overdue tickets
# --------------------------------------------------------------------------------------------

# Fields a ticket's popup may carry; nothing else (no address, description, reporter).
OVERDUE_PROPERTIES = {
    "no",
    "category",
    "grid",
    "stage",
    "lead",
    "step",
    "overdue_s",
    "rework",
}


# A grid's counts (roles without exact points, and sensitive categories for everyone).
GRID_COUNT_PROPERTIES = {"grid", "count", "step", "by_step", "sensitive"}


def _make_ladder(conn, now):
    """Move four open tickets (not of a sensitive category: those are never points) onto the
    ladder steps (the demo has few at any instant)."""
    ids = conn.execute(
        "SELECT id, created_at FROM ticket WHERE state IN ('in_progress', 'dispatched')"
        " AND stage IS NOT NULL"
        " AND category_code NOT LIKE '0702%%' AND category_code NOT LIKE '05%%'"
        " ORDER BY id LIMIT 4"
    ).fetchall()
    assert len(ids) == 4
    h = timedelta(hours=1)
    plan = [  # (started, warn, due, rework): warning, yellow, red by time, red by rework
        (now - 10 * h, now - h, now + h, 0),
        (now - 10 * h, now - 3 * h, now - 2 * h, 0),
        (now - 10 * h, now - 7 * h, now - 5 * h, 0),
        (now - 10 * h, now - h, now + h, 2),
    ]
    for (tid, created), (started, warn, due, rework) in zip(ids, plan, strict=True):
        conn.execute(
            "UPDATE ticket SET stage_started_at = %s, stage_warn_at = %s, stage_due_at = %s,"
            " rework_count = %s WHERE id = %s AND created_at = %s",
            (started, warn, due, rework, tid, created),
        )
    conn.commit()
    return [i for i, _ in ids]


def _direct_overdue(conn, now, like="%", sensitive=None):
    """(ticket_no, started, due, rework) of the overdue layer's tickets; ``sensitive`` True
    or False keeps only those of a sensitive category or only the others."""
    rows = conn.execute(
        "SELECT ticket_no, stage_started_at, stage_due_at, rework_count,"
        "  (category_code LIKE '0702%%' OR category_code LIKE '05%%') FROM ticket"
        " WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND state <> 'suspended'"
        "   AND grid_code LIKE %s"
        "   AND (stage_due_at < %s OR (stage_warn_at <= %s AND stage_due_at > %s))",
        (like, now, now, now),
    ).fetchall()
    return [r[:4] for r in rows if sensitive is None or r[4] == sensitive]


def _points(fc):
    return [f for f in fc["features"] if "no" in f["properties"]]


def _expected_step(started, due, rework, now) -> int:
    if rework >= 2:
        return 3
    if due < now:
        return 3 if started is not None and now - due >= due - started else 2
    return 1


def test_overdue_counts_and_steps_equal_direct_sql(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        _make_ladder(conn, now)
        fc = overdue_layer.overdue_payload(conn, WHOLE, now, exact_points=True)
        rows = _direct_overdue(conn, now)
        plain = _direct_overdue(conn, now, sensitive=False)
        m = fc["meta"]
        assert m["total"] == m["count"] + m["counted"] == len(rows)
        assert m["count"] == len(plain) == len(_points(fc))
        k = kpis(conn, WHOLE, now, demo_db.tz)
        assert len(rows) == k["overdue"] + k["warning"]
        expected = {no: _expected_step(s, d, r, now) for no, s, d, r in plain}
        got = {f["properties"]["no"]: f["properties"]["step"] for f in _points(fc)}
        assert got == expected
        assert set(got.values()) == {1, 2, 3}
        steps = [f["properties"]["step"] for f in _points(fc)]
        assert steps == sorted(steps, reverse=True)  # worst first
        every = [_expected_step(s, d, r, now) for _, s, d, r in rows]
        assert m["by_step"] == {str(s): every.count(s) for s in (1, 2, 3)}
        # min_step filters, the same with counts per grid
        for exact in (True, False):
            red = overdue_layer.overdue_payload(
                conn, WHOLE, now, min_step="red", exact_points=exact
            )
            assert red["meta"]["total"] == every.count(3)
            over = overdue_layer.overdue_payload(
                conn, WHOLE, now, min_step="overdue", exact_points=exact
            )
            assert over["meta"]["total"] == every.count(2) + every.count(3)


def test_overdue_popup_fields_equal_the_database(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        _make_ladder(conn, now)
        fc = overdue_layer.overdue_payload(conn, WHOLE, now, exact_points=True)
        for f in _points(fc):
            p = f["properties"]
            row = conn.execute(
                "SELECT mc.name_zh, c.name_zh, g.name, t.stage, t.stage_due_at,"
                "  ST_X(t.geom), ST_Y(t.geom),"
                "  (SELECT d.name FROM ticket_task k JOIN department d ON d.id = k.department_id"
                "    WHERE k.ticket_id = t.id AND k.role = 'lead' AND k.state <> 'cancelled'"
                "    ORDER BY k.dispatched_at DESC LIMIT 1)"
                " FROM ticket t JOIN category c ON c.code = t.category_code"
                " JOIN category mc ON mc.code = left(t.category_code, 2)"
                " JOIN grid g ON g.code = t.grid_code AND g.valid_to IS NULL"
                " WHERE t.ticket_no = %s",
                (p["no"],),
            ).fetchone()
            major, minor, grid, stage, due, lon, lat, lead = row
            assert p["category"] in (major, f"{major}·{minor}")
            assert p["grid"] == grid
            assert p["stage"] == STAGE_NAMES_ZH[stage]
            assert p["lead"] == (lead or "")
            assert p["overdue_s"] == int((now - due).total_seconds())
            assert f["geometry"]["coordinates"] == [round(lon, 6), round(lat, 6)]
        assert any(f["properties"]["lead"] for f in _points(fc))


def test_overdue_payload_carries_no_personal_data(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        _make_ladder(conn, now)
        conn.execute(
            "UPDATE ticket SET address = '秀洲区某路88号 张三家', description = '张三 13812345678'"
            " WHERE state NOT IN ('closed', 'surveyed', 'rejected')"
        )
        conn.commit()
        for role in ("admin", "analyst"):
            payload = overdue_layer.fetch(conn, WHOLE, {}, now, demo_db, Access.of_role(role))
            text = json.dumps(payload, ensure_ascii=False)
            assert payload["data"]["features"]
            for f in payload["data"]["features"]:
                assert set(f["properties"]) in (OVERDUE_PROPERTIES, GRID_COUNT_PROPERTIES)
            for leak in ("张三", "13812345678", "88号", "address", "description", "reporter"):
                assert leak not in text


def test_overdue_scope_and_allowlists(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        _make_ladder(conn, now)
        town = _a_town(conn)
        whole = overdue_layer.overdue_payload(conn, WHOLE, now, exact_points=True)
        scoped = overdue_layer.overdue_payload(conn, Scope(town), now, exact_points=True)
        assert scoped["meta"]["total"] == len(_direct_overdue(conn, now, town + "%"))
        names = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM grid WHERE code LIKE %s AND valid_to IS NULL", (town + "%",)
            )
        }
        assert {f["properties"]["grid"] for f in scoped["features"]} <= names
        assert scoped["meta"]["total"] <= whole["meta"]["total"]
        assert overdue_layer.overdue_payload(conn, Scope("999999"), now)["features"] == []
        for bad in ({"major": "09%"}, {"min_step": "yellow"}):
            with pytest.raises(ValueError):
                overdue_layer.overdue_payload(conn, WHOLE, now, **bad)
        got = overdue_layer.fetch(conn, WHOLE, {"category": "%", "min_step": 3}, now, demo_db)
        assert got["data"]["meta"]["total"] == whole["meta"]["total"]
        one = overdue_layer.overdue_payload(conn, WHOLE, now, major="09", exact_points=True)
        n09 = conn.execute(
            "SELECT count(*) FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected')"
            " AND state <> 'suspended' AND category_code LIKE '09%%'"
            " AND (stage_due_at < %s OR (stage_warn_at <= %s AND stage_due_at > %s))",
            (now, now, now),
        ).fetchone()[0]
        assert one["meta"]["total"] == n09


def test_duration_zh():
    assert duration_zh(59) == "0分"
    assert duration_zh(3 * 3600 + 12 * 60) == "3小时12分"
    assert duration_zh(2 * 86400 + 3 * 3600 + 5) == "2天3小时"
    assert duration_zh(86400) == "1天"


# --------------------------------------------------------------------------------------------
# Worker positions
# --------------------------------------------------------------------------------------------


def _workers(conn, n=12):
    """n field workers with one assigned grid each: (staff_id, role, grid_code, lon, lat) where
    lon/lat is a point inside the grid."""
    return conn.execute(
        "SELECT DISTINCT ON (s.id) s.id, s.role, a.grid_code,"
        "  ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))"
        " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
        " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
        " WHERE s.active AND s.role IN ('fulltime_worker', 'parttime_worker', 'grid_chief')"
        " ORDER BY s.id, a.grid_code LIMIT %s",
        (n,),
    ).fetchall()


def _outside_point(conn, staff_id):
    """A point inside a grid the worker is not assigned to."""
    return conn.execute(
        "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) FROM grid g"
        " WHERE g.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM staff_assignment a"
        "   JOIN grid h ON h.code = a.grid_code AND h.valid_to IS NULL"
        "   WHERE a.staff_id = %s AND a.valid_to IS NULL AND ST_Intersects(h.geom, g.geom))"
        " ORDER BY g.code LIMIT 1",
        (staff_id,),
    ).fetchone()


def _seed(conn, store, now):
    """Fixes for 12 workers: most fresh inside their grid, two outside, two stale."""
    ws = _workers(conn)
    fixes, outside, stale = [], set(), set()
    for i, (sid, _role, _grid, lon, lat) in enumerate(ws):
        at = now - timedelta(seconds=30)
        if i in (2, 5):
            lon, lat = _outside_point(conn, sid)
            outside.add(sid)
        if i in (3, 7):
            at = now - timedelta(minutes=25)
            stale.add(sid)
        fixes.append((sid, at - timedelta(seconds=60), lon, lat))  # an older fix first
        fixes.append((sid, at, lon, lat))
    assert record_positions(conn, fixes, store=store) == len(fixes)
    return ws, outside, stale


def _features(fc):
    return {f["id"]: f for f in fc["features"]}


def test_record_positions_keeps_redis_and_newer_fixes_win(demo_db, redis_client):
    store = PositionStore.from_url(demo_db.redis_url, demo_db.database_url)
    store.clear()
    now = DEMO_NOW
    try:
        with connect(demo_db) as conn:
            ws, outside, _ = _seed(conn, store, now)
            raw = store.client.hgetall(store.hash_key)
            assert len(raw) == len(ws)
            for sid, at, lon, lat in conn.execute(
                "SELECT staff_id, at, ST_X(geom), ST_Y(geom) FROM worker_last_position"
            ).fetchall():
                fix = LatestFix.decode(sid, raw[str(sid).encode()])
                assert fix.at == at.replace(microsecond=at.microsecond // 1000 * 1000)
                assert abs(fix.lon - lon) < 1e-6 and abs(fix.lat - lat) < 1e-6
                covering = conn.execute(
                    "SELECT coalesce(array_agg(code ORDER BY code), '{}') FROM grid"
                    " WHERE valid_to IS NULL AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(%s, %s),"
                    " 4326))",
                    (lon, lat),
                ).fetchone()[0]
                assert list(fix.grids) == covering
            # an older fix arriving late moves neither PostgreSQL nor Redis
            sid, _, _, lon, lat = ws[0]
            before = store.client.hget(store.hash_key, str(sid))
            record_positions(conn, [(sid, now - timedelta(hours=1), lon + 0.01, lat)], store=store)
            assert store.client.hget(store.hash_key, str(sid)) == before
            # a direct write of an older value is refused by the Lua script too
            old = LatestFix(sid, now - timedelta(hours=2), 0.0, 0.0, True, ())
            assert store.put([old]) == 0
            newer = LatestFix(sid, now + timedelta(seconds=1), lon, lat, False, ("x",))
            assert store.put([newer]) == 1
    finally:
        store.clear()


def test_worker_layer_from_redis_equals_postgres(demo_db, redis_client):
    store = PositionStore.from_url(demo_db.redis_url, demo_db.database_url)
    store.clear()
    now = DEMO_NOW
    try:
        with connect(demo_db) as conn:
            ws, outside, stale = _seed(conn, store, now)
            assert store.client.get(store.primed_key) is None
            first = qw.latest_workers(conn, store, WHOLE, now)
            assert first[2] == "redis"  # not primed yet: primed by this first reader
            assert store.client.get(store.primed_key) == b"1"
            workers, hidden, source = qw.latest_workers(conn, store, WHOLE, now)
            assert source == "redis"
            from_redis = workers_layer.workers_geojson(workers, now, hidden_old=hidden)
            pg_workers, pg_hidden = qw.workers_from_postgres(conn, WHOLE, now)
            from_pg = workers_layer.workers_geojson(pg_workers, now, hidden_old=pg_hidden)
            assert from_redis["features"] == from_pg["features"]
            feats = _features(from_redis)
            assert set(feats) == {w[0] for w in ws}
            for sid, role, *_ in ws:
                p = feats[sid]["properties"]
                assert p["role"] == role
                assert p["outside"] == (sid in outside)
                assert p["status"] == ("stale" if sid in stale else "online")
                assert set(p) == {"id", "role", "role_zh", "status", "outside", "age_s"}
            # outside agrees with ST_Covers against the current assignments
            for sid in feats:
                inside = conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM worker_last_position p"
                    " JOIN staff_assignment a ON a.staff_id = p.staff_id AND a.valid_to IS NULL"
                    " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
                    " WHERE p.staff_id = %s AND ST_Covers(g.geom, p.geom))",
                    (sid,),
                ).fetchone()[0]
                assert feats[sid]["properties"]["outside"] == (not inside)
            m = from_redis["meta"]
            assert (m["outside"], m["stale"]) == (len(outside), len(stale))
    finally:
        store.clear()


def test_worker_layer_scope_roles_and_age(demo_db, redis_client):
    store = PositionStore.from_url(demo_db.redis_url, demo_db.database_url)
    store.clear()
    now = DEMO_NOW
    try:
        with connect(demo_db) as conn:
            ws, _, _ = _seed(conn, store, now)
            store.resync(conn)
            grid = ws[0][2]
            community = conn.execute(
                "SELECT community_code FROM grid WHERE code = %s AND valid_to IS NULL", (grid,)
            ).fetchone()[0]
            workers, _, _ = qw.latest_workers(conn, store, Scope(community), now)
            in_scope = {
                r[0]
                for r in conn.execute(
                    "SELECT s.id FROM staff s WHERE s.id = ANY(%s) AND (s.region_code LIKE %s"
                    " OR EXISTS (SELECT 1 FROM staff_assignment a WHERE a.staff_id = s.id"
                    "   AND a.valid_to IS NULL AND a.grid_code LIKE %s))",
                    ([w[0] for w in ws], community + "%", community + "%"),
                )
            }
            assert {w.staff_id for w in workers} == in_scope and ws[0][0] in in_scope
            pg, _ = qw.workers_from_postgres(conn, Scope(community), now)
            assert {w.staff_id for w in pg} == in_scope
            assert qw.latest_workers(conn, store, Scope("999999"), now)[0] == []
            chiefs, _, _ = qw.latest_workers(conn, store, WHOLE, now, roles=("grid_chief",))
            assert {w.staff_id for w in chiefs} == {w[0] for w in ws if w[1] == "grid_chief"}
            with pytest.raises(ValueError):
                qw.latest_workers(conn, store, WHOLE, now, roles=("centre_operator",))
            # browser values for the role are parsed: unknown -> all
            tracks = Access.of_role("dispatcher")
            got = workers_layer.fetch(conn, WHOLE, {"role": "admin'--"}, now, demo_db, tracks)
            assert len(got["data"]["features"]) == len(ws)
            # without read_tracks: counts per grid at the grids' anchors, no staff ids
            per_grid = workers_layer.fetch(conn, WHOLE, {}, now, demo_db)["data"]
            counts = [f["properties"]["count"] for f in per_grid["features"]]
            assert sum(counts) + per_grid["meta"]["elsewhere"] == len(ws)
            assert per_grid["meta"]["per_grid"] and len(counts) < len(ws)
            for f in per_grid["features"]:
                assert "id" not in f and "id" not in f["properties"]
                assert "role" not in f["properties"] and "age_s" not in f["properties"]
            # fixes older than MAX_AGE are not drawn but counted
            later = now + qw.MAX_AGE + timedelta(minutes=1)
            gone, hidden, _ = qw.latest_workers(conn, store, WHOLE, later)
            assert gone == [] and hidden == len(ws)
    finally:
        store.clear()


def test_redis_down_keeps_the_db_write_and_falls_back(demo_db, private_redis, caplog):
    url, procs, start = private_redis
    store = PositionStore.from_url(url, demo_db.database_url)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws, _, _ = _seed(conn, store, now)
        store.resync(conn)
        assert qw.latest_workers(conn, store, WHOLE, now)[2] == "redis"
        procs[0].terminate()
        procs[0].wait(5)
        sid, _, _, lon, lat = ws[0]
        caplog.set_level(logging.WARNING)
        t = now + timedelta(seconds=5)
        assert record_positions(conn, [(sid, t, lon, lat)], store=store) == 1
        assert store.dirty
        assert any("Redis unavailable" in r.getMessage() for r in caplog.records)
        # the database write stands
        assert (
            conn.execute(
                "SELECT at FROM worker_last_position WHERE staff_id = %s", (sid,)
            ).fetchone()[0]
            == t
        )
        # the layer reads PostgreSQL and sees it
        workers, _, source = qw.latest_workers(conn, store, WHOLE, t)
        assert source == "postgres"
        assert {w.staff_id: w.fix.at for w in workers}[sid] == t
        got = workers_layer.fetch(
            conn,
            WHOLE,
            {},
            t,
            demo_db.model_copy(update={"redis_url": url}),
            Access.of_role("admin"),
        )
        assert len(got["data"]["features"]) == len(ws)
        # Redis comes back empty: the next write resyncs everything, readers use Redis again
        procs.append(start())
        t2 = t + timedelta(seconds=5)
        record_positions(conn, [(ws[1][0], t2, ws[1][3], ws[1][4])], store=store)
        assert not store.dirty
        assert store.client.hlen(store.hash_key) == len(ws)
        workers, _, source = qw.latest_workers(conn, store, WHOLE, t2)
        assert source == "redis"
        ats = {w.staff_id: w.fix.at for w in workers}
        assert ats[sid] == t and ats[ws[1][0]] == t2


def test_restarted_redis_is_primed_by_the_first_reader(demo_db, private_redis):
    url, procs, start = private_redis
    store = PositionStore.from_url(url, demo_db.database_url)
    now = DEMO_NOW
    with connect(demo_db) as conn:
        ws, _, _ = _seed(conn, store, now)
        procs[0].terminate()
        procs[0].wait(5)
        procs.append(start())  # empty, no writer noticed
        assert store.client.hlen(store.hash_key) == 0
        workers, _, source = qw.latest_workers(conn, store, WHOLE, now)
        assert source == "redis" and len(workers) == len(ws)  # primed by this first reader
        assert store.client.hlen(store.hash_key) == len(ws)


def test_worker_detail_track_coverage_and_audit(demo_db, caplog):
    now = DEMO_NOW
    tz = demo_db.tz
    with connect(demo_db) as conn:
        sid, role, grid, lon, lat = _workers(conn, 1)[0]
        micro = conn.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM micro_grid"
            " WHERE grid_code = %s AND valid_to IS NULL ORDER BY code LIMIT 2",
            (grid,),
        ).fetchall()
        day_start = worker_detail.local_day_start(now, tz)
        yesterday = day_start - timedelta(hours=2)
        fixes = [(sid, yesterday, lon, lat)]  # not today: not in the track
        for i, (x, y) in enumerate(micro):
            fixes.append((sid, now - timedelta(minutes=5 - i), x, y))
        fixes.append((sid, now - timedelta(minutes=1), lon, lat))
        record_positions(conn, fixes)
        conn.commit()
        caplog.set_level(logging.INFO, logger="gridscope.audit")
        # refused without read_tracks: nothing read, nothing audited
        for other in ("analyst", "leader", "wall"):
            who = Viewer("user", 7, f"{other}-1", other, WHOLE)
            assert workers_layer.detail(conn, WHOLE, str(sid), now, demo_db, who) is None
        assert workers_layer.detail(conn, WHOLE, str(sid), now, demo_db, None) is None
        dispatcher = Viewer("user", 8, "dispatcher-1", "dispatcher", WHOLE, client_addr="10.0.0.9")
        d = workers_layer.detail(conn, WHOLE, str(sid), now, demo_db, dispatcher)
        conn.commit()
        assert d is not None and d["id"] == sid and d["role"] == role
        name = conn.execute("SELECT name FROM staff WHERE id = %s", (sid,)).fetchone()[0]
        assert d["name"] == name
        today = [f for f in fixes if f[1] >= day_start]
        assert d["track_points"] == len(today)
        assert d["track"]["type"] == "LineString" and len(d["track"]["coordinates"]) == len(today)
        total, visited = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM worker_position p"
            "   WHERE p.staff_id = %(sid)s AND p.at >= %(d)s AND p.at <= %(now)s"
            "   AND ST_Covers(m.geom, p.geom)))"
            " FROM micro_grid m WHERE m.valid_to IS NULL AND m.grid_code IN"
            "  (SELECT grid_code FROM staff_assignment WHERE staff_id = %(sid)s"
            "   AND valid_to IS NULL)",
            {"sid": sid, "d": day_start, "now": now},
        ).fetchone()
        assert d["micro_grids"] == {
            "visited": visited,
            "total": total,
            "share": visited / total,
        }
        assert visited >= len(micro)
        assert grid in {g["code"] for g in d["grids"]}
        # the record: one audit_event row; the log line is a copy
        rows = conn.execute(
            "SELECT actor_name, role, action, object, object_ids, count, tier, client_addr"
            " FROM audit_event"
        ).fetchall()
        assert rows == [
            (
                "dispatcher-1",
                "dispatcher",
                "track_read",
                "worker",
                [str(sid)],
                len(today),
                4,
                "10.0.0.9",
            )
        ]
        audit = [r for r in caplog.records if r.name == "gridscope.audit"]
        assert len(audit) == 1 and audit[0].levelno == logging.INFO
        assert f"staff_id={sid}" in audit[0].getMessage()
        assert "user:dispatcher-1" in audit[0].getMessage()
        # out of scope, bad ids: nothing, and nothing logged
        caplog.clear()
        assert workers_layer.detail(conn, Scope("999999"), sid, now, demo_db, dispatcher) is None
        for bad in (None, True, "abc", -3, {"id": 1}, 0, "٣", "9" * 5000, 2**70):
            assert workers_layer.detail(conn, WHOLE, bad, now, demo_db, dispatcher) is None
        assert not [r for r in caplog.records if r.name == "gridscope.audit"]
        conn.commit()
        assert conn.execute("SELECT count(*) FROM audit_event").fetchone()[0] == 1


def test_layer_specs_declare_the_contract():
    assert heat_layer.LAYER.render == "heat" and heat_layer.LAYER.sensitivity == "L1"
    assert workers_layer.LAYER.render == "markers" and workers_layer.LAYER.sensitivity == "L2"
    assert overdue_layer.LAYER.render == "cluster"
    assert {o.name for o in heat_layer.LAYER.view_options} == {"zoom", "bbox"}
    assert workers_layer.LAYER.extra["detail_sensitivity"] == "L4"
    assert workers_layer.LAYER.extra["detail_action"] == "read_tracks"
    assert "screen" not in workers_layer.LAYER.extra["detail_profiles"]


# --------------------------------------------------------------------------------------------
# Grid layer: periods, categories, no data
# --------------------------------------------------------------------------------------------

TICKETS_SQL = """
SELECT t.grid_code, g.community_code, t.micro_grid_code, t.category_code, t.state,
       t.created_at, t.closed_at, t.closed_on_time, t.due_at, t.stage_due_at
  FROM ticket t JOIN grid g ON g.code = t.grid_code AND g.valid_to IS NULL
"""


def _direct_counts(conn, tz, first, last, category, now, key="grid"):
    """{unit: (created, closed, closed_on_time, open, overdue, past_due)} computed in Python
    from the ticket rows, by the definitions of docs/measures.md: created and closed on the
    local days first..last, open and overdue now, open past the handling due time at the
    period's end (now when the period reaches today; voided and suspended tickets left out)."""
    stop = datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)
    end = min(stop, now)
    out: dict[str, list[int]] = {}
    for (
        grid,
        community,
        micro,
        cat,
        state,
        created,
        closed,
        on_time,
        due,
        stage_due,
    ) in conn.execute(TICKETS_SQL).fetchall():
        if category and not cat.startswith(category):
            continue
        unit = {"grid": grid, "community": community, "micro": micro}[key]
        if unit is None:
            continue
        c = out.setdefault(unit, [0] * 6)
        if created <= now and first <= created.astimezone(tz).date() <= last:
            c[0] += 1
        if closed is not None and closed <= now and first <= closed.astimezone(tz).date() <= last:
            c[1] += 1
            c[2] += bool(on_time)
        live = state not in ("closed", "surveyed", "rejected", "suspended")
        c[3] += live
        c[4] += live and stage_due is not None and stage_due < now
        if state not in ("rejected", "suspended") and created < end and due and due < end:
            c[5] += closed is None or closed >= end
    return {u: tuple(v) for u, v in out.items() if any(v)}


def _as_tuples(counts):
    return {
        code: (c.created, c.closed, c.closed_on_time, c.open, c.overdue, c.past_due)
        for code, c in counts.items()
        if (c.created, c.closed, c.closed_on_time, c.open, c.overdue, c.past_due) != (0,) * 6
    }


def _busy_minor(conn) -> str:
    return conn.execute(
        "SELECT category_code FROM ticket WHERE length(category_code) = 4"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()[0]


def test_grid_counts_for_a_period_and_a_category_equal_the_tickets(demo_db):
    """Periods in the past (past-due at their end), reaching today (past-due now), one day;
    every category, a major, a minor: each unit's counts equal a computation from the ticket
    rows, at the grid, community and micro-grid levels."""
    now, tz = DEMO_NOW, demo_db.tz
    today = now.astimezone(tz).date()
    with connect(demo_db) as conn:
        minor = _busy_minor(conn)
        periods = [
            gm.Period(today - timedelta(days=120), today - timedelta(days=60)),  # historic
            gm.Period(today - timedelta(days=20), today),  # reaches today
            gm.Period(today - timedelta(days=3), today - timedelta(days=3)),  # one day
            gm.Period(today - timedelta(days=400), today - timedelta(days=200)),  # before data
        ]
        checked = 0
        for period in periods:
            for category in (None, minor[:2], minor):
                for level in ("grid", "community", "micro"):
                    got = gm.unit_counts(
                        conn, WHOLE, level, "today", now, tz, period=period, category=category
                    )
                    want = _direct_counts(
                        conn, tz, period.first, period.last, category, now, key=level
                    )
                    assert _as_tuples(got) == want, (period, category, level)
                    checked += sum(sum(v) for v in want.values())
        assert checked > 1000  # the cases are not all empty
        # the historic period's past-due term is its own, not today's
        old = gm.unit_counts(conn, WHOLE, "grid", "today", now, tz, period=periods[0])
        live = gm.unit_counts(conn, WHOLE, "grid", "30d", now, tz)
        assert sum(c.past_due for c in old.values()) != sum(c.past_due for c in live.values())
        # without the rates it is not counted (0), the other counts unchanged
        bare = gm.unit_counts(
            conn, WHOLE, "grid", "today", now, tz, period=periods[0], past_due=False
        )
        assert bare == {code: replace(c, past_due=0) for code, c in old.items()}
        recent = gm.unit_counts(conn, WHOLE, "grid", "today", now, tz, period=periods[1])
        assert recent == gm.unit_counts(
            conn, WHOLE, "grid", "today", now, tz, period=periods[1], past_due=False
        )  # a period reaching today counts it now anyway (the live scan is cheap)
        # a town's scope keeps its own grids
        town = _a_town(conn)
        scoped = gm.unit_counts(conn, Scope(town), "grid", "today", now, tz, period=periods[1])
        assert scoped and all(code.startswith(town) for code in scoped)


def test_quick_windows_agree_with_their_period_twins(demo_db):
    """The quick windows keep their own statements; the filtered twin over the same days and
    every category gives the same counts at every level, and a category's counts add up to
    no more than the whole."""
    now, tz = DEMO_NOW, demo_db.tz
    with connect(demo_db) as conn:
        minor = _busy_minor(conn)
        for window in gm.WINDOWS:
            period = gm.Period(*gm.window_days(window, now, tz))
            for level in ("county", "town", "community", "grid", "micro"):
                quick = gm.unit_counts(conn, WHOLE, level, window, now, tz)
                twin = gm.unit_counts(conn, WHOLE, level, window, now, tz, period=period)
                assert quick == twin, (window, level)
            whole = gm.unit_counts(conn, WHOLE, "grid", window, now, tz)
            major = gm.unit_counts(conn, WHOLE, "grid", window, now, tz, category=minor[:2])
            one = gm.unit_counts(conn, WHOLE, "grid", window, now, tz, category=minor)
            for code, c in whole.items():
                assert one[code].created <= major[code].created <= c.created
                assert one[code].open <= major[code].open <= c.open
                assert one[code].households == major[code].households == c.households


def test_period_and_category_are_checked(demo_db):
    """Bad periods and categories: the query refuses them (ValueError), the layer's options
    say in Chinese what is wrong (OptionError), never a default chosen silently."""
    spec = grids_layer.LAYER
    assert gm.category_like(None) == "%" and gm.category_like("09") == "09%"
    assert gm.category_like("0903") == "0903"
    for bad in ("9", "090", "09%", "0903_", "ab", ""):
        with pytest.raises(ValueError):
            gm.category_like(bad)
    with pytest.raises(ValueError):
        gm.Period(date(2015, 7, 2), date(2015, 7, 1))
    with pytest.raises(ValueError):
        gm.Period(date(2015, 1, 1), date(2018, 1, 1))
    assert gm.Period(date(2015, 1, 1), date(2017, 12, 31)).days == gm.MAX_PERIOD_DAYS
    ok = {"window": "period", "from": "2015-07-01", "to": "2015-07-31", "category": "0903"}
    got = spec.canonical_options(ok, {"level": "grid"}, WHOLE)
    assert {k: got[k] for k in ok} == ok
    # a quick window drops the dates (one cache entry per window, whatever the picker holds)
    quick = spec.canonical_options({**ok, "window": "7d"}, {"level": "grid"}, WHOLE)
    assert quick["from"] == quick["to"] == "" and quick["category"] == "0903"
    cases = {
        "结束日期 2015-06-30 早于开始日期 2015-07-01": {"to": "2015-06-30"},
        "最长 3 年": {"from": "2012-01-01", "to": "2015-07-31"},
        "2015-02-30 不是有效日期": {"from": "2015-02-30"},
        "开始日期：'2015/07/01' 无效（应为 YYYY-MM-DD）": {"from": "2015/07/01"},
        "结束日期：7 无效": {"to": 7},
        "请选择开始日期和结束日期": {"to": ""},
        "超出可选范围": {"from": "1900-01-01"},
        "事项类别：'0977' 无效": {"category": "0977"},
        "事项类别：'0903; DROP TABLE grid' 无效": {"category": "0903; DROP TABLE grid"},
        "事项类别：['09'] 无效": {"category": ["09"]},
    }
    for message, change in cases.items():
        with pytest.raises(OptionError) as err:
            spec.canonical_options({**ok, **change}, {"level": "grid"}, WHOLE)
        assert message in str(err.value), (change, str(err.value))
    # 3 years exactly is allowed, one day more is not
    spec.canonical_options({**ok, "from": "2015-01-01", "to": "2017-12-31"}, {}, WHOLE)
    with pytest.raises(OptionError):
        spec.canonical_options({**ok, "from": "2014-12-31", "to": "2017-12-31"}, {}, WHOLE)


def test_grid_layer_payload_for_a_period_and_no_data(demo_db):
    """The payload for a period and a category: its legend names both; a rate with nothing due
    is no data (absent from the values, "missing": "nodata", a legend entry 无数据), never 0;
    a real 0 % stays; a density without households travels as null."""
    now, tz = DEMO_NOW, demo_db.tz
    today = now.astimezone(tz).date()
    first, last = today - timedelta(days=10), today - timedelta(days=8)
    opts = {"level": "grid", "window": "period", "from": first.isoformat()}
    opts |= {"to": last.isoformat(), "category": "09", "focus": ""}
    with connect(demo_db) as conn:
        out = grids_layer.fetch(conn, WHOLE, {**opts, "measure": "closure_rate"}, now, demo_db)
        h = out["hideout"]
        assert out["legend_title"] == (
            f"网格 · 结案率 · 城市管理（{first.isoformat()} 至 {last.isoformat()}，%）"
        )
        assert "时段末" in out["note"]
        assert h["missing"] == "nodata" and h["missing_label"] == h["nodata_label"] == "无数据"
        direct = _direct_counts(conn, tz, first, last, "09", now)
        grids = {r[0] for r in conn.execute("SELECT code FROM grid WHERE valid_to IS NULL")}
        nodata = {g for g in grids if sum(direct.get(g, (0,) * 6)[i] for i in (1, 5)) == 0}
        zero = {g for g in grids - nodata if direct[g][1] == 0}
        assert nodata and grids - nodata, "the case needs grids with and without data"
        assert set(h["values"]) == grids - nodata
        assert None not in h["values"].values()
        assert all(h["values"][g] == 0 for g in zero)
        for g in grids - nodata:
            _c, closed, _t, _o, _v, past_due = direct[g]
            assert h["values"][g] == round(closed / (closed + past_due), 4)
        # on-time rate: the same denominator, so the same units have no data
        on_time = grids_layer.fetch(conn, WHOLE, {**opts, "measure": "on_time_rate"}, now, demo_db)
        assert set(on_time["hideout"]["values"]) == grids - nodata
        # a count has no "no data"; a density without households does, as null
        created = grids_layer.fetch(conn, WHOLE, {**opts, "measure": "created"}, now, demo_db)
        assert created["hideout"]["missing"] == "zero" and not created["hideout"]["has_nodata"]
        empty = sorted(grids)[0]
        conn.execute("UPDATE grid SET households = 0 WHERE code = %s", (empty,))
        opts["measure"] = "per_1000_households"
        density = grids_layer.fetch(conn, WHOLE, opts, now, demo_db)
        assert density["hideout"]["values"][empty] is None and density["hideout"]["has_nodata"]
        assert b'"%s":null' % empty.encode() in orjson.dumps(density)
        conn.rollback()
        # today's window: the old statement and legend, no period note
        out = grids_layer.fetch(
            conn, WHOLE, {"level": "grid", "measure": "closure_rate", "window": "7d"}, now, demo_db
        )
        assert out["legend_title"] == "网格 · 结案率（近7日，%）" and out["note"] == ""


def test_refused_options_are_a_message_not_a_500(demo_db, redis_client):
    """A period or category the layer refuses, through the map's own fetch callback: an answer
    that keeps the map (no payload) and says why beside the selectors; a good choice clears
    the message."""
    from app import create_app
    from tests.access import signed_in

    app = create_app(demo_db)
    client = signed_in(app, demo_db, "analyst")
    output = "ana-layer-grids-payload.data"
    cb = app.callback_map[output]
    props = {"start_date": "from", "end_date": "to"}

    def call(**values):
        inputs = []
        for spec in cb["inputs"]:
            prop = spec["property"]
            name = props.get(prop, spec["id"].rsplit("-", 1)[-1])
            value = {"n_intervals": 1, "data": {"level": "grid", "focus": ""}}.get(prop)
            inputs.append({"id": spec["id"], "property": prop, "value": values.get(name, value)})
        body = {
            "output": output,
            "outputs": {"id": "ana-layer-grids-payload", "property": "data"},
            "inputs": inputs,
            "state": [],
            "changedPropIds": ["ana-layer-grids-tick.n_intervals"],
        }
        resp = client.post("/_dash-update-component", json=body)
        assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
        return resp.status_code, resp.get_json() or {}

    def reason(got) -> str:
        return got["sideUpdate"]["ana-layer-grids-error"]["children"]

    base = {"level": "grid", "measure": "closure_rate", "category": "all"}
    status, got = call(**base, window="period", **{"from": "2026-07-31", "to": "2026-07-01"})
    assert "早于" in reason(got)
    assert "ana-layer-grids-payload" not in got.get("response", {})  # the map keeps its data
    for bad, word in (
        ({"category": "0977"}, "事项类别"),
        ({"category": {"x": 1}}, "事项类别"),
        ({"from": "2026-7-1", "window": "period"}, "开始日期"),
        ({"to": ["2026-07-01"], "window": "period"}, "结束日期"),
        ({"window": "period"}, "请选择开始日期和结束日期"),
    ):
        status, got = call(**{**base, "window": "7d", **bad})
        assert word in reason(got), (bad, got)
    status, got = call(**base, window="period", **{"from": "2026-07-01", "to": "2026-07-31"})
    assert status == 200 and reason(got) == ""
    title = got["response"]["ana-layer-grids-payload"]["data"]["legend_title"]
    assert "2026-07-01 至 2026-07-31" in title
