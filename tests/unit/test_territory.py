"""The demo territory generator: determinism, codes, partition invariants, staff (size 'small')."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import shapely

from domain.codes import NationalCodeRule, reading_order
from gridscope.demo.model import Territory
from gridscope.demo.territory import build_territory, short_community_name

SEED = 20240601
REL_TOL = 1e-9


@pytest.fixture(scope="module")
def terr() -> Territory:
    return build_territory("small", SEED)


def _wkb(t: Territory) -> list[bytes]:
    frames = (t.regions, t.grids, t.micro_grids)
    return [shapely.to_wkb(g) for f in frames for g in f.geometry.to_numpy()]


def _codes(t: Territory) -> list[str]:
    return [*t.regions["code"], *t.grids["code"], *t.micro_grids["code"]]


# --------------------------------------------------------------------------- API


def test_unknown_size_names_the_allowed_sizes() -> None:
    with pytest.raises(ValueError, match="small.*city.*large"):
        build_territory("huge", 1)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_bad_seed_is_rejected(seed: object) -> None:
    with pytest.raises(ValueError):
        build_territory("small", seed)  # type: ignore[arg-type]


def test_short_community_names() -> None:
    assert short_community_name("百福弄社区居委会") == "百福弄社区"
    assert short_community_name("文星社区居民委员会") == "文星社区"
    assert short_community_name("博山村委会") == "博山村"
    assert short_community_name("三北村村民委员会") == "三北村"


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_territory(terr: Territory) -> None:
    again = build_territory("small", SEED)
    assert _codes(again) == _codes(terr)
    assert _wkb(again) == _wkb(terr)
    pd.testing.assert_frame_equal(again.staff, terr.staff)
    pd.testing.assert_frame_equal(again.assignments, terr.assignments)
    pd.testing.assert_frame_equal(again.hotspots, terr.hotspots)


def test_other_seed_other_territory(terr: Territory) -> None:
    other = build_territory("small", SEED + 1)
    assert set(_wkb(other)).isdisjoint(set(_wkb(terr)))
    assert other.staff["name"].tolist() != terr.staff["name"].tolist()


# --------------------------------------------------------------------------- codes


def test_region_rows(terr: Territory) -> None:
    r = terr.regions
    rule = NationalCodeRule()
    assert r["code"].is_unique
    assert r["level"].value_counts().to_dict() == {
        "community": 5,
        "city": 1,
        "county": 1,
        "town": 1,
    }
    assert terr.city_code == "3304"
    for code, level in zip(r["code"], r["level"], strict=True):
        assert rule.validate_region(code, level) is None
    parents = dict(zip(r["code"], r["level"], strict=True))
    expected_parent = {"county": "city", "town": "county", "community": "town"}
    for code, level, parent in zip(r["code"], r["level"], r["parent_code"], strict=True):
        if level == "city":
            assert parent is None or pd.isna(parent)
        else:
            assert code.startswith(parent) and parents[parent] == expected_parent[level]
    town = r[r["level"] == "town"].iloc[0]
    assert (town["code"], town["name"]) == ("330402007", "建设街道")


def test_grid_and_micro_grid_codes(terr: Territory) -> None:
    rule = NationalCodeRule()
    g, m = terr.grids, terr.micro_grids
    assert g["code"].is_unique and m["code"].is_unique
    assert set(g["community_code"]) == set(
        terr.regions.loc[terr.regions["level"] == "community", "code"]
    )
    for code, comm in zip(g["code"], g["community_code"], strict=True):
        assert re.fullmatch(r"\d{15}", code) and code.startswith(comm)
        assert rule.validate_grid(code, comm) is None
    for code, grid in zip(m["code"], m["grid_code"], strict=True):
        assert re.fullmatch(r"\d{18}", code) and code.startswith(grid)
        assert rule.validate_micro_grid(code, grid) is None
    assert set(m["grid_code"]) == set(g["code"])
    # Sequences are 001..n without gaps within each parent.
    for frame, parent in ((g, "community_code"), (m, "grid_code")):
        for _, codes in frame.groupby(parent)["code"]:
            assert sorted(int(c[-3:]) for c in codes) == list(range(1, len(codes) + 1))


def _check_reading_order(children: pd.DataFrame, parent_col: str, parent_area: dict) -> None:
    cen = shapely.centroid(children.geometry.to_numpy())
    children = children.assign(cx=shapely.get_x(cen), cy=shapely.get_y(cen))
    for parent, grp in children.groupby(parent_col):
        band = math.sqrt(parent_area[parent] / len(grp))
        expected = grp["code"].to_numpy()[reading_order(grp["cx"], grp["cy"], band)]
        assert expected.tolist() == sorted(grp["code"]), parent


def test_codes_follow_reading_order(terr: Territory) -> None:
    r = terr.regions
    comm_area = dict(zip(r["code"], shapely.area(r.geometry.to_numpy()), strict=True))
    _check_reading_order(terr.grids, "community_code", comm_area)
    grid_area = dict(
        zip(terr.grids["code"], shapely.area(terr.grids.geometry.to_numpy()), strict=True)
    )
    _check_reading_order(terr.micro_grids, "grid_code", grid_area)


# --------------------------------------------------------------------------- geometry


def _partition_errors(parents: dict, children: list[tuple[str, shapely.Geometry]]) -> list[str]:
    """Gaps (union ≠ parent) and overlaps (Σ areas ≠ parent area) per parent, as messages."""
    errors = []
    by_parent: dict[str, list] = {}
    for parent, geom in children:
        by_parent.setdefault(parent, []).append(geom)
    for code, parent in parents.items():
        kids = by_parent.get(code, [])
        if not kids:
            errors.append(f"{code}: no children")
            continue
        union = shapely.union_all(kids)
        area = parent.area
        diff = shapely.symmetric_difference(union, parent).area
        if diff > REL_TOL * area:
            errors.append(f"{code}: union differs from parent by {diff / area:.2e}")
        total = float(shapely.area(np.array(kids)).sum())
        if abs(total - area) > REL_TOL * area:
            errors.append(f"{code}: child areas sum to {total / area:.12f} of the parent")
    return errors


def test_partition_checker_detects_gaps_and_overlaps() -> None:
    parent = {"P": shapely.box(0, 0, 2, 1)}
    good = [("P", shapely.box(0, 0, 1, 1)), ("P", shapely.box(1, 0, 2, 1))]
    gap = [("P", shapely.box(0, 0, 1, 1)), ("P", shapely.box(1.001, 0, 2, 1))]
    overlap = [("P", shapely.box(0, 0, 1.001, 1)), ("P", shapely.box(1, 0, 2, 1))]
    assert _partition_errors(parent, good) == []
    assert _partition_errors(parent, gap)
    assert _partition_errors(parent, overlap)


def test_every_level_partitions_its_parent(terr: Territory) -> None:
    r = terr.regions
    geom = dict(zip(r["code"], r.geometry, strict=True))
    for level in ("county", "town", "community"):
        rows = r[r["level"] == level]
        parent_codes = set(rows["parent_code"])
        parents = {c: geom[c] for c in parent_codes}
        children = list(zip(rows["parent_code"], rows.geometry, strict=True))
        assert _partition_errors(parents, children) == [], level
    comms = {c: geom[c] for c in r.loc[r["level"] == "community", "code"]}
    grids = list(zip(terr.grids["community_code"], terr.grids.geometry, strict=True))
    assert _partition_errors(comms, grids) == []
    grid_geom = dict(zip(terr.grids["code"], terr.grids.geometry, strict=True))
    micro = list(zip(terr.micro_grids["grid_code"], terr.micro_grids.geometry, strict=True))
    assert _partition_errors(grid_geom, micro) == []


def test_neighbours_share_identical_edges(terr: Territory) -> None:
    assert shapely.coverage_is_valid(terr.micro_grids.geometry.to_numpy())
    assert shapely.coverage_is_valid(terr.grids.geometry.to_numpy())
    comm = terr.regions[terr.regions["level"] == "community"]
    assert shapely.coverage_is_valid(comm.geometry.to_numpy())


def test_every_grid_lies_in_exactly_its_community(terr: Territory) -> None:
    comm = terr.regions[terr.regions["level"] == "community"].reset_index(drop=True)
    tree = shapely.STRtree(comm.geometry.to_numpy())
    inner = shapely.point_on_surface(terr.grids.geometry.to_numpy())
    for point, grid, code in zip(
        inner, terr.grids.geometry, terr.grids["community_code"], strict=True
    ):
        hits = tree.query(point, predicate="intersects")
        assert comm.loc[hits, "code"].tolist() == [code]
        inside = shapely.intersection(grid, comm.geometry.iloc[hits[0]]).area
        assert inside >= (1 - REL_TOL) * grid.area


def test_geometries_are_valid_multipolygons_in_4326(terr: Territory) -> None:
    for frame in (terr.regions, terr.grids, terr.micro_grids):
        assert frame.crs.to_epsg() == 4326
        geoms = frame.geometry.to_numpy()
        assert shapely.is_valid(geoms).all()
        assert set(frame.geom_type) == {"MultiPolygon"}
        assert (shapely.area(geoms) > 0).all()
    lon_min, lat_min, lon_max, lat_max = terr.regions.total_bounds
    assert 120.3 < lon_min < lon_max < 121.3 and 30.35 < lat_min < lat_max < 31.0


# --------------------------------------------------------------------------- attributes


def test_grid_attributes(terr: Territory) -> None:
    g = terr.grids
    assert 40 <= len(g) <= 90 and len(terr.micro_grids) >= 200
    assert ((g["grid_type"] == "exclusive") == g["exclusive_kind"].notna()).all()
    comp = g[g["grid_type"] == "comprehensive"]
    urban = comp[comp["urban"]]
    assert urban["households"].between(300, 500).all()
    assert comp.loc[~comp["urban"], "households"].between(150, 400).all()
    ratio = comp["population"] / comp["households"]
    assert ratio.between(2.59, 3.01).all()
    assert (g["area_m2"] > 0).all()
    n_micro = terr.micro_grids.groupby("grid_code").size()
    assert n_micro.between(4, 8).all()
    m = terr.micro_grids.merge(comp[["code"]], left_on="grid_code", right_on="code")
    assert m["households"].between(20, 80).all()
    hh = terr.micro_grids.groupby("grid_code")["households"].sum()
    assert (hh.loc[g["code"]].to_numpy() == g["households"].to_numpy()).all()
    exclusive_names = g.loc[g["grid_type"] == "exclusive", "name"]
    assert exclusive_names.str.endswith("专属网格").all()
    assert comp["name"].str.fullmatch(r".+(社区|村)第\d+网格").all()


def test_every_grid_has_a_chief_and_comprehensive_ones_a_fulltime_worker(terr: Territory) -> None:
    a = terr.assignments
    chiefs = set(a.loc[a["role"] == "grid_chief", "grid_code"])
    assert chiefs == set(terr.grids["code"])
    comp = terr.grids.loc[terr.grids["grid_type"] == "comprehensive", "code"]
    fulltime = set(a.loc[a["role"] == "fulltime_worker", "grid_code"])
    assert set(comp) <= fulltime


def test_staff_and_assignments_are_consistent(terr: Territory) -> None:
    s, a, d = terr.staff, terr.assignments, terr.departments
    assert s["id"].tolist() == list(range(1, len(s) + 1))
    assert s["staff_no"].is_unique and s["phone"].is_unique
    assert s["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert s["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    assert set(a["staff_id"]) <= set(s["id"])
    assert set(a["grid_code"]) <= set(terr.grids["code"])
    micro = a.dropna(subset=["micro_grid_code"])
    assert (micro["role"] == "micro_grid_chief").all() and len(micro) > 0
    assert all(
        mc.startswith(gc)
        for mc, gc in zip(micro["micro_grid_code"], micro["grid_code"], strict=True)
    )
    assert set(micro["micro_grid_code"]) <= set(terr.micro_grids["code"])
    assert set(s["department_id"].dropna()) <= set(d["id"])
    assert set(s["region_code"]) <= set(terr.regions["code"])
    roles = set(s["role"])
    assert {"grid_chief", "fulltime_worker", "micro_grid_chief", "grid_instructor"} <= roles
    assert {"centre_operator", "department_officer"} <= roles
    operators = s[s["role"] == "centre_operator"]
    town = terr.regions.loc[terr.regions["level"] == "town", "code"].iloc[0]
    assert (operators["region_code"] == town).sum() >= 3
    # A staff member may hold several assignments (shared chiefs, instructors).
    assert a["staff_id"].duplicated().any()


def test_departments(terr: Territory) -> None:
    d = terr.departments
    assert d["id"].tolist() == list(range(1, len(d) + 1)) and d["code"].is_unique
    assert set(d["kind"]) == {"linked", "service_unit", "grid_institution"}
    valid = {"01", "02", "03", "04", "05", "06", "07", "08", "09", "99"}
    assert all(c and set(c) <= valid for c in d["categories"])
    covered = set().union(*map(set, d["categories"]))
    assert covered == valid  # every major category has a lead department
    assert d["name"].str.contains("公安").any() and d["name"].str.contains("综合信息指挥室").any()


def test_hotspots(terr: Territory) -> None:
    h = terr.hotspots
    assert {"x", "y", "weight", "kind"} <= set(h.columns)
    assert (h["weight"] > 0).all() and "old_compound" in set(h["kind"])
    city = terr.regions.loc[terr.regions["level"] == "city"].geometry.iloc[0]
    assert shapely.contains_xy(city, h["x"].to_numpy(), h["y"].to_numpy()).all()
    g = terr.grids
    for kind in ("market", "school"):
        grids = set(g.loc[g["exclusive_kind"] == kind, "code"])
        assert grids == set(h.loc[h["kind"] == kind, "grid_code"])
