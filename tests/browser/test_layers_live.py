"""The live layers (heat, worker positions, overdue tickets) on the analyst map (/map), in
Debian's chromium against the real server: they render, toggle, and show what the database
holds. Needs the three layers in layers/registry.py (LAYER_MODULES)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.supervision import STEP_NAMES_ZH
from domain.text import duration_zh
from queries.cache import bump_data_version
from queries.db import connect
from queries.positions import PositionStore, record_positions
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.browser

MAP = "ana-map"


@pytest.fixture(scope="module")
def live_data(screen_db):
    """Tickets on each ladder step and 8 workers (2 outside their grid, 2 stale), written
    before the page loads; returns what the test checks against."""
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
            "SELECT DISTINCT ON (s.id) s.id, s.role, ST_X(ST_PointOnSurface(g.geom)),"
            "  ST_Y(ST_PointOnSurface(g.geom))"
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
        for i, (sid, _role, lon, lat) in enumerate(workers):
            at = now - timedelta(seconds=20)
            if i in (1, 4):
                lon, lat = far  # outside every grid
                outside.add(sid)
            if i in (2, 5):
                at = now - timedelta(minutes=30)
                stale.add(sid)
            fixes.append((sid, at, lon, lat))
        record_positions(conn, fixes, store=store)
        heat_24h = conn.execute(
            "SELECT count(*) FROM ticket WHERE created_at > %s - interval '24 hours'"
            " AND created_at <= %s",
            (now, now),
        ).fetchone()[0]
    store.client.close()
    return {
        "now": now,
        "workers": {w[0]: w[1] for w in workers},
        "outside": outside,
        "stale": stale,
        "heat_24h": heat_24h,
    }


def _open_map(page_at, live_server):
    page, watch = page_at(live_server.url + "/map")
    page.wait_for_function(f"window.gridscope && !!gridscope.mapById('{MAP}')", timeout=40000)
    return page, watch


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


def test_heat_renders_from_the_database_and_toggles(live_server, live_data, page_at):
    page, watch = _open_map(page_at, live_server)
    state = f"gridscope.heat.state('{MAP}', 'ana-layer-heat')"
    page.wait_for_function(f"{state} && {state}.onMap", timeout=40000)
    got = page.evaluate(state)
    assert got["points"] > 0
    assert got["total"] == live_data["heat_24h"]
    assert page.evaluate("document.querySelectorAll('canvas.leaflet-heatmap-layer').length") == 1
    page.click("#ana-layer-heat-on input")
    page.wait_for_function(f"!{state}.onMap", timeout=10000)
    page.click("#ana-layer-heat-on input")
    page.wait_for_function(f"{state}.onMap", timeout=10000)
    assert watch.external() == [] and watch.page_errors == []


def test_overdue_points_clusters_and_popup(live_server, live_data, page_at):
    page, watch = _open_map(page_at, live_server)
    page.wait_for_function(
        f"document.querySelector('.gs-ocl') || (() => {{ let n = 0;"
        f" gridscope.mapById('{MAP}').eachLayer(l => {{ if (l.feature && l.feature.properties"
        f" && l.feature.properties.no) n++; }}); return n > 0; }})()",
        timeout=40000,
    )
    # zoom onto each ticket so that it is drawn on its own, then read its popup
    with connect(live_server.settings) as conn:
        rows = conn.execute(
            "SELECT t.ticket_no, ST_X(t.geom), ST_Y(t.geom), g.name, t.address, t.description"
            " FROM ticket t JOIN grid g ON g.code = t.grid_code AND g.valid_to IS NULL"
            " WHERE t.state NOT IN ('closed', 'surveyed', 'rejected') AND t.state <> 'suspended'"
            "   AND (t.stage_due_at < %(now)s OR t.stage_warn_at <= %(now)s)"
            " ORDER BY t.stage_due_at LIMIT 3",
            {"now": DEMO_NOW},
        ).fetchall()
    assert rows
    for no, lon, lat, grid, address, description in rows:
        page.evaluate(
            f"void gridscope.mapById('{MAP}').setView([{lat}, {lon}], 18, {{animate: false}})"
        )
        handle = page.wait_for_function(
            f"""(() => {{ let hit = null; gridscope.mapById('{MAP}').eachLayer(l => {{
                if (l.feature && l.feature.properties && l.feature.properties.no === '{no}')
                  hit = l; }});
                if (!hit) {{ return null; }}
                hit.openPopup();
                const el = hit.getPopup().getElement();
                return hit.isPopupOpen() && el ? el.innerText : null; }})()""",
            timeout=15000,
        )
        text = handle.json_value()
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


def test_worker_markers_colour_stale_and_outside(live_server, live_data, page_at):
    page, watch = _open_map(page_at, live_server)
    page.wait_for_function(
        f"""(() => {{ let n = 0; gridscope.mapById('{MAP}').eachLayer(l => {{
            if (l.feature && l.feature.properties && l.feature.properties.role) n++; }});
            return n >= {len(live_data["workers"])}; }})()""",
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
