"""The live layers (heat, worker positions, overdue tickets) on the analyst map (/map), in
Debian's chromium against the real server, for the roles that see them differently
(domain.access, layers.base.Access): they render, toggle, and show what the database holds —
the heat only in cells of at least ``heat_min_k`` tickets, overdue tickets as points only for
roles with exact points (never a sensitive category), worker positions as points and their
audited detail only for roles that may read tracks, counts per grid for everyone else.
Needs the three layers in layers/registry.py (LAYER_MODULES)."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta

import pytest

from domain.access import is_sensitive_category
from domain.supervision import STEP_NAMES_ZH
from domain.text import duration_zh
from queries.cache import bump_data_version
from queries.db import connect
from queries.positions import PositionStore, record_positions
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.browser

PREFIX = "ana"  # the analyst map's component ids (dashboard/map/ids.py)
MAP = f"{PREFIX}-map"
# The overdue layer's tickets (queries.overdue_layer): open, not suspended, warning or overdue.
OVERDUE_SQL = """
SELECT t.ticket_no, ST_X(t.geom), ST_Y(t.geom), g.name, t.address, t.description,
       t.category_code
  FROM ticket t JOIN grid g ON g.code = t.grid_code AND g.valid_to IS NULL
 WHERE t.state NOT IN ('closed', 'surveyed', 'rejected') AND t.state <> 'suspended'
   AND t.stage_warn_at <= %(now)s
   AND (t.stage_due_at < %(now)s OR t.stage_warn_at <= %(now)s)
 ORDER BY t.stage_due_at, t.ticket_no
"""
# What a per-grid worker feature may carry: counts, never a staff id, role or age.
WORKER_COUNT_KEYS = {"grid", "count", "online", "off_duty", "stale", "outside", "status", "role_zh"}


@pytest.fixture(scope="module")
def live_data(screen_db):
    """Tickets on each ladder step and 8 workers (2 outside every grid, 2 stale), written
    before the page loads; returns what the tests check against."""
    now = DEMO_NOW  # the server's pinned clock
    store = PositionStore.from_url(screen_db.redis_url, screen_db.database_url)
    with connect(screen_db) as conn:
        ids = conn.execute(
            "SELECT id, created_at FROM ticket WHERE state IN ('in_progress', 'dispatched')"
            " AND stage IS NOT NULL ORDER BY id LIMIT 3"
        ).fetchall()
        h = timedelta(hours=1)
        for (tid, created), (warn, due) in zip(
            ids,
            [(now - h, now + h), (now - 3 * h, now - 2 * h), (now - 9 * h, now - 6 * h)],
            strict=True,
        ):
            conn.execute(
                "UPDATE ticket SET stage_started_at = %s, stage_warn_at = %s, stage_due_at = %s"
                " WHERE id = %s AND created_at = %s",
                (now - 10 * h, warn, due, tid, created),
            )
        conn.commit()
        bump_data_version(conn)
        conn.commit()
        workers = conn.execute(
            "SELECT DISTINCT ON (s.id) s.id, s.role, s.name, a.grid_code, g.name,"
            "  ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom))"
            " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
            " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
            " WHERE s.active AND s.role IN ('fulltime_worker', 'parttime_worker')"
            " ORDER BY s.id, a.grid_code LIMIT 8"
        ).fetchall()
        far = conn.execute(
            "SELECT ST_XMax(e) + 0.02, ST_YMax(e) + 0.02"
            " FROM (SELECT ST_Extent(geom)::geometry AS e FROM grid) x"
        ).fetchone()
        fixes, outside, stale = [], set(), set()
        in_grid: Counter[str] = Counter()
        for i, (sid, _role, _name, _code, grid_name, lon, lat) in enumerate(workers):
            at = now - timedelta(seconds=20)
            if i in (1, 4):
                lon, lat = far  # outside every grid
                outside.add(sid)
            else:
                in_grid[grid_name] += 1  # at a point of its own grid: counted there
            if i in (2, 5):
                at = now - timedelta(minutes=30)
                stale.add(sid)
            fixes.append((sid, at, lon, lat))
        record_positions(conn, fixes, store=store)
    store.client.close()
    return {
        "now": now,
        "workers": {w[0]: w[1] for w in workers},
        "names": {w[0]: w[2] for w in workers},
        "in_grid": in_grid,
        "outside": outside,
        "stale": stale,
    }


class Payloads:
    """The layer payloads the server sent to a page (responses of /_dash-update-component):
    what the browser received, to hold against what it draws and against the database."""

    def __init__(self, page):
        self.page = page
        self.responses: list = []
        page.on(
            "response",
            lambda r: "/_dash-update-component" in r.url and self.responses.append(r),
        )

    def _bodies(self) -> list[tuple[str, dict]]:
        out = []
        for r in self.responses:
            try:
                text = r.text()
            except Exception:  # noqa: BLE001 - a body the browser already dropped
                continue
            if not text.startswith("{"):
                continue  # 204 (no_update)
            out.append((text, json.loads(text)))
        return out

    def texts(self, layer_id: str) -> list[str]:
        """The raw response bodies that carried ``layer_id``'s payload."""
        key = f"{PREFIX}-layer-{layer_id}-payload"
        return [t for t, body in self._bodies() if key in (body.get("response") or {})]

    def latest(self, layer_id: str, meta_test=None, timeout_s: float = 40.0) -> dict:
        """The last payload of ``layer_id`` received ({"data": FeatureCollection, "hideout",
        "legend", "note", ...}, dashboard/map/payload.py) whose ``data.meta`` passes
        ``meta_test`` (default: any), waiting up to ``timeout_s``."""
        key = f"{PREFIX}-layer-{layer_id}-payload"
        deadline = time.monotonic() + timeout_s
        while True:
            got = [
                b["response"][key]["data"]
                for _, b in self._bodies()
                if ((b.get("response") or {}).get(key, {}).get("data") or {}).get("data")
            ]
            got = [g for g in got if meta_test is None or meta_test(g["data"]["meta"])]
            if got:
                return got[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no {layer_id} payload reached the page")
            self.page.wait_for_timeout(250)


def _open_map(page_at, live_server, role: str):
    """/map signed in as ``role``, reloaded with the payload log listening."""
    page, watch = page_at(live_server.url + "/map", role=role)
    payloads = Payloads(page)
    page.reload(wait_until="networkidle")
    page.wait_for_function(f"() => window.gridscope && !!gridscope.mapById('{MAP}')", timeout=40000)
    return page, watch, payloads


def _features(page, prop):
    """Properties of the features on the map that carry ``prop``."""
    return page.evaluate(
        """([id, prop]) => { const out = [];
            gridscope.mapById(id).eachLayer(l => {
              if (l.feature && l.feature.properties && prop in l.feature.properties)
                out.push(Object.assign({_weight: l.options.weight, _fill: l.options.fillColor},
                                       l.feature.properties)); });
            return out; }""",
        [MAP, prop],
    )


def _open_popup(page, match_js: str) -> str:
    """The text of the popup of the feature matching ``match_js`` (a JS expression of ``p``,
    the feature's properties), once it is drawn on its own."""
    handle = page.wait_for_function(
        f"""() => {{ let hit = null; gridscope.mapById('{MAP}').eachLayer(l => {{
            const p = l.feature && l.feature.properties;
            if (p && ({match_js}) && l.getPopup) hit = l; }});
            if (!hit || !hit.getPopup()) {{ return null; }}
            hit.openPopup();
            const el = hit.getPopup().getElement();
            return hit.isPopupOpen() && el ? el.innerText : null; }}""",
        timeout=15000,
    )
    return handle.json_value()


def _heat_sql_total(settings, hours: int, bbox: list[float]) -> int:
    """Tickets of the heat in the last ``hours`` inside ``bbox``: sensitive categories out."""
    with connect(settings) as conn:
        codes = conn.execute(
            "SELECT category_code FROM ticket WHERE created_at > %s - make_interval(hours => %s)"
            " AND created_at <= %s AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
            (DEMO_NOW, hours, DEMO_NOW, *bbox),
        ).fetchall()
    return sum(not is_sensitive_category(c) for (c,) in codes)


def test_heat_draws_only_cells_of_k_tickets_and_toggles(live_server, live_data, page_at):
    # The heat is the same for every role: the analyst's map.
    page, watch, payloads = _open_map(page_at, live_server, "analyst")
    state = f"gridscope.heat.state('{MAP}', 'ana-layer-heat')"
    k = live_server.settings.heat_min_k
    for window, hours in (("24h", 24), ("30d", 30 * 24)):
        if window != "24h":
            page.click(f"#ana-layer-heat-opt-window label:has(input[value='{window}'])")
        meta = payloads.latest("heat", lambda m, w=window: m["window"] == w)["data"]["meta"]
        # What is drawn is what the server sent: the cells that reach k, summing to shown.
        page.wait_for_function(f"n => {state}.total === n", arg=meta["shown"], timeout=20000)
        assert meta["min_k"] == k
        assert meta["total"] == _heat_sql_total(live_server.settings, hours, meta["bbox"])
        assert meta["shown"] == meta["total"] - meta["suppressed"]
        cells = _features(page, "weight")
        assert page.evaluate(state)["points"] == len(cells)
        assert sum(c["weight"] for c in cells) == meta["shown"]
        assert all(c["weight"] >= k for c in cells)
        note = page.inner_text("#ana-layer-heat-legend")
        assert f"上报 {meta['total']:,} 件" in note
        if meta["suppressed"]:
            assert f"{meta['suppressed']:,} 件所在区域不足 {k} 件，未显示" in note
    # A month of the demo town fills cells of k at the map's zoom: something is drawn.
    assert meta["shown"] > 0 and len(cells) > 0
    page.wait_for_function(f"() => {state}.onMap", timeout=10000)
    assert page.evaluate("document.querySelectorAll('canvas.leaflet-heatmap-layer').length") == 1
    page.click("#ana-layer-heat-on input")
    page.wait_for_function(f"() => !{state}.onMap", timeout=10000)
    page.click("#ana-layer-heat-on input")
    page.wait_for_function(f"() => {state}.onMap", timeout=10000)
    assert watch.external() == [] and watch.page_errors == []


def test_overdue_points_clusters_and_popup(live_server, live_data, page_at):
    # A dispatcher has exact points: each ticket a point, but a sensitive category a count.
    page, watch, payloads = _open_map(page_at, live_server, "dispatcher")
    page.wait_for_function(
        f"() => document.querySelector('.gs-ocl') || (() => {{ let n = 0;"
        f" gridscope.mapById('{MAP}').eachLayer(l => {{ if (l.feature && l.feature.properties"
        f" && l.feature.properties.no) n++; }}); return n > 0; }})()",
        timeout=40000,
    )
    with connect(live_server.settings) as conn:
        rows = conn.execute(OVERDUE_SQL, {"now": DEMO_NOW}).fetchall()
    points = [r for r in rows if not is_sensitive_category(r[6])]
    sensitive = [r for r in rows if is_sensitive_category(r[6])]
    assert points
    fc = payloads.latest("overdue")["data"]
    sent = {f["properties"]["no"] for f in fc["features"] if "no" in f["properties"]}
    assert sent == {r[0] for r in points}
    counted = [f["properties"] for f in fc["features"] if "count" in f["properties"]]
    assert all(p["sensitive"] for p in counted)
    assert Counter({p["grid"]: p["count"] for p in counted}) == Counter(r[3] for r in sensitive)
    for text in payloads.texts("overdue"):
        assert not any(r[0] in text for r in sensitive), "a sensitive ticket's number was sent"
    # zoom onto each ticket so that it is drawn on its own, then read its popup
    for no, lon, lat, grid, address, description, _cat in points[:3]:
        page.evaluate(
            f"void gridscope.mapById('{MAP}').setView([{lat}, {lon}], 18, {{animate: false}})"
        )
        text = _open_popup(page, f"p.no === '{no}'")
        assert no in text and grid in text
        feature = next(f for f in _features(page, "no") if f["no"] == no)
        late = feature["overdue_s"]
        # the step name and duration are derived in the browser from step and overdue_s
        assert STEP_NAMES_ZH[feature["step"]] in text
        assert (f"超期 {duration_zh(late)}" if late > 0 else f"剩余 {duration_zh(-late)}") in text
        for leak in (address, description):
            assert not leak or leak not in text
        page.evaluate(f"void gridscope.mapById('{MAP}').closePopup()")
    steps = {f["step"] for f in _features(page, "no")}
    assert steps <= {1, 2, 3}
    for seconds in (0, 59, 60, 3600, 3 * 3600 + 12 * 60, 86400, 2 * 86400 + 3 * 3600 + 5):
        assert page.evaluate(f"gridscope.overdue.durationZh({seconds})") == duration_zh(seconds)
    assert watch.page_errors == []


def test_an_analyst_sees_overdue_tickets_as_counts_per_grid(live_server, live_data, page_at):
    page, watch, payloads = _open_map(page_at, live_server, "analyst")
    with connect(live_server.settings) as conn:
        rows = conn.execute(OVERDUE_SQL, {"now": DEMO_NOW}).fetchall()
    assert rows
    fc = payloads.latest("overdue")["data"]
    props = [f["properties"] for f in fc["features"]]
    # One feature per grid with its count: no ticket number, category, stage or lead.
    assert props and all("count" in p and "no" not in p and "category" not in p for p in props)
    assert Counter({p["grid"]: p["count"] for p in props}) == Counter(r[3] for r in rows)
    assert fc["meta"]["count"] == 0 and fc["meta"]["counted"] == len(rows)
    for text in payloads.texts("overdue"):
        assert not any(r[0] in text for r in rows), "a ticket number reached the analyst"
    # The badge of a grid, drawn on its own, shows its count; its popup names the grid.
    grid, n = Counter(r[3] for r in rows).most_common(1)[0]
    anchor = next(
        f["geometry"]["coordinates"] for f in fc["features"] if f["properties"]["grid"] == grid
    )
    page.evaluate(
        f"void gridscope.mapById('{MAP}').setView([{anchor[1]}, {anchor[0]}], 18,"
        " {animate: false})"
    )
    text = _open_popup(page, f"p.by_step && p.grid === '{grid}' && p.count === {n}")
    assert grid in text and "按网格汇总" in text and f"{n} 件" in text
    assert not any(r[0] in text for r in rows)
    assert "按网格汇总" in page.inner_text("#ana-layer-overdue-legend")
    assert watch.page_errors == []


def test_worker_markers_colour_stale_and_outside(live_server, live_data, page_at):
    # A dispatcher may read tracks: one point per worker.
    page, watch, _ = _open_map(page_at, live_server, "dispatcher")
    page.wait_for_function(
        f"""() => {{ let n = 0; gridscope.mapById('{MAP}').eachLayer(l => {{
            if (l.feature && l.feature.properties && l.feature.properties.role) n++; }});
            return n >= {len(live_data["workers"])}; }}""",
        timeout=40000,
    )
    feats = {f["id"]: f for f in _features(page, "role")}
    assert set(feats) == set(live_data["workers"])
    for sid, role in live_data["workers"].items():
        f = feats[sid]
        assert f["role"] == role
        assert f["outside"] == (sid in live_data["outside"])
        assert (f["_weight"] == 3) == (sid in live_data["outside"])
        stale = sid in live_data["stale"]
        assert f["status"] == ("stale" if stale else "online")
        assert (f["_fill"] == "#6b7a8f") == stale
        assert "name" not in f and "phone" not in f
    assert watch.page_errors == []


def test_a_dispatcher_opens_a_worker_detail_and_it_is_audited(live_server, live_data, page_at):
    sid = next(
        s
        for s in live_data["workers"]
        if s not in live_data["outside"] and s not in live_data["stale"]
    )
    page, watch, _ = _open_map(page_at, live_server, "dispatcher")
    page.wait_for_function(
        f"""id => {{ let hit = false; gridscope.mapById('{MAP}').eachLayer(l => {{
            if (l.feature && l.feature.properties && l.feature.properties.id === id)
              hit = true; }}); return hit; }}""",
        arg=sid,
        timeout=40000,
    )
    # Centre the map on the marker (as drawn, in the basemap's datum) and click it.
    x, y = page.evaluate(
        """([mapId, id]) => { const m = gridscope.mapById(mapId); let at = null;
            m.eachLayer(l => { if (l.getLatLng && l.feature && l.feature.properties
                                   && l.feature.properties.id === id) at = l.getLatLng(); });
            m.setView(at, 18, {animate: false});
            const r = m.getContainer().getBoundingClientRect();
            const q = m.latLngToContainerPoint(at); return [r.left + q.x, r.top + q.y]; }""",
        [MAP, sid],
    )
    # The zoom change refetches the layers (the grid level follows the zoom) and the canvas
    # redraws when their payloads land: let that settle, and click again if the first click
    # met a canvas still redrawing (it then hits nothing, or the grid under the marker).
    page.wait_for_load_state("networkidle")
    for _attempt in range(3):
        page.mouse.click(x, y)
        try:
            page.wait_for_selector(".gs-pop-worker", timeout=5000)
            break
        except Exception:
            page.wait_for_load_state("networkidle")
    page.wait_for_selector(".gs-pop-worker", timeout=15000)
    text = page.inner_text(".gs-pop-worker")
    assert live_data["names"][sid] in text  # L4 role: the name whole
    assert "今日轨迹点" in text
    with connect(live_server.settings) as conn:
        audited = conn.execute(
            "SELECT actor_name, role, object, count FROM audit_event"
            " WHERE action = 'track_read' AND object_ids = %s",
            ([str(sid)],),
        ).fetchall()
    assert (live_server.users["dispatcher"], "dispatcher", "worker") in [a[:3] for a in audited]
    assert watch.page_errors == []


def test_an_analyst_sees_workers_as_counts_per_grid(live_server, live_data, page_at):
    page, watch, payloads = _open_map(page_at, live_server, "analyst")
    fc = payloads.latest("workers")["data"]
    props = [f["properties"] for f in fc["features"]]
    assert props and all(set(p) <= WORKER_COUNT_KEYS for p in props)
    assert all("id" not in f for f in fc["features"])
    # Workers inside a grid are counted there; the two outside every grid are not drawn.
    assert Counter({p["grid"]: p["count"] for p in props}) == live_data["in_grid"]
    assert fc["meta"]["per_grid"] and fc["meta"]["elsewhere"] == len(live_data["outside"])
    assert sum(p["stale"] for p in props) == len(live_data["stale"])
    # Drawn on the map as one marker per grid with its counts (however the marker looks),
    # and nothing that leads to a person: no role, no staff id behind a marker.
    page.wait_for_function(
        """([id, n]) => { let k = 0; gridscope.mapById(id).eachLayer(l => {
            if (l.feature && l.feature.properties && l.feature.properties.online != null) k++; });
            return k === n; }""",
        arg=[MAP, len(props)],
        timeout=20000,
    )
    on_map = _features(page, "online")
    assert sorted((f["grid"], f["count"]) for f in on_map) == sorted(
        (p["grid"], p["count"]) for p in props
    )
    assert _features(page, "role") == []
    assert watch.page_errors == []
