"""Exact coverages in lon/lat, codes and names in reading order, and the region rows."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from domain.codes import NationalCodeRule, reading_order
from gridscope.demo.territory.admin import CITY_CODE, CITY_NAME, Admin
from gridscope.demo.territory.frame import AREA_CRS, CRS, GRID_SIZE_DEG
from gridscope.demo.territory.partition import polygonal


def clean_coverage(geoms: NDArray) -> NDArray:
    """Round to the 1e-7° grid and make an exact coverage (identical shared edges).

    Cells of one Voronoi diagram already share their edges, but a child edge that ends on
    its parent's boundary adds a vertex there that the cousins across that boundary lack
    (a T-junction). coverage_clean inserts such vertices on both sides; the final rounding
    maps equal coordinates to equal coordinates, so shared edges stay identical.
    """
    cleaned = shapely.coverage_clean(_round(geoms), snapping_distance=2 * GRID_SIZE_DEG)
    cleaned = polygonal(_round(cleaned))
    if not shapely.is_valid(cleaned).all() or not shapely.coverage_is_valid(cleaned):
        raise RuntimeError("generated micro-grids do not form a valid coverage")
    return cleaned


def _round(geoms: NDArray) -> NDArray:
    scale = 1.0 / GRID_SIZE_DEG
    return shapely.transform(geoms, lambda xy: np.round(xy * scale) / scale)


def group_union(geoms: NDArray, labels: NDArray) -> tuple[NDArray, NDArray]:
    """coverage_union of geoms per label; returns (sorted unique labels, unions)."""
    order = np.argsort(labels, kind="stable")
    uniq, start = np.unique(labels[order], return_index=True)
    bounds = np.append(start, len(order))
    out = np.empty(len(uniq), dtype=object)
    for k in range(len(uniq)):
        out[k] = shapely.coverage_union_all(geoms[order[bounds[k] : bounds[k + 1]]])
    return uniq, multi(out)


def multi(geoms: NDArray) -> NDArray:
    """Every geometry as a MultiPolygon."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    out = np.empty(len(geoms), dtype=object)
    out[:] = shapely.multipolygons(parts, indices=idx)
    return out


def _band(area_deg2: float, n: int) -> float:
    return math.sqrt(area_deg2 / max(n, 1))


def finish_grids(
    grids: pd.DataFrame, micro: pd.DataFrame, communities: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Grid geometry = union of its micro-grids; codes and names in reading order."""
    rule = NationalCodeRule()
    keys, geoms = group_union(micro["geometry"].to_numpy(), micro["grid_key"].to_numpy())
    grids = grids.set_index("key").loc[keys].reset_index()
    grids["geometry"] = geoms
    cen = shapely.centroid(geoms)
    grids["cx"], grids["cy"] = shapely.get_x(cen), shapely.get_y(cen)

    codes = np.empty(len(grids), dtype=object)
    names = np.empty(len(grids), dtype=object)
    for comm, idx in grids.groupby("community_code", sort=True).indices.items():
        area = float(shapely.area(shapely.coverage_union_all(geoms[idx])))
        order = idx[
            reading_order(
                grids["cx"].to_numpy()[idx], grids["cy"].to_numpy()[idx], _band(area, len(idx))
            )
        ]
        n_comp = 0
        for seq, j in enumerate(order, start=1):
            codes[j] = rule.grid_code(comm, seq)
            if grids["grid_type"].iat[j] == "exclusive":
                names[j] = f"{grids['facility'].iat[j]}专属网格"
            else:
                n_comp += 1
                names[j] = f"{grids['community_name'].iat[j]}第{n_comp}网格"
    grids["code"] = codes
    grids["name"] = names
    grids["area_m2"] = gpd.GeoSeries(geoms, crs=CRS).to_crs(AREA_CRS).area.to_numpy()
    grids = grids.sort_values("code", ignore_index=True)

    code_of_key = dict(zip(grids["key"], grids["code"], strict=True))
    name_of_key = dict(zip(grids["key"], grids["name"], strict=True))
    micro = micro.copy()
    micro["grid_code"] = micro["grid_key"].map(code_of_key)
    mgeom = multi(micro["geometry"].to_numpy())
    mcen = shapely.centroid(mgeom)
    mx, my = shapely.get_x(mcen), shapely.get_y(mcen)
    mcodes = np.empty(len(micro), dtype=object)
    mnames = np.empty(len(micro), dtype=object)
    garea = dict(zip(grids["code"], shapely.area(grids["geometry"].to_numpy()), strict=True))
    for gkey, idx in micro.groupby("grid_key", sort=True).indices.items():
        gcode = code_of_key[gkey]
        order = idx[reading_order(mx[idx], my[idx], _band(garea[gcode], len(idx)))]
        for seq, j in enumerate(order, start=1):
            mcodes[j] = rule.micro_grid_code(gcode, seq)
            mnames[j] = f"{name_of_key[gkey]}{seq}号微网格"
    micro_gdf = gpd.GeoDataFrame(
        {
            "code": mcodes,
            "grid_code": micro["grid_code"].to_numpy(),
            "name": mnames,
            "households": micro["households"].to_numpy(np.int64),
        },
        geometry=mgeom,
        crs=CRS,
    ).sort_values("code", ignore_index=True)

    grid_gdf = gpd.GeoDataFrame(
        {
            "code": grids["code"].astype(str),
            "name": grids["name"].astype(str),
            "community_code": grids["community_code"].astype(str),
            "grid_type": grids["grid_type"].astype(str),
            "exclusive_kind": nullable(grids["exclusive_kind"]),
            "households": grids["households"].astype(np.int64),
            "population": grids["population"].astype(np.int64),
            "area_m2": grids["area_m2"].astype(float),
            "urban": grids["urban"].astype(bool),
            "town_code": grids["town_code"].astype(str),
        },
        geometry=grids["geometry"].to_numpy(),
        crs=CRS,
    )
    return grid_gdf, micro_gdf


def regions_of(
    admin: Admin,
    county_codes: tuple[str, ...],
    towns: pd.DataFrame,
    communities: pd.DataFrame,
    grids: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """City, county, town and community rows; each geometry the union of its children."""
    g = grids["geometry"].to_numpy()
    comm_codes, comm_geom = group_union(g, grids["community_code"].to_numpy())
    town_of = dict(zip(communities["code"], communities["town_code"], strict=True))
    town_codes, town_geom = group_union(comm_geom, np.array([town_of[c] for c in comm_codes]))
    county_codes_arr, county_geom = group_union(town_geom, np.array([t[:6] for t in town_codes]))
    city_geom = multi(np.array([shapely.coverage_union_all(county_geom)], dtype=object))

    comm = communities.set_index("code").loc[comm_codes]
    town = towns.set_index("code").loc[town_codes]
    county_name = admin.counties.set_index("code")["name"]
    rows = {
        "code": [CITY_CODE, *county_codes_arr, *town_codes, *comm_codes],
        "name": [
            CITY_NAME,
            *county_name.loc[county_codes_arr],
            *town["name"],
            *comm["name"],
        ],
        "level": ["city"]
        + ["county"] * len(county_codes_arr)
        + ["town"] * len(town_codes)
        + ["community"] * len(comm_codes),
        "parent_code": [None]
        + [CITY_CODE] * len(county_codes_arr)
        + [t[:6] for t in town_codes]
        + comm["town_code"].tolist(),
        "kind": ["prefecture_city"]
        + [_county_kind(n) for n in county_name.loc[county_codes_arr]]
        + ["subdistrict" if s else "town" for s in town["street"]]
        + ["urban" if u else "rural" for u in comm["urban"]],
    }
    geoms = np.concatenate([city_geom, county_geom, town_geom, comm_geom])
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)
    out["parent_code"] = nullable(out["parent_code"])
    return out


def nullable(values: pd.Series) -> pd.Series:
    """An object column whose missing values are None (pandas would use NaN for str)."""
    arr = np.asarray(values, dtype=object)
    return pd.Series([v if isinstance(v, str) else None for v in arr], dtype=object)


def _county_kind(name: str) -> str:
    return {"区": "district", "县": "county", "市": "county_city"}[name[-1]]
