"""The local kilometre frame the territory is drawn in, per-unit random streams, density."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

CRS = "EPSG:4326"
# Equal-area projection for area_m2 (Lambert azimuthal equal-area centred on the city).
AREA_CRS = "+proj=laea +lat_0=30.7 +lon_0=120.8 +datum=WGS84 +units=m +no_defs"
GRID_SIZE_DEG = 1e-7

# Local frame: km east/north of the real city centre (南湖 area).
LON0, LAT0 = 120.755, 30.746
KM_PER_DEG_X = 111.320 * math.cos(math.radians(LAT0))
KM_PER_DEG_Y = 110.574

# Counties: (generator of the county Voronoi ~ the real county's centroid, real county seat).
COUNTY_LAYOUT: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "330402": ((120.84, 30.73), (120.78, 30.75)),  # 南湖区
    "330411": ((120.65, 30.80), (120.71, 30.77)),  # 秀洲区
    "330421": ((120.93, 30.90), (120.93, 30.84)),  # 嘉善县
    "330424": ((120.92, 30.55), (120.95, 30.53)),  # 海盐县
    "330481": ((120.58, 30.46), (120.68, 30.51)),  # 海宁市
    "330482": ((121.08, 30.70), (121.02, 30.70)),  # 平湖市
    "330483": ((120.47, 30.65), (120.56, 30.63)),  # 桐乡市
}

# Level tags for the per-unit random streams.
L_CITY, L_TOWN, L_COMMUNITY, L_GRID, L_MICRO = 0, 1, 2, 3, 4


def km(lon: float, lat: float) -> tuple[float, float]:
    return (lon - LON0) * KM_PER_DEG_X, (lat - LAT0) * KM_PER_DEG_Y


def to_lonlat(geoms: NDArray) -> NDArray:
    def fn(xy: NDArray) -> NDArray:
        return np.column_stack((LON0 + xy[:, 0] / KM_PER_DEG_X, LAT0 + xy[:, 1] / KM_PER_DEG_Y))

    return shapely.transform(geoms, fn)


def unit_rng(seed: int, level: int, key: int) -> np.random.Generator:
    return np.random.default_rng((seed, level, key))


@dataclass(frozen=True)
class Density:
    """Relative population density in the km frame: 1 + Σ amp·exp(−d²/2σ²)."""

    x: NDArray
    y: NDArray
    amp: NDArray
    sigma: NDArray

    def __call__(self, px: NDArray, py: NDArray) -> NDArray:
        out = np.ones(len(px))
        # Peaks are negligible beyond 5σ (e^-12.5); visit only the points in that x-range.
        order = np.argsort(px, kind="stable")
        sx = px[order]
        lo = np.searchsorted(sx, self.x - 5 * self.sigma)
        hi = np.searchsorted(sx, self.x + 5 * self.sigma, side="right")
        for k in range(len(self.x)):
            idx = order[lo[k] : hi[k]]
            if idx.size == 0:
                continue
            d2 = (px[idx] - self.x[k]) ** 2 + (py[idx] - self.y[k]) ** 2
            out[idx] += self.amp[k] * np.exp(-d2 / (2 * self.sigma[k] ** 2))
        return out


def base_density() -> Density:
    # The central city: a broad built-up area with a dense old core (子城/南湖 area).
    peaks = [(*km(LON0, LAT0), 50.0, 5.0), (*km(LON0, LAT0), 100.0, 1.5)]
    for code, (_, seat) in COUNTY_LAYOUT.items():
        if code not in ("330402", "330411"):  # both seats lie inside the central-city peak
            peaks.append((*km(*seat), 30.0, 2.5))
    arr = np.array(peaks, dtype=float)
    return Density(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


def density_for(towns: pd.DataFrame) -> Density:
    base = base_density()
    rural = towns[~towns["street"]]
    return Density(
        np.concatenate([base.x, rural["seat_x"].to_numpy(float)]),
        np.concatenate([base.y, rural["seat_y"].to_numpy(float)]),
        np.concatenate([base.amp, np.full(len(rural), 12.0)]),
        np.concatenate([base.sigma, np.full(len(rural), 0.9)]),
    )
