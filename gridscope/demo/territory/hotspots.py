"""Ticket cluster centres: markets, schools, stations and old compounds (lon/lat)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridscope.demo.territory.frame import (
    COUNTY_LAYOUT,
    KM_PER_DEG_X,
    KM_PER_DEG_Y,
    LAT0,
    LON0,
    Density,
    km,
    unit_rng,
)


def hotspots_of(
    seed: int,
    grids: gpd.GeoDataFrame,
    towns: pd.DataFrame,
    county_codes: tuple[str, ...],
    density: Density,
) -> pd.DataFrame:
    """Ticket cluster centres: markets, schools, stations and old compounds (lon/lat)."""
    rng = unit_rng(seed, 9, 1)
    cen = shapely.centroid(grids["geometry"].to_numpy())
    gx, gy = shapely.get_x(cen), shapely.get_y(cen)
    rows: list[dict] = []
    weights = {"market": 3.0, "school": 2.0}
    for kind, w in weights.items():
        for j in np.flatnonzero((grids["exclusive_kind"] == kind).to_numpy()):
            rows.append(_hotspot(gx[j], gy[j], w, kind, grids["name"].iat[j], grids["code"].iat[j]))
    # Stations: the grid nearest each town seat; the central city and county seats weigh more.
    seats = [(t["seat_x"], t["seat_y"], 1.5, f"{t['name']}公交站") for _, t in towns.iterrows()]
    for code in county_codes:
        sx, sy = km(*COUNTY_LAYOUT[code][1])
        seats.append((sx, sy, 4.0, "客运中心"))
    gkx = (gx - LON0) * KM_PER_DEG_X
    gky = (gy - LAT0) * KM_PER_DEG_Y
    for sx, sy, w, label in seats:
        d = np.hypot(gkx - sx, gky - sy)
        j = int(np.argmin(d))
        if d[j] < 1.5:  # only when the seat lies in the built territory
            rows.append(_hotspot(gx[j], gy[j], w, "station", label, grids["code"].iat[j]))
    # Old compounds (老旧小区): urban comprehensive grids, denser places more likely.
    cand = np.flatnonzero((grids["urban"] & (grids["grid_type"] == "comprehensive")).to_numpy())
    if cand.size:
        n = max(3, int(round(0.08 * cand.size)))
        p = density(gkx[cand], gky[cand])
        pick = rng.choice(cand, size=min(n, cand.size), replace=False, p=p / p.sum())
        for j in np.sort(pick):
            name = f"{grids['name'].iat[j].split('第')[0]}老旧小区"
            rows.append(
                _hotspot(
                    gx[j],
                    gy[j],
                    float(rng.uniform(1.0, 2.5)),
                    "old_compound",
                    name,
                    grids["code"].iat[j],
                )
            )
    return pd.DataFrame(rows, columns=["x", "y", "weight", "kind", "name", "grid_code"])


def _hotspot(x: float, y: float, w: float, kind: str, name: str, grid_code: str) -> dict:
    return {
        "x": float(x),
        "y": float(y),
        "weight": float(w),
        "kind": kind,
        "name": name,
        "grid_code": grid_code,
    }
