"""`gridscope import grids` against real PostGIS: the Boston wards and precincts, and generated
files with planted errors (overlap, gap, duplicate code, missing CRS, bow-tie, GCJ-02 shift)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from click.testing import CliRunner

from domain.geo.gcj02 import gcj02_to_wgs84, geometries_gcj02_to_wgs84, wgs84_to_gcj02
from gridscope.cli import main as cli
from gridscope.imports import ImportRefused
from gridscope.imports.grids import GridImportOptions, import_grids
from queries.cache import data_version
from queries.db import connect

REAL = Path("/work/shared/realdata/boston311_2015")
COMMUNITY = "330402001001"  # a 12-digit community code under Jiaxing's Nanhu district
STEP = 0.004  # degrees: cells of roughly 380 m × 445 m near Jiaxing
X0, Y0 = 120.75, 30.75
WARDS = [
    "--code-rule",
    "permissive",
    "--create-parent",
    "US-MA-BOS:Boston",
    "--code-field",
    "WARD",
    "--code-prefix",
    "US-MA-BOS-W",
    "--code-width",
    "2",
    "--name-field",
    "WARD",
    "--name-prefix",
    "Ward ",
]


def cell(i: int, j: int, grow_east: float = 0.0) -> shapely.Polygon:
    x, y = X0 + i * STEP, Y0 - j * STEP
    return shapely.box(x, y - STEP, x + STEP + grow_east, y)


def utm_area(geom: shapely.Geometry) -> float:
    """Area in m² in UTM zone 51N (Jiaxing), independently of the code under test."""
    utm = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    return shapely.area(
        shapely.transform(geom, lambda xy: np.column_stack(utm.transform(xy[:, 0], xy[:, 1])))
    )


def code(seq: int) -> str:
    return f"{COMMUNITY}{seq:03d}"


def grid_frame(cells: dict[str, shapely.Geometry], **columns) -> gpd.GeoDataFrame:
    data = {
        "CODE": list(cells),
        "NAME": [f"第{c[-3:]}网格" for c in cells],
        "HH": [100 + k for k in range(len(cells))],
        **columns,
    }
    return gpd.GeoDataFrame(data, geometry=list(cells.values()), crs="EPSG:4326")


def three_by_three(skip_centre: bool = True) -> dict[str, shapely.Geometry]:
    out = {}
    for j in range(3):
        for i in range(3):
            if skip_centre and (i, j) == (1, 1):
                continue
            out[code(j * 3 + i + 1)] = cell(i, j)
    return out


def run(settings, *args: str):
    return CliRunner().invoke(
        cli, ["import", "grids", *args], env={"DATABASE_URL": settings.database_url}
    )


def sql(settings, query: str, params=()) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def opts(**kw) -> GridImportOptions:
    base = {"code_field": "CODE", "name_field": "NAME", "households_field": "HH"}
    return GridImportOptions(**{**base, **kw})


def counts(settings) -> tuple:
    return sql(
        settings,
        "SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM issued_code),"
        " (SELECT count(*) FROM region), (SELECT count(*) FROM import_run)",
    )[0]


# -- GCJ-02 -------------------------------------------------------------------------------------


def test_gcj02_offset_at_jiaxing_and_inverse():
    geod = pyproj.Geod(ellps="WGS84")
    lon, lat = 120.75, 30.75
    glon, glat = wgs84_to_gcj02(lon, lat)
    east = geod.inv(lon, lat, glon, lat)[2] * np.sign(glon - lon)
    north = geod.inv(lon, lat, lon, glat)[2] * np.sign(glat - lat)
    assert east == pytest.approx(413, abs=2) and north == pytest.approx(-254, abs=2)
    back = gcj02_to_wgs84(glon, glat)
    assert abs(back[0] - lon) < 1e-7 and abs(back[1] - lat) < 1e-7
    # Across China the inverse undoes the forward shift to well below 1e-7 degrees.
    rng = np.random.default_rng(3)
    lons, lats = rng.uniform(75, 134, 2000), rng.uniform(18, 53, 2000)
    w = gcj02_to_wgs84(*wgs84_to_gcj02(lons, lats))
    assert np.max(np.abs(w[0] - lons)) < 1e-7 and np.max(np.abs(w[1] - lats)) < 1e-7
    # Outside China GCJ-02 is WGS84.
    assert wgs84_to_gcj02(-71.06, 42.36) == (-71.06, 42.36)


# -- real Boston files --------------------------------------------------------------------------


def test_boston_wards_with_the_permissive_rule(fresh_db, tmp_path):
    with connect(fresh_db) as conn:
        before = data_version(conn)
    report_path = tmp_path / "report.json"
    result = run(fresh_db, str(REAL / "boston_wards.geojson"), *WARDS, "--report", str(report_path))
    assert result.exit_code == 0, result.output
    assert "22 new, 0 changed" in result.output
    assert "repaired feature 5 (US-MA-BOS-W05): Ring Self-intersection" in result.output
    report = json.loads(report_path.read_text())
    assert len(report["repaired"]) == 3 and report["rejected"] == []
    boston = report["communities"]["US-MA-BOS"]
    assert boston["overlaps"]["count"] == 9
    assert boston["overlaps"]["listed"][0]["grids"] == ["US-MA-BOS-W18", "US-MA-BOS-W20"]
    assert boston["overlaps"]["listed"][0]["area_m2"] == pytest.approx(112, abs=1)
    assert boston["gaps"]["count"] > 0 and boston["gaps"]["total_m2"] > 300
    assert sql(fresh_db, "SELECT code, name, level, geom IS NULL FROM region") == [
        ("US-MA-BOS", "Boston", "community", True)
    ]
    rows = sql(
        fresh_db,
        "SELECT code, name, community_code, bool_and(ST_IsValid(geom)),"
        " sum(area_m2) FROM grid GROUP BY 1, 2, 3 ORDER BY 1",
    )
    assert len(rows) == 22 and rows[0][:4] == ("US-MA-BOS-W01", "Ward 1", "US-MA-BOS", True)
    assert sum(r[4] for r in rows) == pytest.approx(1.25e8, rel=0.05)  # Boston: ~125 km² land
    assert sql(fresh_db, "SELECT count(*) FROM issued_code WHERE kind = 'grid'")[0][0] == 22
    run_row = sql(
        fresh_db,
        "SELECT kind, rows_total, rows_loaded, rows_rejected,"
        " report -> 'communities' ? 'US-MA-BOS' FROM import_run",
    )
    assert run_row == [("grids", 22, 22, 0, True)]
    with connect(fresh_db) as conn:
        assert data_version(conn) > before
    # The same file again: everything unchanged, nothing new.
    again = run(fresh_db, str(REAL / "boston_wards.geojson"), *WARDS)
    assert again.exit_code == 0, again.output
    assert "0 new, 0 changed (old version closed, new version added), 22 unchanged" in again.output
    assert counts(fresh_db) == (22, 22, 1, 2)


def test_mislabeled_precincts_are_refused_then_read_with_the_real_crs(fresh_db):
    path = str(REAL / "boston_precincts_crs_mislabeled.geojson")
    args = [
        "--code-rule",
        "permissive",
        "--create-parent",
        "US-MA-BOS:Boston",
        "--code-field",
        "WARD_PRECINCT",
        "--code-prefix",
        "US-MA-BOS-P",
    ]
    refused = run(fresh_db, path, *args)
    assert refused.exit_code == 1
    line = refused.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "far outside longitude/latitude range" in line and "--crs" in line
    assert counts(fresh_db) == (0, 0, 0, 0)
    ok = run(fresh_db, path, *args, "--crs", "EPSG:2249", "--dry-run")
    assert ok.exit_code == 0, ok.output
    assert "reprojected from EPSG:2249 to EPSG:4326" in ok.output
    assert "dry run: 255 new" in ok.output and "2 repaired" not in ok.output
    assert ok.output.count("repaired feature") == 2
    assert counts(fresh_db) == (0, 0, 0, 0)


# -- generated files with planted errors --------------------------------------------------------


def test_planted_overlap_hole_duplicate_bowtie_and_bad_code(fresh_db, tmp_path):
    cells = three_by_three()  # the centre cell is missing: a hole between grids
    cells[code(1)] = cell(0, 0, grow_east=STEP / 4)  # overlaps code 2 by a quarter cell
    bowtie = shapely.Polygon(
        [
            (X0 + 3 * STEP, Y0),
            (X0 + 4 * STEP, Y0 - STEP),
            (X0 + 4 * STEP, Y0),
            (X0 + 3 * STEP, Y0 - STEP),
        ]
    )
    frame = grid_frame(cells)
    extra = gpd.GeoDataFrame(
        {
            "CODE": [code(20), code(10), code(10), "33040200100", code(0)],
            "NAME": ["蝴蝶", "重复", "重复", "短", "零"],
            "HH": [1, 2, 3, 4, 5],
        },
        geometry=[bowtie, cell(5, 5), cell(6, 6), cell(7, 7), cell(8, 8)],
        crs="EPSG:4326",
    )
    path = tmp_path / "planted.gpkg"
    gpd.GeoDataFrame(
        {**{k: list(frame[k]) + list(extra[k]) for k in ("CODE", "NAME", "HH")}},
        geometry=list(frame.geometry) + list(extra.geometry),
        crs="EPSG:4326",
    ).to_file(path, driver="GPKG")

    report = import_grids(fresh_db, path, opts(), echo=lambda _m: None)
    reasons = {(r["code"], r["reason"].split(" (")[0].split(":")[0]) for r in report.rejected}
    assert (code(10), "duplicate code") in reasons and len(
        [r for r in report.rejected if r["code"] == code(10)]
    ) == 2
    assert any(
        c == "33040200100" and "digits" in why
        for c, why in ((r["code"], r["reason"]) for r in report.rejected)
    )
    assert any(r["code"] == code(0) and "sequence 000" in r["reason"] for r in report.rejected)
    assert [r["code"] for r in report.repaired] == [code(20)]
    assert "Self-intersection" in report.repaired[0]["reason"]
    c = report.communities[COMMUNITY]
    assert c["overlaps"]["count"] == 1 and c["overlaps"]["listed"][0]["grids"] == [code(1), code(2)]
    assert c["overlaps"]["listed"][0]["area_m2"] == pytest.approx(
        utm_area(cell(0, 0, grow_east=STEP / 4).intersection(cell(1, 0))), rel=0.01
    )
    hole = c["gaps"]["listed"]
    assert len(hole) == 1 and hole[0]["kind"] == "hole between grids"
    area = utm_area(cell(1, 1))
    assert hole[0]["area_m2"] == pytest.approx(area, rel=0.01)
    assert sorted(report.inserted) == sorted([code(k) for k in (1, 2, 3, 4, 6, 7, 8, 9, 20)])
    # The bow-tie became two triangles: a valid MultiPolygon of about half the bounding box.
    g = sql(
        fresh_db,
        "SELECT ST_IsValid(geom), ST_NumGeometries(geom), area_m2 FROM grid WHERE code = %s",
        (code(20),),
    )[0]
    assert g[0] and g[1] == 2
    box_area = utm_area(shapely.box(*bowtie.bounds))
    assert g[2] == pytest.approx(box_area / 2, rel=0.01)


def test_overlap_reported_with_its_area(fresh_db, tmp_path):
    cells = {code(1): cell(0, 0, grow_east=STEP / 4), code(2): cell(1, 0)}
    path = tmp_path / "overlap.geojson"
    grid_frame(cells).to_file(path, driver="GeoJSON")
    report = import_grids(fresh_db, path, opts(dry_run=True), echo=lambda _m: None)
    o = report.communities[COMMUNITY]["overlaps"]
    expected = utm_area(cells[code(1)].intersection(cells[code(2)]))
    assert o["count"] == 1 and o["listed"][0]["grids"] == [code(1), code(2)]
    assert o["listed"][0]["area_m2"] == pytest.approx(expected, rel=0.01)
    assert report.dry_run and counts(fresh_db) == (0, 0, 0, 0)


def test_gaps_against_the_parent_region(fresh_db, tmp_path):
    cells = three_by_three(skip_centre=False)
    del cells[code(9)]  # the south-east corner is not covered
    parent = shapely.box(X0, Y0 - 3 * STEP, X0 + 3 * STEP, Y0)
    with connect(fresh_db) as conn:
        conn.execute(
            "INSERT INTO region (code, name, level, geom) VALUES (%s, '南湖社区',"
            " 'community', ST_Multi(ST_GeomFromText(%s, 4326)))",
            (COMMUNITY, parent.wkt),
        )
        conn.commit()
    path = tmp_path / "corner.geojson"
    grid_frame(cells).to_file(path, driver="GeoJSON")
    report = import_grids(fresh_db, path, opts(), echo=lambda _m: None)
    c = report.communities[COMMUNITY]
    assert c["parent"] == "南湖社区"
    assert c["gaps"]["count"] == 1 and c["gaps"]["listed"][0]["kind"] == "parent not covered"
    assert c["gaps"]["listed"][0]["area_m2"] == pytest.approx(utm_area(cell(2, 2)), rel=0.01)
    assert c["outside_parent"]["count"] == 0


def test_missing_crs_is_refused_unless_given(fresh_db, tmp_path):
    path = tmp_path / "noprj.shp"
    grid_frame({code(1): cell(0, 0)}).to_file(path)
    path.with_suffix(".prj").unlink()
    refused = run(fresh_db, str(path), "--code-field", "CODE")
    assert refused.exit_code == 1
    assert "has no CRS" in refused.output and "--crs" in refused.output
    assert "Traceback" not in refused.output and refused.output.count("\n") == 1
    assert counts(fresh_db) == (0, 0, 0, 0)
    ok = run(fresh_db, str(path), "--code-field", "CODE", "--crs", "EPSG:4490")
    assert ok.exit_code == 0, ok.output
    assert sql(fresh_db, "SELECT code, community_code FROM grid") == [(code(1), COMMUNITY)]


def test_gcj02_file_is_converted_to_wgs84(fresh_db, tmp_path):
    truth = {code(1): cell(0, 0), code(2): cell(1, 0)}
    shifted = {
        k: shapely.transform(g, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
        for k, g in truth.items()
    }
    path = tmp_path / "amap.geojson"
    grid_frame(shifted).to_file(path, driver="GeoJSON")
    result = run(fresh_db, str(path), "--code-field", "CODE", "--gcj02")
    assert result.exit_code == 0, result.output
    assert "GCJ-02 vertices converted to WGS84" in result.output
    for c, wkb in sql(fresh_db, "SELECT code, ST_AsBinary(geom) FROM grid"):
        got = shapely.from_wkb(bytes(wkb))
        assert shapely.hausdorff_distance(got, truth[c]) < 1e-7
        # Without the conversion the grid would sit ~480 m off.
        assert shapely.hausdorff_distance(shifted[c], truth[c]) > 0.003
    # The vectorised geometry helper gives the same.
    back = geometries_gcj02_to_wgs84([shifted[code(1)]])[0]
    assert shapely.hausdorff_distance(back, truth[code(1)]) < 1e-7


def test_changed_boundary_gets_a_new_version(fresh_db, tmp_path):
    path = tmp_path / "v1.geojson"
    grid_frame({code(1): cell(0, 0), code(2): cell(1, 0)}).to_file(path, driver="GeoJSON")
    first = import_grids(fresh_db, path, opts(), echo=lambda _m: None)
    assert sorted(first.inserted) == [code(1), code(2)]
    v2 = tmp_path / "v2.geojson"
    grid_frame({code(1): cell(0, 0, grow_east=-STEP / 2), code(2): cell(1, 0)}).to_file(
        v2, driver="GeoJSON"
    )
    second = import_grids(
        fresh_db, v2, opts(decision_no="南湖网格〔2026〕1号"), echo=lambda _m: None
    )
    assert second.new_versions == [code(1)] and second.unchanged == [code(2)]
    assert second.inserted == []
    rows = sql(
        fresh_db, "SELECT code, valid_from, valid_to, area_m2 FROM grid ORDER BY code, valid_from"
    )
    assert [r[0] for r in rows] == [code(1), code(1), code(2)]
    old, new, other = rows
    assert old[2] is not None and old[2] == new[1] and new[2] is None and other[2] is None
    assert new[3] == pytest.approx(old[3] / 2, rel=0.01)
    assert sql(fresh_db, "SELECT count(*) FROM issued_code")[0][0] == 2
    assert sql(fresh_db, "SELECT rows_loaded, rows_skipped FROM import_run ORDER BY id") == [
        (2, 0),
        (1, 1),
    ]
    # Only the current version answers point lookups: history is kept, not overwritten.
    assert sql(fresh_db, "SELECT count(*) FROM grid WHERE valid_to IS NULL")[0][0] == 2


def test_codes_are_never_reused(fresh_db, tmp_path):
    path = tmp_path / "g.geojson"
    grid_frame({code(1): cell(0, 0), code(2): cell(1, 0)}).to_file(path, driver="GeoJSON")
    import_grids(fresh_db, path, opts(), echo=lambda _m: None)
    with connect(fresh_db) as conn:
        conn.execute("UPDATE grid SET valid_to = now() WHERE code = %s", (code(2),))
        conn.execute("INSERT INTO issued_code (code, kind) VALUES (%s, 'micro_grid')", (code(3),))
        conn.commit()
    again = tmp_path / "again.geojson"
    grid_frame({code(2): cell(1, 0), code(3): cell(2, 0)}).to_file(again, driver="GeoJSON")
    report = import_grids(fresh_db, again, opts(), echo=lambda _m: None)
    why = {r["code"]: r["reason"] for r in report.rejected}
    assert "retired" in why[code(2)] and "never reused" in why[code(2)]
    assert "micro_grid" in why[code(3)] and "never reused" in why[code(3)]
    assert report.inserted == [] and sql(fresh_db, "SELECT count(*) FROM grid")[0][0] == 2
    strict = run(fresh_db, str(again), "--code-field", "CODE", "--strict")
    assert strict.exit_code == 1 and "refused (--strict)" in strict.output


def test_dry_run_writes_nothing(fresh_db, tmp_path):
    path = tmp_path / "g.geojson"
    grid_frame(three_by_three()).to_file(path, driver="GeoJSON")
    before = sql(fresh_db, "SELECT last_value, is_called FROM data_version")
    result = run(
        fresh_db,
        str(path),
        *["--code-field", "CODE", "--create-parent", f"{COMMUNITY}:南湖社区", "--dry-run"],
    )
    assert result.exit_code == 0, result.output
    assert "dry run: 8 new" in result.output and "would be created" in result.output
    assert "hole between grids" in result.output
    assert counts(fresh_db) == (0, 0, 0, 0)
    assert sql(fresh_db, "SELECT last_value, is_called FROM data_version") == before


def test_bad_input_exits_cleanly(fresh_db, tmp_path):
    missing = run(fresh_db, str(tmp_path / "nope.geojson"), "--code-field", "CODE")
    assert missing.exit_code == 1 and "no such file" in missing.output
    junk = tmp_path / "junk.geojson"
    junk.write_text("this is not GeoJSON", encoding="utf-8")
    unreadable = run(fresh_db, str(junk), "--code-field", "CODE")
    assert unreadable.exit_code == 1 and "not a readable GIS file" in unreadable.output
    path = tmp_path / "g.geojson"
    grid_frame({code(1): cell(0, 0)}).to_file(path, driver="GeoJSON")
    no_field = run(fresh_db, str(path), "--code-field", "GRIDCODE")
    assert no_field.exit_code == 1 and "no field code-field 'GRIDCODE'" in no_field.output
    usage = run(fresh_db, str(path))
    assert usage.exit_code == 2 and "--code-field" in usage.output
    no_parent = run(fresh_db, str(path), "--code-field", "CODE", "--code-rule", "permissive")
    assert no_parent.exit_code == 2
    bad_parent = run(fresh_db, str(path), "--code-field", "CODE", "--create-parent", "X")
    assert bad_parent.exit_code == 2
    for r in (missing, unreadable, no_field):
        assert "Traceback" not in r.output and r.output.startswith("gridscope: error:")
    assert counts(fresh_db) == (0, 0, 0, 0)
    with pytest.raises(ImportRefused, match="no such file"):
        import_grids(fresh_db, tmp_path / "nope.gpkg", opts(), echo=lambda _m: None)
    assert data_version is not None
