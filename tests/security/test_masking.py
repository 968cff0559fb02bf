"""Personal data on the map by the viewer's role, decided on the server (issue #9, item 5):
the grid card masks staff names and phones below L3 and audits unmasked reads; a worker's
detail (L4) is refused without read_tracks and audited when served; worker positions, overdue
points and sensitive categories are counts per grid where the role says so; heat cells hold at
least k tickets and sit on no ticket; cached payloads never cross roles or scopes; forged
click data never reaches a 500. Against the real PostGIS and Redis, through the real sign-in
and /_dash-update-component, or the callbacks' plain functions under a bound viewer."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app import create_app
from dashboard.map import callbacks as map_cb
from dashboard.map.profiles import PROFILES
from domain.access import Role
from queries import heat as qh
from queries import services
from queries.db import connect
from queries.scope import Scope
from queries.viewer import Viewer
from tests.access import signed_in
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

CALLBACK = "/_dash-update-component"
SENSITIVE_SQL = "(t.category_code LIKE '0702%%' OR t.category_code LIKE '05%%')"
FORGED_CLICKS = (
    "x",
    5,
    [],
    None,
    True,
    {"properties": "x"},
    {"properties": [1]},
    {"properties": {"code": 5, "id": [1]}},
    {"properties": {"code": "a b;--"}},
    {"properties": {"id": {"x": 1}}},
    {"properties": {"id": "9" * 5000}},
)


@pytest.fixture
def app(demo_db, redis_client):
    return create_app(demo_db)


def viewer(role: str, prefix: str = "", ident: int = 1) -> Viewer:
    return Viewer(
        "user", ident, f"{role}-{ident}", Role(role), Scope(prefix), client_addr="10.1.2.3"
    )


def _dep(ident: str, prop: str, value=None) -> dict:
    return {"id": ident, "property": prop, "value": value}


def card_body(p: str, code_or_click) -> dict:
    click = (
        code_or_click
        if not isinstance(code_or_click, str)
        else {"properties": {"code": code_or_click}}
    )
    return {
        "output": f"..{p}-card-body.children...{p}-card.hidden..",
        "outputs": [
            {"id": f"{p}-card-body", "property": "children"},
            {"id": f"{p}-card", "property": "hidden"},
        ],
        "inputs": [_dep(f"{p}-layer-grids", "n_clicks", 1), _dep(f"{p}-card-close", "n_clicks")],
        "state": [_dep(f"{p}-layer-grids", "clickData", click)],
        "changedPropIds": [f"{p}-layer-grids.n_clicks"],
    }


def detail_body(click) -> dict:
    return {
        "output": "ana-layer-workers-detail.data",
        "outputs": {"id": "ana-layer-workers-detail", "property": "data"},
        "inputs": [_dep("ana-layer-workers", "n_clicks", 1)],
        "state": [_dep("ana-layer-workers", "clickData", click)],
        "changedPropIds": ["ana-layer-workers.n_clicks"],
    }


# A date range holds two options of a layer (dashboard/map/controls.py option_input).
DATE_ENDS = {"start_date": "from", "end_date": "to"}


def layer_body(app, p: str, layer: str, options: dict, view) -> dict:
    """The fetch callback's body with ``options`` for the inputs they name (the others None:
    not given) and ``view``, in the callback's own input order."""
    output = f"{p}-layer-{layer}-payload.data"
    assert output in app.callback_map
    inputs = []
    for spec in app.callback_map[output]["inputs"]:
        prop = spec["property"]
        name = DATE_ENDS.get(prop, spec["id"].rsplit("-opt-", 1)[-1])
        value = {"n_intervals": 1, "data": view}.get(prop, options.get(name))
        inputs.append(_dep(spec["id"], prop, value))
    return {
        "output": output,
        "outputs": {"id": f"{p}-layer-{layer}-payload", "property": "data"},
        "inputs": inputs,
        "state": [],
        "changedPropIds": [f"{p}-layer-{layer}-tick.n_intervals"],
    }


def _grid_with_staff(conn) -> tuple[str, list[tuple[str, str]]]:
    code = conn.execute(
        "SELECT a.grid_code FROM staff_assignment a JOIN staff s ON s.id = a.staff_id"
        " WHERE a.valid_to IS NULL AND a.role = 'grid_chief' AND s.active"
        "   AND length(s.name) >= 2 AND length(s.phone) = 11"
        " ORDER BY a.grid_code LIMIT 1"
    ).fetchone()[0]
    staff = conn.execute(
        "SELECT s.name, s.phone FROM staff_assignment a JOIN staff s ON s.id = a.staff_id"
        " WHERE a.grid_code = %s AND a.valid_to IS NULL AND s.active AND a.role IN"
        " ('grid_chief', 'fulltime_worker', 'parttime_worker', 'grid_instructor')",
        (code,),
    ).fetchall()
    return code, staff


def _audit(conn, action: str) -> list[tuple]:
    return conn.execute(
        "SELECT actor_name, role, object, object_ids, tier FROM audit_event WHERE action = %s"
        " ORDER BY id",
        (action,),
    ).fetchall()


# --------------------------------------------------------------------------------------------
# The grid card
# --------------------------------------------------------------------------------------------


def test_card_is_masked_for_analyst_and_wall_and_whole_for_leader_and_admin(app, demo_db):
    with connect(demo_db) as conn:
        code, staff = _grid_with_staff(conn)
    for role, prefix in (("analyst", "ana"), ("wall", "scr"), ("leader", "ana"), ("admin", "ana")):
        client = signed_in(app, demo_db, role)
        resp = client.post(CALLBACK, json=card_body(prefix, code))
        assert resp.status_code == 200, (role, resp.get_data(as_text=True)[:300])
        text = json.dumps(resp.get_json(), ensure_ascii=False)
        whole = role in ("leader", "admin")
        for name, phone in staff:
            masked_phone = f"{phone[:3]}****{phone[-4:]}"
            assert (name in text) == whole, role
            assert (phone in text) == whole, role
            assert (masked_phone in text) != whole, role
            assert (name[0] + "*" * (len(name) - 1) in text) != whole, role
        assert ("已脱敏" in text) != whole, role
        assert "tel:" not in text or whole, role  # a masked number is not a link
    with connect(demo_db) as conn:
        reads = _audit(conn, "card_read")
    # only the unmasked reads are audited, with the grid and the data's tier (L3)
    assert [(r[1], r[2], r[3], r[4]) for r in reads] == [
        ("leader", "grid", [code], 3),
        ("admin", "grid", [code], 3),
    ]


def test_card_outside_the_scope_or_forged_shows_nothing(app, demo_db):
    with connect(demo_db) as conn:
        code, _ = _grid_with_staff(conn)
        other = conn.execute(
            "SELECT code FROM region WHERE level = 'community' AND valid_to IS NULL"
            " AND %s NOT LIKE code || '%%' ORDER BY code LIMIT 1",
            (code,),
        ).fetchone()[0]
    with app.server.test_request_context():
        services.bind(viewer("admin", other))
        assert map_cb.card_now({"properties": {"code": code}}) == ([], True)
        services.bind(viewer("admin"))
        for forged in FORGED_CLICKS:
            assert map_cb.card_now(forged) == ([], True), forged
    client = signed_in(app, demo_db, "analyst")
    for forged in FORGED_CLICKS:
        resp = client.post(CALLBACK, json=card_body("ana", forged))
        assert resp.status_code == 200, forged
        assert resp.get_json()["response"]["ana-card"]["hidden"] is True
    with connect(demo_db) as conn:
        assert _audit(conn, "card_read") == []


# --------------------------------------------------------------------------------------------
# Worker detail (L4)
# --------------------------------------------------------------------------------------------


def _a_worker(conn) -> int:
    return conn.execute(
        "SELECT s.id FROM staff s JOIN staff_assignment a ON a.staff_id = s.id"
        " AND a.valid_to IS NULL WHERE s.active AND s.role = 'grid_chief' ORDER BY s.id LIMIT 1"
    ).fetchone()[0]


def test_worker_detail_refused_without_read_tracks_served_and_audited_with(app, demo_db):
    with connect(demo_db) as conn:
        sid = _a_worker(conn)
        name = conn.execute("SELECT name FROM staff WHERE id = %s", (sid,)).fetchone()[0]
    click = {"properties": {"id": sid}}
    for role in ("analyst", "leader"):
        resp = signed_in(app, demo_db, role).post(CALLBACK, json=detail_body(click))
        assert resp.status_code == 200
        assert resp.get_json()["response"]["ana-layer-workers-detail"]["data"] is None
    # the wall cannot reach the analyst map's callback at all, nor the detail by function
    wall = signed_in(app, demo_db, "wall")
    assert wall.post(CALLBACK, json=detail_body(click)).status_code == 403
    with app.server.test_request_context():
        services.bind(viewer("wall"))
        for profile in PROFILES.values():
            assert map_cb.detail_now("workers", profile, click) is None
    with connect(demo_db) as conn:
        assert _audit(conn, "track_read") == []
    for role in ("dispatcher", "admin"):
        resp = signed_in(app, demo_db, role).post(CALLBACK, json=detail_body(click))
        got = resp.get_json()["response"]["ana-layer-workers-detail"]["data"]
        assert got["id"] == sid and got["name"] == name, role
    with connect(demo_db) as conn:
        rows = _audit(conn, "track_read")
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("dispatcher", "worker", [str(sid)], 4),
        ("admin", "worker", [str(sid)], 4),
    ]


def test_worker_detail_out_of_scope_or_forged_is_none(app, demo_db):
    with connect(demo_db) as conn:
        sid = _a_worker(conn)
    with app.server.test_request_context():
        services.bind(viewer("dispatcher", "330402999"))
        assert (
            map_cb.detail_now("workers", PROFILES["analyst"], {"properties": {"id": sid}}) is None
        )
        services.bind(viewer("admin"))
        for forged in FORGED_CLICKS:
            assert map_cb.detail_now("workers", PROFILES["analyst"], forged) is None, forged
    client = signed_in(app, demo_db, "dispatcher")
    for forged in FORGED_CLICKS:
        resp = client.post(CALLBACK, json=detail_body(forged))
        assert resp.status_code == 200, forged
        assert resp.get_json()["response"]["ana-layer-workers-detail"]["data"] is None
    with connect(demo_db) as conn:
        assert _audit(conn, "track_read") == []


def test_worker_positions_are_counts_per_grid_without_read_tracks(app, demo_db):
    from queries.positions import PositionStore, record_positions

    store = PositionStore.from_url(demo_db.redis_url, demo_db.database_url)
    store.clear()
    try:
        with connect(demo_db) as conn:
            ws = conn.execute(
                "SELECT DISTINCT ON (s.id) s.id, ST_X(g.anchor), ST_Y(g.anchor) FROM staff s"
                " JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
                " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
                " WHERE s.active AND s.role = 'fulltime_worker' ORDER BY s.id LIMIT 6"
            ).fetchall()
            fixes = [(sid, DEMO_NOW - timedelta(seconds=30), x + 1e-4, y) for sid, x, y in ws]
            record_positions(conn, fixes, store=store)
        with app.server.test_request_context():
            for role in ("wall", "leader", "analyst", "dispatcher", "admin"):
                services.bind(viewer(role))
                fc = map_cb.fetch_now("workers", {}, {})["data"]
                ids = {f["properties"].get("id") for f in fc["features"]}
                if role in ("dispatcher", "admin"):
                    assert ids == {w[0] for w in ws}, role
                    continue
                assert ids == {None}, role
                assert sum(f["properties"]["count"] for f in fc["features"]) == len(ws)
                anchors = {(round(x, 6), round(y, 6)) for _, x, y in ws}  # wgs84 basemap
                for f in fc["features"]:  # at a grid's anchor, not at anyone's fix
                    assert tuple(f["geometry"]["coordinates"]) in anchors, role
    finally:
        store.clear()


# --------------------------------------------------------------------------------------------
# Heat: k-anonymity, no pinned point, no sensitive category
# --------------------------------------------------------------------------------------------


def _in_square(conn, start, x0, y0, size) -> int:
    return conn.execute(
        "SELECT count(*) FROM ticket t WHERE t.created_at > %s AND t.created_at <= %s"
        f" AND NOT {SENSITIVE_SQL}"
        " AND ST_X(t.geom) >= %s AND ST_X(t.geom) < %s AND ST_Y(t.geom) >= %s"
        " AND ST_Y(t.geom) < %s",
        (start, DEMO_NOW, x0, x0 + size, y0, y0 + size),
    ).fetchone()[0]


@pytest.mark.parametrize("zoom", [13, 15, 17])
def test_heat_cells_hold_at_least_k_tickets_and_sit_on_no_ticket(demo_db, zoom):
    start = DEMO_NOW - qh.WINDOWS["30d"]
    k = demo_db.heat_min_k
    with connect(demo_db) as conn:
        fc = qh.heat_payload(
            conn, Scope(""), DEMO_NOW, window="30d", viewport=qh.Viewport(zoom), min_k=k
        )
        m = fc["meta"]
        total = conn.execute(
            "SELECT count(*) FROM ticket t WHERE t.created_at > %s AND t.created_at <= %s"
            f" AND NOT {SENSITIVE_SQL}",
            (start, DEMO_NOW),
        ).fetchone()[0]
        sensitive = conn.execute(
            f"SELECT count(*) FROM ticket t WHERE t.created_at > %s AND t.created_at <= %s"
            f" AND {SENSITIVE_SQL}",
            (start, DEMO_NOW),
        ).fetchone()[0]
        assert sensitive > 0  # the window holds sensitive tickets, and they are left out
        assert m["total"] == total and m["shown"] + m["suppressed"] == total
        assert fc["features"]
        for f in fc["features"]:
            x, y = f["geometry"]["coordinates"]
            w = f["properties"]["weight"]
            assert w >= k
            # the point is the centre of a cell (the cell, or one merged 2^i wider) and that
            # square holds at least the weight's tickets: no point is a ticket's mean position
            for i in range(qh.K_MERGE_LEVELS + 1):
                size = m["cell_deg"] * 2**i
                cx, cy = round(x / size - 0.5), round(y / size - 0.5)
                # Coordinates are rounded to 6 decimals (≤ 5e-7°): compare in degrees (in cell
                # units the rounding reaches 1.1e-3 of a zoom-15 cell).
                if abs(x - (cx + 0.5) * size) <= 1e-6 and abs(y - (cy + 0.5) * size) <= 1e-6:
                    x0, y0 = cx * size, cy * size
                    assert _in_square(conn, start, x0, y0, size) >= w
                    break
            else:
                pytest.fail(f"heat point {x, y} is not a cell centre")


def test_heat_bbox_is_snapped_to_tiles_before_the_cache_key(app, demo_db, redis_client):
    with app.server.test_request_context():
        services.bind(viewer("analyst"))
        ns = services.current().cache.namespace
        base = (120.735, 30.745, 120.765, 30.765)
        for i in range(20):  # jittered views inside the same tiles
            d = i * 1e-5
            bbox = ",".join(f"{v + d:.6f}" for v in base)
            payload = map_cb.fetch_now("heat", {"window": "30d"}, {"zoom": "15", "bbox": bbox})
            assert payload["options"]["bbox"] != bbox
        keys = list(redis_client.scan_iter(f"*{ns}:layer-heat:*"))
        assert len(keys) == 1
        ttl = redis_client.ttl(keys[0])
        assert 0 < ttl <= max(60, 2 * demo_db.refresh_counters_s)


# --------------------------------------------------------------------------------------------
# Overdue tickets: points only with exact_points, sensitive categories never as points
# --------------------------------------------------------------------------------------------


def _sensitive_overdue(conn) -> list[str]:
    """Make two open tickets of sensitive categories overdue; their ticket numbers."""
    rows = conn.execute(
        "SELECT t.id, t.created_at, t.ticket_no FROM ticket t WHERE t.state IN"
        " ('in_progress', 'dispatched') AND t.stage IS NOT NULL AND"
        f" {SENSITIVE_SQL} ORDER BY t.id LIMIT 2"
    ).fetchall()
    assert len(rows) == 2
    h = timedelta(hours=1)
    for tid, created, _ in rows:
        conn.execute(
            "UPDATE ticket SET stage_started_at = %s, stage_warn_at = %s, stage_due_at = %s"
            " WHERE id = %s AND created_at = %s",
            (DEMO_NOW - 10 * h, DEMO_NOW - 3 * h, DEMO_NOW - 2 * h, tid, created),
        )
    conn.commit()
    return [r[2] for r in rows]


def test_overdue_points_only_with_exact_points_and_never_sensitive(app, demo_db):
    with connect(demo_db) as conn:
        secret = set(_sensitive_overdue(conn))
        expected = conn.execute(
            "SELECT count(*) FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected')"
            " AND state <> 'suspended'"
            " AND (stage_due_at < %s OR (stage_warn_at <= %s AND stage_due_at > %s))",
            (DEMO_NOW, DEMO_NOW, DEMO_NOW),
        ).fetchone()[0]
    with app.server.test_request_context():
        for role in ("wall", "analyst", "leader", "dispatcher", "admin"):
            services.bind(viewer(role))
            fc = map_cb.fetch_now("overdue", {}, {})["data"]
            points = [f["properties"]["no"] for f in fc["features"] if "no" in f["properties"]]
            grids = [f["properties"] for f in fc["features"] if "count" in f["properties"]]
            exact = role in ("leader", "dispatcher", "admin")
            assert bool(points) == exact, role
            assert not secret & set(points), role
            assert fc["meta"]["total"] == expected == len(points) + sum(g["count"] for g in grids)
            if exact:  # the sensitive ones are there, as counts of their grids
                assert all(g["sensitive"] for g in grids) and sum(g["count"] for g in grids) >= len(
                    secret
                )
            text = json.dumps(fc, ensure_ascii=False)
            assert not any(no in text for no in secret), role


# --------------------------------------------------------------------------------------------
# The cache never crosses roles or scopes; mounts and forged inputs
# --------------------------------------------------------------------------------------------


def test_payloads_are_cached_per_role_and_per_scope(app, demo_db, redis_client):
    with connect(demo_db) as conn:
        _sensitive_overdue(conn)
        # Two communities whose overdue layers differ for an analyst: the first by code, and
        # the one with the most overdue or warned tickets (not sensitive) among those with
        # another count than the first's.
        counts = dict(
            conn.execute(
                "SELECT r.code, count(t.id) FROM region r"
                " LEFT JOIN grid g ON g.community_code = r.code AND g.valid_to IS NULL"
                " LEFT JOIN ticket t ON t.grid_code = g.code"
                "  AND t.state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')"
                "  AND (t.stage_due_at < %(now)s OR t.stage_warn_at <= %(now)s)"
                f" AND NOT {SENSITIVE_SQL}"
                " WHERE r.level = 'community' AND r.valid_to IS NULL GROUP BY r.code",
                {"now": DEMO_NOW},
            ).fetchall()
        )
        a = min(counts)
        b = max((c for c in counts if counts[c] != counts[a]), key=lambda c: (counts[c], c))
    with app.server.test_request_context():
        ns = services.current().cache.namespace

        def keys():
            return {k.decode() for k in redis_client.scan_iter(f"*{ns}:layer-overdue:*")}

        services.bind(viewer("analyst", a))
        first = map_cb.fetch_now("overdue", {}, {})
        after_analyst = keys()
        services.bind(viewer("admin", a))
        second = map_cb.fetch_now("overdue", {}, {})
        after_admin = keys()
        assert first != second
        assert not any("no" in f["properties"] for f in first["data"]["features"])
        assert len(after_analyst) == 1 and len(after_admin - after_analyst) == 1
        # the analyst again: its own entry, not the admin's
        services.bind(viewer("analyst", a, ident=2))
        assert map_cb.fetch_now("overdue", {}, {}) == first
        assert keys() == after_admin
        # another scope, same role: its own key, with its own prefix, its own data
        services.bind(viewer("analyst", b))
        other = map_cb.fetch_now("overdue", {}, {})
        new = keys() - after_admin
        assert len(new) == 1 and f":{b}:" in new.pop()
        assert all(f":{a}:" in k for k in after_admin)
        assert other["data"]["meta"]["total"] != first["data"]["meta"]["total"] or (
            other["data"]["features"] != first["data"]["features"]
        )


class _NoMount:
    """A viewer whose role mounts no layer (no role of POLICY lacks one today)."""

    scope = Scope("")
    tier = 4

    def may_mount(self, _layer_id: str) -> bool:
        return False

    def may(self, _action) -> bool:
        return True


def test_layers_not_mountable_answer_nothing(app, demo_db):
    from dash import no_update

    with app.server.test_request_context():
        services.bind(_NoMount())  # type: ignore[arg-type]
        for layer in ("grids", "heat", "overdue", "workers"):
            assert map_cb.fetch_now(layer, {}, {}) is no_update
        assert map_cb.detail_now("workers", PROFILES["analyst"], {"properties": {"id": 1}}) is None
        assert map_cb.card_now({"properties": {"code": "330402007"}}) == ([], True)


@pytest.mark.parametrize(
    "view",
    [
        5,
        "x",
        [1, 2],
        None,
        {"zoom": [1], "bbox": {"a": 1}},
        {"bbox": "1e308,1,2,3"},
        {"focus": "../.."},
    ],
)
def test_forged_view_and_options_never_500(app, demo_db, view, caplog):
    client = signed_in(app, demo_db, "analyst")
    for layer, options in (
        ("heat", {"window": ["24h"], "category": {"x": 1}, "urgency": 7}),
        ("overdue", {"category": None, "min_step": [1]}),
        ("workers", {"role": {"r": 1}}),
        ("grids", {"level": 5, "measure": "x", "window": None}),
    ):
        resp = client.post(CALLBACK, json=layer_body(app, "ana", layer, options, view))
        assert resp.status_code == 200, (layer, view, resp.get_data(as_text=True)[:300])
        data = resp.get_json()["response"][f"ana-layer-{layer}-payload"]["data"]
        assert data["options"], layer  # parsed to the defaults, not refused by an exception
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
