"""`gridscope import micro-grids` against real PostGIS: the Boston precincts as micro-grids of
the Boston wards (real data), and generated files with planted faults — a micro-grid sticking
out of its grid (refused with its area, never clipped), a sliver within the tolerance, an
overlap, an uncovered corner, bad codes and parents — plus re-runs, dry runs and decisions."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from click.testing import CliRunner

from gridscope.cli import main as cli
from gridscope.imports.grids import GridImportOptions, import_grids
from queries.cache import data_version
from queries.db import connect

REAL = Path("/work/shared/realdata/boston311_2015")
COMMUNITY = "330402001001"
STEP = 0.004  # degrees: cells of roughly 380 m × 445 m near Jiaxing
HALF = STEP / 2
X0, Y0 = 120.75, 30.75
WARDS = [
    *("--code-rule", "permissive", "--create-parent", "US-MA-BOS:Boston"),
    *("--code-field", "WARD", "--code-prefix", "US-MA-BOS-W", "--code-width", "2"),
    *("--name-field", "WARD", "--name-prefix", "Ward "),
]
PRECINCTS = [
    *("--code-rule", "permissive", "--code-field", "WARD_PRECINCT"),
    *("--code-prefix", "US-MA-BOS-W", "--quiet"),
]


def grid(seq: int) -> str:
    return f"{COMMUNITY}{seq:03d}"


def micro(grid_seq: int, seq: int) -> str:
    return f"{grid(grid_seq)}{seq:03d}"


def cell(i: int) -> shapely.Polygon:
    x = X0 + i * STEP
    return shapely.box(x, Y0 - STEP, x + STEP, Y0)


def quadrant(name: str) -> shapely.Polygon:
    """A quarter of grid 1 (cell 0): nw, ne, sw, se."""
    x = X0 + (HALF if name[1] == "e" else 0)
    y = Y0 - (HALF if name[0] == "s" else 0)
    return shapely.box(x, y - HALF, x + HALF, y)


GROW = STEP / 8  # the NE quadrant pushed this far east, into grid 2
SLIVER = 1e-8  # the SW quadrant pushed this far west, out of the grid: ~1 mm × 222 m
OVERLAP = STEP / 20  # the SE quadrant pushed this far west, over the SW quadrant


def planted() -> dict[str, shapely.Geometry]:
    nw, ne, sw, se = (quadrant(q) for q in ("nw", "ne", "sw", "se"))
    return {
        micro(1, 1): nw,
        micro(1, 2): shapely.box(*ne.bounds[:2], ne.bounds[2] + GROW, ne.bounds[3]),
        micro(1, 3): shapely.box(sw.bounds[0] - SLIVER, *sw.bounds[1:]),
        micro(1, 4): shapely.box(se.bounds[0] - OVERLAP, *se.bounds[1:]),
    }


def utm_area(geom: shapely.Geometry) -> float:
    """Area in m² in UTM zone 51N (Jiaxing), independently of the code under test."""
    utm = pyproj.Transformer.from_crs(4326, 32651, always_xy=True)
    return float(
        shapely.area(
            shapely.transform(geom, lambda xy: np.column_stack(utm.transform(xy[:, 0], xy[:, 1])))
        )
    )


def write(path: Path, rows: list[dict], geoms: list[shapely.Geometry]) -> Path:
    gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326").to_file(path)
    return path


def micro_file(path: Path, cells: dict[str, shapely.Geometry], **extra) -> Path:
    """A file with the template's Chinese headings."""
    rows = [
        {
            "微网格编码": code,
            "所属网格编码": code[:15],
            "微网格名称": f"幸福小区{code[-1]}幢",
            "户数": 80 + k,
            "联户数": 5 + k,
            **{key: value[k] for key, value in extra.items()},
        }
        for k, code in enumerate(cells)
    ]
    return write(path, rows, list(cells.values()))


def load_grids(settings) -> None:
    path = Path(settings.database_url.rsplit("/", 1)[1] + "-grids.geojson")
    tmp = Path("/tmp") / path
    write(tmp, [{"CODE": grid(1)}, {"CODE": grid(2)}], [cell(0), cell(1)])
    import_grids(settings, tmp, GridImportOptions(code_field="CODE"), echo=lambda _m: None)
    tmp.unlink()


def run(settings, *args: str):
    return CliRunner().invoke(cli, ["import", *args], env={"DATABASE_URL": settings.database_url})


def sql(settings, query: str, params=()) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def counts(settings) -> tuple:
    return sql(
        settings,
        "SELECT (SELECT count(*) FROM micro_grid),"
        " (SELECT count(*) FROM issued_code WHERE kind = 'micro_grid'),"
        " (SELECT count(*) FROM import_run WHERE kind = 'micro_grids'),"
        " (SELECT count(*) FROM audit_event WHERE action = 'micro_grid_import')",
    )[0]


# -- generated files with planted faults --------------------------------------------------------


def test_planted_file_nests_is_reported_and_loads_nothing_twice(fresh_db, tmp_path):
    load_grids(fresh_db)
    cells = planted()
    path = micro_file(tmp_path / "micro.gpkg", cells)
    rejects, report_path = tmp_path / "rejects.geojson", tmp_path / "report.json"
    with connect(fresh_db) as conn:
        before = data_version(conn)
    result = run(
        fresh_db, "micro-grids", str(path), "--rejects", str(rejects), "--report", str(report_path)
    )
    assert result.exit_code == 0, result.output
    assert "3 new, 0 changed" in result.output and "1 rejected" in result.output
    assert f"REJECTED feature 2 ({micro(1, 2)}): sticks out of its grid {grid(1)} by" in (
        result.output
    )
    report = json.loads(report_path.read_text())
    assert report["fields"] == {
        "code": "微网格编码",
        "name": "微网格名称",
        "grid": "所属网格编码",
        "households": "户数",
        "household_groups": "联户数",
    }
    # The piece of micro-grid 2 inside grid 2, measured independently.
    piece = cells[micro(1, 2)].difference(cell(0))
    (refused,) = report["rejected"]
    assert refused["code"] == micro(1, 2) and refused["grid"] == grid(1)
    assert refused["outside_m2"] == pytest.approx(utm_area(piece), rel=0.005)
    assert refused["outside_m2"] > 10_000
    assert refused["outside_share"] == pytest.approx(
        utm_area(piece) / utm_area(cells[micro(1, 2)]), rel=0.005
    )
    assert f"{refused['outside_m2']:,.1f} m²" in refused["reason"]
    nest = report["nesting"]
    assert (nest["checked"], nest["nested"], nest["within_tolerance"], nest["refused"]) == (
        4,
        2,
        1,
        1,
    )
    (sliver,) = nest["within_tolerance_listed"]
    assert sliver["code"] == micro(1, 3) and 0 < sliver["area_m2"] <= 1.0
    # Grid 1: the SE/SW overlap, and the NE quarter that no accepted micro-grid covers.
    g = report["grids"][grid(1)]
    assert g["overlaps"]["count"] == 1
    assert g["overlaps"]["listed"][0]["grids"] == [micro(1, 3), micro(1, 4)]
    overlap = cells[micro(1, 3)].intersection(cells[micro(1, 4)])
    assert g["overlaps"]["listed"][0]["area_m2"] == pytest.approx(utm_area(overlap), rel=0.01)
    assert g["gaps"]["count"] == 1
    assert g["gaps"]["listed"][0]["area_m2"] == pytest.approx(utm_area(quadrant("ne")), rel=0.01)
    # Loaded as the file has them: not clipped (the sliver is still there), with the counts.
    rows = sql(
        fresh_db,
        "SELECT code, grid_code, name, households, household_groups, decision_no,"
        " ST_AsBinary(geom) FROM micro_grid ORDER BY code",
    )
    assert [r[:6] for r in rows] == [
        (micro(1, 1), grid(1), "幸福小区1幢", 80, 5, None),
        (micro(1, 3), grid(1), "幸福小区3幢", 82, 7, None),
        (micro(1, 4), grid(1), "幸福小区4幢", 83, 8, None),
    ]
    stored = {r[0]: shapely.from_wkb(bytes(r[6])) for r in rows}
    assert shapely.equals(stored[micro(1, 3)], cells[micro(1, 3)])
    assert stored[micro(1, 3)].bounds[0] < X0  # the sliver outside grid 1 is kept
    # The rejects file: the refused feature as the file had it, with its reason and area.
    out = gpd.read_file(rejects)
    assert list(out["reject_code"]) == [micro(1, 2)]
    assert out["reject_outside_m2"][0] == refused["outside_m2"]
    assert shapely.equals(out.geometry[0], cells[micro(1, 2)])
    assert "nothing is clipped" in out["reject_reason"][0]
    # The run and its audit event, in the import's transaction; caches refresh.
    assert counts(fresh_db) == (3, 3, 1, 1)
    run_row = sql(
        fresh_db,
        "SELECT rows_total, rows_loaded, rows_skipped, rows_rejected FROM import_run"
        " WHERE kind = 'micro_grids'",
    )
    assert run_row == [(4, 3, 0, 1)]
    event = sql(
        fresh_db,
        "SELECT actor_kind, jurisdiction, object, count, detail ->> 'inserted'"
        " FROM audit_event WHERE action = 'micro_grid_import'",
    )
    assert event == [("cli", grid(1), "micro_grid", 3, "3")]
    with connect(fresh_db) as conn:
        assert data_version(conn) > before
    # The same file again: nothing new, nothing changed.
    again = run(fresh_db, "micro-grids", str(path), "--rejects", str(rejects))
    assert again.exit_code == 0, again.output
    assert "0 new, 0 changed (old version closed, new version added), 3 unchanged" in again.output
    assert counts(fresh_db) == (3, 3, 2, 2)


def test_sticking_out_within_a_share_is_accepted_unclipped(fresh_db, tmp_path):
    load_grids(fresh_db)
    cells = planted()
    share = utm_area(cells[micro(1, 2)].difference(cell(0))) / utm_area(cells[micro(1, 2)])
    path = micro_file(tmp_path / "micro.gpkg", cells)
    rejects = tmp_path / "rejects.csv"
    tight = run(
        fresh_db,
        *("micro-grids", str(path), "--rejects", str(rejects), "--dry-run"),
        *("--tolerance-share", f"{share * 0.99:.6f}"),
    )
    assert tight.exit_code == 0 and "dry run: 3 new" in tight.output
    assert "micro_grid" not in {r[0] for r in sql(fresh_db, "SELECT kind FROM issued_code")}
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and micro(1, 2) in lines[1] and "reject_outside_m2" in lines[0]
    loose = run(
        fresh_db,
        *("micro-grids", str(path), "--rejects", str(rejects)),
        *("--tolerance-share", f"{share * 1.01:.6f}"),
    )
    assert loose.exit_code == 0 and "4 new" in loose.output and "0 rejected" in loose.output
    (wkb,) = sql(
        fresh_db, "SELECT ST_AsBinary(geom) FROM micro_grid WHERE code = %s", (micro(1, 2),)
    )[0]
    assert shapely.equals(shapely.from_wkb(bytes(wkb)), cells[micro(1, 2)])  # never clipped


def test_bad_codes_parents_and_counts_are_refused_one_by_one(fresh_db, tmp_path):
    load_grids(fresh_db)
    q = quadrant("nw")
    rows = [
        {"code": micro(1, 1), "grid_code": grid(1), "households": "12"},
        {"code": micro(2, 5), "grid_code": grid(1), "households": "1"},  # not under grid 1
        {"code": micro(9, 1), "grid_code": "", "households": "1"},  # derived parent: no grid 9
        {"code": micro(1, 0), "grid_code": "", "households": "1"},  # sequence 000
        {"code": micro(1, 6), "grid_code": "", "households": "many"},
        {"code": micro(1, 7), "grid_code": "", "households": "3"},  # duplicate
        {"code": micro(1, 7), "grid_code": "", "households": "4"},
        {"code": "", "grid_code": "", "households": "1"},
    ]
    path = write(tmp_path / "bad.geojson", rows, [q] * len(rows))
    result = run(fresh_db, "micro-grids", str(path), "--rejects", str(tmp_path / "r.geojson"))
    assert result.exit_code == 0, result.output
    out = gpd.read_file(tmp_path / "r.geojson")
    why = dict(zip(out["reject_feature"], out["reject_reason"], strict=True))
    assert "does not start with its parent" in why[2]
    assert f"parent grid {grid(9)} is not a current grid" in why[3]
    assert "sequence 000" in why[4]
    assert "households must be a non-negative integer, got 'many'" in why[5]
    assert why[6].startswith("duplicate code") and why[7].startswith("duplicate code")
    assert why[8].startswith("empty")
    assert sql(fresh_db, "SELECT code, households FROM micro_grid") == [(micro(1, 1), 12)]
    # A retired micro-grid's code is never issued again.
    with connect(fresh_db) as conn:
        conn.execute("UPDATE micro_grid SET valid_to = now() WHERE code = %s", (micro(1, 1),))
        conn.commit()
    again = run(fresh_db, "micro-grids", str(path), "--rejects", str(tmp_path / "r.geojson"))
    assert again.exit_code == 0 and "0 new" in again.output
    out = gpd.read_file(tmp_path / "r.geojson")
    assert "retired" in out["reject_reason"][0] and "never reused" in out["reject_reason"][0]
    strict = run(
        fresh_db, "micro-grids", str(path), "--strict", "--rejects", str(tmp_path / "r.geojson")
    )
    assert strict.exit_code == 1 and "refused (--strict)" in strict.output


def test_changing_a_micro_grid_needs_a_decision(fresh_db, tmp_path):
    load_grids(fresh_db)
    cells = {micro(1, 1): quadrant("nw"), micro(1, 2): quadrant("ne")}
    first = micro_file(tmp_path / "v1.gpkg", cells)
    rejects = str(tmp_path / "r.geojson")
    assert run(fresh_db, "micro-grids", str(first), "--rejects", rejects).exit_code == 0
    moved = {micro(1, 1): quadrant("nw").union(quadrant("sw")), micro(1, 2): quadrant("ne")}
    second = micro_file(tmp_path / "v2.gpkg", moved)
    before = counts(fresh_db)
    refused = run(fresh_db, "micro-grids", str(second), "--rejects", rejects)
    assert refused.exit_code == 1
    assert f"1 current micro-grid(s) would change ({micro(1, 1)})" in refused.output
    assert "--decision" in refused.output and "Traceback" not in refused.output
    assert counts(fresh_db) == before
    dry = run(fresh_db, "micro-grids", str(second), "--rejects", rejects, "--dry-run")
    assert dry.exit_code == 0 and "a real run would be refused" in dry.output
    ok = run(
        fresh_db,
        *("micro-grids", str(second), "--rejects", rejects),
        *("--decision", "南湖网格〔2026〕7号", "--valid-from", "2026-07-01"),
    )
    assert ok.exit_code == 0, ok.output
    assert "0 new, 1 changed" in ok.output and "1 unchanged" in ok.output
    rows = sql(
        fresh_db,
        "SELECT valid_from, valid_to, decision_no FROM micro_grid WHERE code = %s"
        " ORDER BY valid_from",
        (micro(1, 1),),
    )
    assert len(rows) == 2 and rows[0][1] == rows[1][0] and rows[1][1] is None
    assert rows[0][2] is None and rows[1][2] == "南湖网格〔2026〕7号"
    assert rows[1][0].isoformat() == "2026-06-30T16:00:00+00:00"  # 2026-07-01 00:00 Shanghai
    options = sql(
        fresh_db,
        "SELECT options ->> 'decision_no', report ->> 'decision_no' FROM import_run"
        " WHERE kind = 'micro_grids' ORDER BY id DESC LIMIT 1",
    )
    assert options == [("南湖网格〔2026〕7号", "南湖网格〔2026〕7号")]


def test_files_that_cannot_be_used_exit_cleanly(fresh_db, tmp_path):
    load_grids(fresh_db)
    path = write(tmp_path / "nocode.geojson", [{"CODE_X": micro(1, 1)}], [quadrant("nw")])
    rejects = str(tmp_path / "r.geojson")
    for args, message in (
        ((str(path), "--rejects", rejects), "no micro-grid code field"),
        ((str(path), "--code-field", "NOPE", "--rejects", rejects), "no field code-field 'NOPE'"),
        ((str(path), "--rejects", str(tmp_path / "r.txt")), "name a .geojson or .csv"),
        ((str(tmp_path / "missing.gpkg"), "--rejects", rejects), "no such file"),
        ((str(path), "--code-field", "CODE_X"), "is a directory"),  # next to it: fine, but...
    ):
        if message == "is a directory":
            (tmp_path / "nocode.rejects.geojson").mkdir()  # ...a directory is in the way
        result = run(fresh_db, "micro-grids", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("gridscope: error:") and message in result.output
        assert "Traceback" not in result.output
    assert counts(fresh_db) == (0, 0, 0, 0)


# -- real Boston files --------------------------------------------------------------------------


def test_boston_precincts_as_micro_grids_of_the_wards(fresh_db, tmp_path):
    """The 255 precincts against the 22 wards: the two files were drawn apart, so most
    precincts stick out of their ward by a little (a median 0.12 % of their area) and one,
    1-15, lies entirely outside ward 1 in the wards file."""
    wards = run(fresh_db, "grids", str(REAL / "boston_wards.geojson"), *WARDS)
    assert wards.exit_code == 0, wards.output
    rejects, report_path = tmp_path / "precincts.rejects.geojson", tmp_path / "precincts.json"
    path = str(REAL / "boston_precincts_epsg4326.geojson")
    result = run(
        fresh_db,
        *("micro-grids", path, *PRECINCTS),
        *("--rejects", str(rejects), "--report", str(report_path)),
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    nest = report["nesting"]
    assert (nest["checked"], nest["nested"], nest["within_tolerance"], nest["refused"]) == (
        255,
        76,
        1,
        178,
    )
    worst = max(report["rejected"], key=lambda r: r["outside_m2"])
    assert worst["code"] == "US-MA-BOS-W0115" and worst["grid"] == "US-MA-BOS-W01"
    assert worst["outside_m2"] == pytest.approx(1_884_818, rel=0.001)
    assert worst["outside_share"] == pytest.approx(1.0, abs=1e-6)
    others = sorted(r["outside_share"] for r in report["rejected"] if r is not worst)
    assert 0.001 < others[len(others) // 2] < 0.0015 and others[-1] < 0.0051
    assert len(report["repaired"]) == 2  # the two self-intersecting precincts
    assert len(gpd.read_file(rejects)) == 178
    assert sql(fresh_db, "SELECT count(*), count(DISTINCT grid_code) FROM micro_grid") == [(77, 21)]
    # What was loaded nests in its ward, to the tolerance, in PostGIS's own measure.
    outside = sql(
        fresh_db,
        "SELECT max(ST_Area(ST_Difference(m.geom, g.geom)::geography)) FROM micro_grid m"
        " JOIN grid g ON g.code = m.grid_code AND g.valid_to IS NULL",
    )[0][0]
    assert outside <= 1.0
    again = run(fresh_db, "micro-grids", path, *PRECINCTS, "--rejects", str(rejects))
    assert "0 new, 0 changed (old version closed, new version added), 77 unchanged" in again.output
    # A share tolerance of 0.5 % accepts all but the island precinct and one other, unclipped.
    loose = run(
        fresh_db,
        *("micro-grids", path, *PRECINCTS, "--rejects", str(rejects), "--dry-run"),
        *("--tolerance-share", "0.005"),
    )
    assert "176 new" in loose.output and "2 rejected" in loose.output
