"""Boundary adjustments as decisions (ZJ 10, AR 11) against real PostGIS + Redis: changing a
current grid needs the decision number, which every new version keeps; the boundary history
lists the decisions; the map as of a date draws the versions in force then (before and after an
adjustment), through the geometry function, the HTTP route and the layer payload; and tickets
keep the grid they were filed in when the boundaries move."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import geobuf
import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from click.testing import CliRunner
from dash import html

from app import create_app
from dashboard.map import PROFILES, map_component
from dashboard.map.payload import layer_payload
from domain.clock.now import FixedClock
from gridscope.cli import main as cli
from layers.grid_geometry import level_geometry
from layers.registry import get
from queries.cache import Cache
from queries.db import connect, make_pool
from queries.scope import Scope
from queries.services import Services
from tests.access import signed_in
from tests.conftest import DEMO_NOW

COMMUNITY = "330402001001"
STEP = 0.004
X0, Y0 = 120.75, 30.75
G1, G2, G3 = (f"{COMMUNITY}{n:03d}" for n in (1, 2, 3))
DECISION = "南湖网格〔2026〕3号"
# Before the adjustment grid 1 is cell 0 and grid 2 cell 1; from 2026-07-01 (Shanghai) grid 1
# keeps the west half of cell 0, grid 2 takes the east half, and grid 3 (cell 2) is new.
V1 = {
    G1: shapely.box(X0, Y0 - STEP, X0 + STEP, Y0),
    G2: shapely.box(X0 + STEP, Y0 - STEP, X0 + 2 * STEP, Y0),
}
V2 = {
    G1: shapely.box(X0, Y0 - STEP, X0 + STEP / 2, Y0),
    G2: shapely.box(X0 + STEP / 2, Y0 - STEP, X0 + 2 * STEP, Y0),
    G3: shapely.box(X0 + 2 * STEP, Y0 - STEP, X0 + 3 * STEP, Y0),
}
EAST_OF_G1 = (X0 + 0.75 * STEP, Y0 - STEP / 2)  # in grid 1 before, in grid 2 after


def grid_file(path: Path, cells: dict[str, shapely.Geometry]) -> str:
    gpd.GeoDataFrame(
        {"CODE": list(cells), "NAME": [f"第{c[-3:]}网格" for c in cells]},
        geometry=list(cells.values()),
        crs="EPSG:4326",
    ).to_file(path)
    return str(path)


def run(settings, *args: str):
    return CliRunner().invoke(cli, list(args), env={"DATABASE_URL": settings.database_url})


def grids(settings, path: str, *extra: str):
    return run(
        settings, "import", "grids", path, "--code-field", "CODE", "--name-field", "NAME", *extra
    )


def sql(settings, query: str, params=()) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def counts(settings) -> tuple:
    return sql(
        settings,
        "SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM import_run),"
        " (SELECT count(*) FROM audit_event WHERE action = 'grid_import')",
    )[0]


def utm_area(geom: shapely.Geometry) -> float:
    utm = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    return float(
        shapely.area(
            shapely.transform(geom, lambda xy: np.column_stack(utm.transform(xy[:, 0], xy[:, 1])))
        )
    )


@pytest.fixture
def adjusted(fresh_db, tmp_path):
    """Grids V1 loaded, then V2 by decision DECISION effective 2026-07-01."""
    assert grids(fresh_db, grid_file(tmp_path / "v1.geojson", V1)).exit_code == 0
    result = grids(
        fresh_db,
        grid_file(tmp_path / "v2.geojson", V2),
        *("--decision", DECISION, "--valid-from", "2026-07-01"),
    )
    assert result.exit_code == 0, result.output
    return fresh_db


# -- decisions ----------------------------------------------------------------------------------


def test_a_changed_grid_needs_a_decision_which_every_new_version_keeps(fresh_db, tmp_path):
    first = grids(fresh_db, grid_file(tmp_path / "v1.geojson", V1))
    assert first.exit_code == 0, first.output  # a first division needs no decision
    # A micro-grid in the east half of grid 1, which the adjustment gives to grid 2.
    east = shapely.box(X0 + STEP / 2, Y0 - STEP / 2, X0 + STEP, Y0)
    gpd.GeoDataFrame({"微网格编码": [f"{G1}001"]}, geometry=[east], crs="EPSG:4326").to_file(
        tmp_path / "micro.geojson"
    )
    micro = run(
        fresh_db,
        *("import", "micro-grids", str(tmp_path / "micro.geojson")),
        *("--rejects", str(tmp_path / "micro.rejects.csv")),
    )
    assert micro.exit_code == 0 and "1 new" in micro.output, micro.output
    v2 = grid_file(tmp_path / "v2.geojson", V2)
    before = counts(fresh_db)
    refused = grids(fresh_db, v2)
    assert refused.exit_code == 1
    line = refused.output.strip()
    assert "\n" not in line and line.startswith("gridscope: error:")
    assert f"2 current grid(s) would change ({G1}, {G2})" in line and "--decision" in line
    assert counts(fresh_db) == before  # nothing written: no version, no run, no audit row
    dry = grids(fresh_db, v2, "--dry-run")
    assert dry.exit_code == 0 and "a real run would be refused: 2 current grid(s)" in dry.output
    ok_report = tmp_path / "v2.json"
    ok = grids(
        fresh_db,
        *(v2, "--decision", f"  {DECISION} ", "--valid-from", "2026-07-01"),
        *("--report", str(ok_report)),
    )
    assert ok.exit_code == 0, ok.output
    assert "1 new, 2 changed" in ok.output and f"decision {DECISION}" in ok.output
    # The micro-grid now lies outside its grid: said, not changed (its own import adjusts it).
    (outside,) = json.loads(ok_report.read_text())["micro_grids_outside"]
    assert outside["micro_grid"] == f"{G1}001" and outside["grid"] == G1
    assert outside["outside_m2"] == pytest.approx(utm_area(east), rel=0.005)
    assert outside["share"] == pytest.approx(1.0)
    assert f"warning: 1 micro-grid(s) stick out of their changed grid ({G1}001" in ok.output
    rows = sql(
        fresh_db,
        "SELECT code, valid_from, valid_to, decision_no FROM grid ORDER BY code, valid_from",
    )
    effective = rows[1][1]
    assert effective.isoformat() == "2026-06-30T16:00:00+00:00"  # 2026-07-01 00:00 Shanghai
    assert rows == [
        (G1, rows[0][1], effective, None),
        (G1, effective, None, DECISION),
        (G2, rows[0][1], effective, None),
        (G2, effective, None, DECISION),
        (G3, effective, None, DECISION),  # a new code: from the decision's effective date
    ]
    run_row = sql(
        fresh_db,
        "SELECT options ->> 'decision_no', report ->> 'decision_no', report ->> 'valid_from'"
        " FROM import_run ORDER BY id DESC LIMIT 1",
    )
    assert run_row == [(DECISION, DECISION, "2026-07-01T00:00:00+08:00")]
    event = sql(
        fresh_db,
        "SELECT actor_kind, jurisdiction, count, detail ->> 'decision_no',"
        " detail ->> 'new_versions' FROM audit_event WHERE action = 'grid_import'"
        " ORDER BY id DESC LIMIT 1",
    )
    assert event == [("cli", COMMUNITY, 3, DECISION, "2")]
    # The same file again changes nothing and needs no decision.
    again = grids(fresh_db, v2)
    assert again.exit_code == 0 and "0 new, 0 changed" in again.output


def test_an_effective_date_after_now_is_refused(fresh_db, tmp_path):
    path = grid_file(tmp_path / "v1.geojson", V1)
    refused = grids(fresh_db, path, "--valid-from", "2026-12-01")  # now: 2026-11-25
    assert refused.exit_code == 1 and "is in the future" in refused.output
    assert counts(fresh_db) == (0, 0, 0)


def test_the_boundary_history_lists_decisions_and_versions(adjusted):
    history = run(adjusted, "grids", "history")
    assert history.exit_code == 0, history.output
    assert history.output.splitlines() == [
        f"2026-07-01 00:00  {DECISION}  grid: 2 changed: {G1}, {G2}; 1 new: {G3}"
    ]
    versions = run(adjusted, "grids", "history", G1)
    lines = versions.output.splitlines()
    assert len(lines) == 2
    assert "→ 2026-07-01 00:00; decision -" in lines[0]
    assert f"2026-07-01 00:00 → current; decision {DECISION}" in lines[1]
    area = float(lines[1].rsplit(";", 1)[1].strip().removesuffix(" m²").replace(",", ""))
    assert area == pytest.approx(utm_area(V2[G1]), rel=0.01)
    unknown = run(adjusted, "grids", "history", "999")
    assert unknown.exit_code == 1 and "no grid or micro-grid 999" in unknown.output


# -- the map as of a date ----------------------------------------------------------------------


@pytest.fixture
def svc(adjusted, redis_client) -> Iterator[Services]:
    pool = make_pool(adjusted)
    pool.open(wait=True)
    cache = Cache.from_url(adjusted.redis_url, 600, f"test-{uuid.uuid4().hex[:8]}")
    try:
        yield Services(adjusted, pool, cache, Scope(""), FixedClock(DEMO_NOW))
    finally:
        pool.close()


def areas(gz: bytes, gzipped: bool = True) -> dict[str, float]:
    """{code: area in m²} of the served geometry (simplified, rounded to 5 decimals)."""
    fc = geobuf.decode(gzip.decompress(gz) if gzipped else gz)
    return {
        f["properties"]["code"]: utm_area(shapely.geometry.shape(f["geometry"]))
        for f in fc["features"]
    }


def expect(cells: dict[str, shapely.Geometry]) -> dict[str, float]:
    return {code: pytest.approx(utm_area(g), rel=0.005) for code, g in cells.items()}


def test_the_map_as_of_a_date_draws_the_versions_in_force_then(svc, adjusted, redis_client):
    before = level_geometry(svc, "grid", DEMO_NOW, asof="2026-06-30")
    after = level_geometry(svc, "grid", DEMO_NOW, asof="2026-07-01")
    current = level_geometry(svc, "grid", DEMO_NOW)
    assert areas(before.gz) == expect(V1)  # the day before the decision took effect
    assert areas(after.gz) == expect(V2)  # from its effective day on
    assert areas(current.gz) == expect(V2)
    assert len({before.version, after.version, current.version}) == 3
    assert level_geometry(svc, "grid", DEMO_NOW, asof=date(2026, 6, 30)).gz == before.gz
    keys = list(svc.cache.client.scan_iter(f"*{svc.cache.namespace}:geo-units:*"))
    assert len(keys) == 3  # the as-of day is part of the cache key
    with pytest.raises(ValueError, match="asof"):
        level_geometry(svc, "grid", DEMO_NOW, asof="2026-02-30")
    # The layer payload points the map at that geometry; without a day it is unchanged.
    spec = get("grids")
    options = {"level": "grid", "measure": "created"}
    plain = json.loads(layer_payload(svc, spec, options, {}, DEMO_NOW))
    dated = json.loads(layer_payload(svc, spec, options, {}, DEMO_NOW, asof=date(2026, 6, 30)))
    assert (
        plain["url"] == f"/geo/units/grid.pbf?v={current.version}" and "boundary_asof" not in plain
    )
    assert dated["url"] == f"/geo/units/grid.pbf?v={before.version}&asof=2026-06-30"
    assert dated["boundary_asof"] == "2026-06-30"
    # The picker and the badge on the analyst map, started from the page's ?asof=.
    badge = _find(map_component(PROFILES["analyst"], svc, asof="2026-06-30"), "ana-asof-badge")
    assert badge.children == "边界版本：2026-06-30"
    today = _find(map_component(PROFILES["analyst"], svc, asof="2026-11-25"), "ana-asof-badge")
    assert today.children == "边界版本：当前"  # today's date is the current map
    bad = map_component(PROFILES["analyst"], svc, asof="yesterday")
    assert _find(bad, "ana-asof-badge").children == "边界版本：当前"
    assert "边界日期：yesterday 无效" in json.dumps(
        bad.to_plotly_json(), default=str, ensure_ascii=False
    )


def test_the_geometry_route_serves_the_day_asked(adjusted, redis_client):
    app = create_app(adjusted)
    try:
        client = signed_in(app, adjusted, "analyst")
        served = {}
        for asof in ("2026-06-30", "2026-07-01", None):
            url = "/geo/units/grid.pbf" + (f"?asof={asof}" if asof else "")
            resp = client.get(url)
            assert resp.status_code == 200, (url, resp.get_data(as_text=True))
            served[asof] = areas(resp.get_data(), gzipped=False)
        assert served["2026-06-30"] == expect(V1)
        assert served["2026-07-01"] == served[None] == expect(V2)
        for bad in ("2026-13-01", "junk", "2026-7-1", "1899-01-01"):
            assert client.get(f"/geo/units/grid.pbf?asof={bad}").status_code == 400, bad
    finally:
        app.server.extensions["gridscope"].close()


def _find(component, cid: str):
    if getattr(component, "id", None) == cid:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if isinstance(child, html.Div | html.Section | html.Span | html.Aside) or hasattr(
            child, "children"
        ):
            found = _find(child, cid)
            if found is not None:
                return found
    return None


# -- tickets keep their grid --------------------------------------------------------------------


def ticket_csv(path: Path, ids: list[str], when: str) -> str:
    header = (
        "service_request_id,status,service_code,service_name,requested_datetime,"
        "expected_datetime,updated_datetime,lat,long,address,description"
    )
    lon, lat = EAST_OF_G1
    lines = [f"{i},open,0903,Street Light,{when},,,{lat},{lon},Main St,lamp out" for i in ids]
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return str(path)


def test_tickets_keep_the_grid_they_were_filed_in(fresh_db, tmp_path):
    assert grids(fresh_db, grid_file(tmp_path / "v1.geojson", V1)).exit_code == 0
    old = ticket_csv(tmp_path / "old.csv", ["A1", "A2"], "2026-06-15T10:00:00+08:00")
    loaded = run(
        fresh_db,
        *("import", "tickets", old, "--mapping", "open311", "--quiet"),
        *("--rejects", str(tmp_path / "old.rejects.csv")),
    )
    assert loaded.exit_code == 0, loaded.output
    filed = sql(fresh_db, "SELECT id, grid_code FROM ticket ORDER BY id")
    assert [g for _, g in filed] == [G1, G1]
    rollup = sql(fresh_db, "SELECT grid_code, sum(created) FROM stat_daily GROUP BY 1")
    # The boundary moves: the tickets' point now lies in grid 2.
    moved = grids(
        fresh_db,
        grid_file(tmp_path / "v2.geojson", V2),
        *("--decision", DECISION, "--valid-from", "2026-07-01"),
    )
    assert moved.exit_code == 0, moved.output
    lon, lat = EAST_OF_G1
    now_in = sql(
        fresh_db,
        "SELECT code FROM grid WHERE valid_to IS NULL"
        " AND ST_Contains(geom, ST_SetSRID(ST_Point(%s, %s), 4326))",
        (lon, lat),
    )
    assert now_in == [(G2,)]
    assert sql(fresh_db, "SELECT id, grid_code FROM ticket ORDER BY id") == filed
    assert sql(fresh_db, "SELECT grid_code, sum(created) FROM stat_daily GROUP BY 1") == rollup
    # A ticket filed after the adjustment at the same spot is placed in the new grid.
    new = ticket_csv(tmp_path / "new.csv", ["B1"], "2026-11-20T10:00:00+08:00")
    assert (
        run(
            fresh_db,
            *("import", "tickets", new, "--mapping", "open311", "--quiet"),
            *("--rejects", str(tmp_path / "new.rejects.csv")),
        ).exit_code
        == 0
    )
    assert sql(fresh_db, "SELECT grid_code FROM ticket ORDER BY id") == [(G1,), (G1,), (G2,)]
