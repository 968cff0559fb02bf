"""The deterministic demo territory: real 嘉兴市 codes and names, synthesized boundaries.

Only the codes and names are real (gridscope/data/china_admin, 国家统计局 2023). Every boundary is
made up here: a smooth irregular outline of our own at Jiaxing's real location is split into
counties, towns, communities, grids and micro-grids by nested Voronoi diagrams. The seeds of each
level come from a k-means over sample points drawn inside the parent from a population density
(an urban peak over the central city and one over each county seat, small ones over town seats),
so units are small and dense in the urban cores and large outside.

Geometry is built in a local kilometre frame (so Voronoi cells are not stretched by the lon/lat
aspect), converted to EPSG:4326 lon/lat degrees, snapped to a 1e-7° grid (about 1 cm) and made
an exact polygonal coverage with `shapely.coverage_clean`: neighbours share identical edges. The
micro-grids are the atoms; every grid, community, town, county and the city row is the
`coverage_union` of its children, so each level covers its parent with no gap and no overlap.

Randomness: one `numpy.random.default_rng` per unit, seeded with (seed, level, parent key), so a
unit's children do not depend on which other units are built: the 'small' town is the same
town as in 'city' and 'large' for the same seed (up to the final global edge cleaning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from domain.codes import NationalCodeRule, reading_order
from gridscope.demo.model import SIZES, Territory
from gridscope.demo.people import build_people

CRS = "EPSG:4326"
# Equal-area projection for area_m2 (Lambert azimuthal equal-area centred on the city).
AREA_CRS = "+proj=laea +lat_0=30.7 +lon_0=120.8 +datum=WGS84 +units=m +no_defs"
GRID_SIZE_DEG = 1e-7

CITY_CODE = "3304"
CITY_NAME = "嘉兴市"
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "china_admin"

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

_SIZE_SPEC: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    # size: (counties, towns or None for all towns of those counties)
    "small": (("330402",), ("330402007",)),  # 建设街道, 5 urban communities
    "city": (("330402", "330411"), None),  # 南湖区 + 秀洲区: 22 towns, 313 communities
    "large": (tuple(COUNTY_LAYOUT), None),  # all of 嘉兴: 72 towns, 1,202 communities
}

# k-means cells get about equal mass of density**alpha; in 2-D the cell area then scales like
# density**(-alpha/2). Grids aim at equal households (area ∝ 1/density), towns and communities
# at the weaker urban/rural contrast of real admin units.
ALPHA_TOWN, ALPHA_COMMUNITY, ALPHA_GRID = 1.2, 1.5, 2.0

# Level tags for the per-unit random streams.
_L_CITY, _L_TOWN, _L_COMMUNITY, _L_GRID, _L_MICRO = 0, 1, 2, 3, 4

URBAN_SUFFIXES = ("社区", "居委会", "居民委员会")
RURAL_SUFFIXES = ("村委会", "村民委员会")

EXCLUSIVE_SHARE = 0.075
URBAN_EXCLUSIVE = {
    "school": 0.30,
    "market": 0.22,
    "hospital": 0.12,
    "office": 0.14,
    "government": 0.08,
    "enterprise": 0.14,
}
RURAL_EXCLUSIVE = {"industrial_park": 0.5, "enterprise": 0.35, "school": 0.15}
ENTERPRISE_TRADES = ("纺织", "电子", "机械", "食品", "新材料", "服饰", "皮革", "光伏")
SCHOOL_KINDS = ("小学", "中学", "实验学校", "幼儿园")


def build_territory(size: str, seed: int) -> Territory:
    """The demo territory of `size` ('small'|'city'|'large'), deterministic for (size, seed).

    Geometries are EPSG:4326 lon/lat MultiPolygons forming exact coverages (see the module
    docstring); area_m2 is computed in an equal-area projection.
    """
    if size not in _SIZE_SPEC:
        raise ValueError(f"unknown territory size {size!r}; expected one of {', '.join(SIZES)}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    county_codes, town_filter = _SIZE_SPEC[size]
    admin = load_admin()

    outline, counties_km = _city_and_counties(seed)
    towns = _towns(seed, admin, counties_km, county_codes)
    if town_filter is not None:
        towns = towns[towns["code"].isin(town_filter)].reset_index(drop=True)
    density = _density(towns)
    communities = _communities(seed, admin, towns, density)
    grids = _grids(seed, communities, towns, density)
    micro = _micro_grids(seed, grids)

    # From here on: lon/lat degrees, exact coverage, codes in reading order.
    micro_geom = _clean_coverage(_to_lonlat(micro["geometry"].to_numpy()))
    micro = micro.assign(geometry=micro_geom)
    grids, micro = _finish_grids(grids, micro, communities)
    regions = _regions(admin, county_codes, towns, communities, grids)

    departments, staff, assignments = build_people(regions, grids, micro, seed)
    hotspots = _hotspots(seed, grids, towns, county_codes, density)
    return Territory(
        size=size,
        seed=seed,
        regions=regions,
        grids=grids,
        micro_grids=micro,
        departments=departments,
        staff=staff,
        assignments=assignments,
        hotspots=hotspots,
    )


# --------------------------------------------------------------------------- admin tables


@dataclass(frozen=True)
class Admin:
    """The real 嘉兴 code tables (codes as str)."""

    counties: pd.DataFrame  # code, name
    towns: pd.DataFrame  # code, name, county_code
    communities: pd.DataFrame  # code, name, town_code, short_name, urban


@cache
def load_admin() -> Admin:
    """Read the shipped 嘉兴 code tables; communities get a short name and an urban flag."""
    counties = pd.read_csv(DATA_DIR / "jiaxing_3304_counties.csv", dtype=str)
    towns = pd.read_csv(DATA_DIR / "jiaxing_3304_streets.csv", dtype=str)
    villages = pd.read_csv(DATA_DIR / "jiaxing_3304_villages.csv", dtype=str)
    towns = towns.rename(columns={"areaCode": "county_code"})[["code", "name", "county_code"]]
    villages = villages.rename(columns={"streetCode": "town_code"})[["code", "name", "town_code"]]
    villages["urban"] = villages["name"].str.endswith(URBAN_SUFFIXES)
    rural = villages["name"].str.endswith(RURAL_SUFFIXES)
    if not (villages["urban"] ^ rural).all():
        bad = villages.loc[~(villages["urban"] ^ rural), "name"].tolist()
        raise ValueError(f"cannot classify communities as urban or rural: {bad[:5]}")
    villages["short_name"] = villages["name"].map(short_community_name)
    return Admin(
        counties=counties[["code", "name"]].sort_values("code", ignore_index=True),
        towns=towns.sort_values("code", ignore_index=True),
        communities=villages.sort_values("code", ignore_index=True),
    )


def short_community_name(name: str) -> str:
    """'百福弄社区居委会' → '百福弄社区', '博山村委会' → '博山村', '三北村村民委员会' → '三北村'."""
    for suffix in ("居民委员会", "村民委员会", "居委会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    if name.endswith("村委会"):
        return name[:-2]
    return name


def _name_stem(short_name: str) -> str:
    for suffix in ("社区", "村"):
        if short_name.endswith(suffix) and len(short_name) > len(suffix):
            return short_name[: -len(suffix)]
    return short_name


# --------------------------------------------------------------------------- frames & density


def _km(lon: float, lat: float) -> tuple[float, float]:
    return (lon - LON0) * KM_PER_DEG_X, (lat - LAT0) * KM_PER_DEG_Y


def _to_lonlat(geoms: NDArray) -> NDArray:
    def fn(xy: NDArray) -> NDArray:
        return np.column_stack((LON0 + xy[:, 0] / KM_PER_DEG_X, LAT0 + xy[:, 1] / KM_PER_DEG_Y))

    return shapely.transform(geoms, fn)


def _rng(seed: int, level: int, key: int) -> np.random.Generator:
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


def _base_density() -> Density:
    # The central city: a broad built-up area with a dense old core (子城/南湖 area).
    peaks = [(*_km(LON0, LAT0), 50.0, 5.0), (*_km(LON0, LAT0), 100.0, 1.5)]
    for code, (_, seat) in COUNTY_LAYOUT.items():
        if code not in ("330402", "330411"):  # both seats lie inside the central-city peak
            peaks.append((*_km(*seat), 30.0, 2.5))
    arr = np.array(peaks, dtype=float)
    return Density(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])


def _density(towns: pd.DataFrame) -> Density:
    base = _base_density()
    rural = towns[~towns["street"]]
    return Density(
        np.concatenate([base.x, rural["seat_x"].to_numpy(float)]),
        np.concatenate([base.y, rural["seat_y"].to_numpy(float)]),
        np.concatenate([base.amp, np.full(len(rural), 12.0)]),
        np.concatenate([base.sigma, np.full(len(rural), 0.9)]),
    )


# --------------------------------------------------------------------------- partitioning


def _sample_batch(
    parents: NDArray,
    m: NDArray,
    rngs: list[np.random.Generator],
    density: Density | None,
    alpha: float,
) -> list[NDArray]:
    """About m[i] points inside parents[i], drawn with probability ∝ density**alpha.

    Rejection sampling in rounds; each parent draws only from its own generator, so its
    points do not depend on the other parents. The point-in-polygon tests of a round run as
    one vectorised shapely call.
    """
    p_count = len(parents)
    bounds = shapely.bounds(parents)
    box_area = np.maximum((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-12)
    accept = np.clip(shapely.area(parents) / box_area, 0.05, 1.0)
    have = np.zeros(p_count, dtype=np.int64)
    wmax = np.full(p_count, np.nan)
    chunks: list[list[NDArray]] = [[] for _ in range(p_count)]
    use_density = density is not None and alpha > 0
    shapely.prepare(parents)
    for _ in range(40):
        todo = np.flatnonzero(have < m)
        if todo.size == 0:
            break
        k = np.clip(np.ceil(1.6 * (m[todo] - have[todo]) / accept[todo]), 32, 400_000)
        k = k.astype(np.int64)
        xs, ys, us = [], [], []
        for i, ki in zip(todo.tolist(), k.tolist(), strict=True):
            rng = rngs[i]
            xs.append(rng.uniform(bounds[i, 0], bounds[i, 2], ki))
            ys.append(rng.uniform(bounds[i, 1], bounds[i, 3], ki))
            if use_density:
                us.append(rng.random(ki))
        owner = np.repeat(todo, k)
        x, y = np.concatenate(xs), np.concatenate(ys)
        keep = shapely.contains_xy(parents[owner], x, y)
        if use_density:
            u = np.concatenate(us)[keep]
            x, y, owner = x[keep], y[keep], owner[keep]
            w = density(x, y) ** alpha
            first = np.isnan(wmax)
            np.fmax.at(wmax, owner[first[owner]], w[first[owner]])
            keep = u * wmax[owner] < w
        x, y, owner = x[keep], y[keep], owner[keep]
        got = np.bincount(owner, minlength=p_count)
        drawn = np.zeros(p_count)
        drawn[todo] = k
        ratio = np.divide(got, drawn, out=np.zeros(p_count), where=drawn > 0)
        accept[todo] = np.clip(ratio[todo], 0.01, 1.0)
        starts = np.searchsorted(owner, todo)
        stops = np.searchsorted(owner, todo, side="right")
        for i, a, b in zip(todo.tolist(), starts.tolist(), stops.tolist(), strict=True):
            if b > a:
                chunks[i].append(np.column_stack((x[a:b], y[a:b])))
        have += got
    out = []
    for i in range(p_count):
        pts = np.concatenate(chunks[i]) if chunks[i] else np.zeros((0, 2))
        out.append(pts[: m[i]])
    return out


def _kmeans_batch(
    samples: list[NDArray], counts: NDArray, rngs: list[np.random.Generator], iters: int = 12
) -> list[NDArray]:
    """k-means centres per parent (k-means++ start, Lloyd iterations), batched and padded."""
    out: list[NDArray] = []
    kmax = int(counts.max())
    mmax = max(len(s) for s in samples)
    chunk = max(1, 3_000_000 // max(mmax * kmax, 1))
    for lo in range(0, len(samples), chunk):
        part = samples[lo : lo + chunk]
        n = counts[lo : lo + chunk].astype(np.int64)
        b = len(part)
        pts = np.zeros((b, mmax, 2))
        cnt = np.array([len(s) for s in part])
        valid = np.arange(mmax)[None, :] < cnt[:, None]
        for r, s in enumerate(part):
            pts[r, : len(s)] = s
        # One uniform draw per centre from each parent's own generator; (0, 1] avoids picking
        # a point with zero weight in the k-means++ step.
        u = np.stack([1.0 - rngs[lo + r].random(kmax) for r in range(b)])
        rows = np.arange(b)
        centres = np.zeros((b, kmax, 2))
        first = np.minimum((u[:, 0] * cnt).astype(np.int64), cnt - 1)
        centres[:, 0] = pts[rows, first]
        d2 = np.where(valid, ((pts - centres[:, :1]) ** 2).sum(-1), 0.0)
        for k in range(1, kmax):
            cs = np.cumsum(d2, axis=1)
            j = np.minimum((cs < (u[:, k] * cs[:, -1])[:, None]).sum(axis=1), cnt - 1)
            centres[:, k] = pts[rows, j]
            new = np.where(valid, ((pts - centres[:, k : k + 1]) ** 2).sum(-1), 0.0)
            d2 = np.where((n > k)[:, None], np.minimum(d2, new), d2)
        live = np.arange(kmax)[None, :] < n[:, None]
        flat_base = (rows * kmax)[:, None]
        for _ in range(iters):
            # |p − c|² without the |p|² term, which does not change the argmin.
            dist = (centres**2).sum(-1)[:, None, :] - 2 * np.matmul(pts, centres.transpose(0, 2, 1))
            dist[~np.broadcast_to(live[:, None, :], dist.shape)] = np.inf
            lab = (dist.argmin(-1) + flat_base)[valid]
            sx = np.bincount(lab, weights=pts[..., 0][valid], minlength=b * kmax)
            sy = np.bincount(lab, weights=pts[..., 1][valid], minlength=b * kmax)
            c = np.bincount(lab, minlength=b * kmax)
            ok = (c > 0).reshape(b, kmax)
            mean = np.column_stack((sx / np.maximum(c, 1), sy / np.maximum(c, 1)))
            centres = np.where(ok[..., None], mean.reshape(b, kmax, 2), centres)
        out.extend(centres[r, : n[r]] for r in range(b))
    return out


def _partition(
    parents: NDArray,
    counts: NDArray,
    rngs: list[np.random.Generator],
    density: Density | None,
    alpha: float,
    per_child: int,
) -> tuple[NDArray, NDArray, NDArray]:
    """Split each parent polygon into counts[i] Voronoi cells of k-means seeds.

    Seeds are k-means centres of about per_child·counts[i] points sampled inside the parent
    with probability ∝ density**alpha, so cells hold similar "population". Returns (child
    polygons, parent index per child, seed xy per child), children grouped by parent in
    parent order. Children of one parent tile it exactly (up to float rounding); stray
    fragments of a cell are merged into the sibling they share most border with.
    """
    counts = np.asarray(counts, dtype=np.int64)
    parent_idx = np.repeat(np.arange(len(parents)), counts)
    multi = counts > 1
    sel = np.flatnonzero(multi)
    seeds: list[NDArray] = [np.zeros((0, 2))] * len(parents)
    if sel.size:
        sub_rngs = [rngs[i] for i in sel]
        samples = _sample_batch(parents[sel], per_child * counts[sel], sub_rngs, density, alpha)
        for i, s in zip(sel, samples, strict=True):
            if len(s) < counts[i]:
                raise RuntimeError(f"cannot place {counts[i]} seeds in unit {i}")
        for i, c in zip(sel, _kmeans_batch(samples, counts[sel], sub_rngs), strict=True):
            seeds[i] = c
    single = np.flatnonzero(~multi)
    if single.size:
        reps = shapely.point_on_surface(parents[single])
        for i, x, y in zip(single, shapely.get_x(reps), shapely.get_y(reps), strict=True):
            seeds[i] = np.array([[x, y]])
    xy = np.concatenate(seeds)
    children = np.empty(len(xy), dtype=object)
    children[np.searchsorted(parent_idx, single)] = parents[single]
    if sel.size:
        child_sel = multi[parent_idx]
        mps = shapely.multipoints(
            xy[child_sel], indices=np.searchsorted(sel, parent_idx[child_sel])
        )
        env = shapely.buffer(shapely.envelope(parents[sel]), 1.0, join_style="mitre")
        vor = shapely.voronoi_polygons(mps, extend_to=env, ordered=True)
        cells = shapely.get_parts(vor)
        if len(cells) != child_sel.sum():
            raise RuntimeError(f"voronoi returned {len(cells)} cells, expected {child_sel.sum()}")
        children[child_sel] = shapely.intersection(cells, parents[parent_idx[child_sel]])
    children = _polygonal(children)
    _merge_fragments(children, parent_idx)
    if (shapely.area(children) <= 0).any():
        raise RuntimeError("empty unit in partition")
    return children, parent_idx, xy


def _polygonal(geoms: NDArray) -> NDArray:
    """Keep only the polygonal parts of each geometry (as Polygon or MultiPolygon)."""
    out = geoms.copy()
    types = shapely.get_type_id(out)
    for i in np.flatnonzero((types != 3) & (types != 6)):
        parts = [
            p for p in shapely.get_parts(shapely.make_valid(out[i])) if p.geom_type == "Polygon"
        ]
        out[i] = shapely.MultiPolygon(parts) if parts else shapely.Polygon()
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = [_polygonal(np.array([shapely.make_valid(g)]))[0] for g in out[bad]]
    return out


def _merge_fragments(children: NDArray, parent_idx: NDArray) -> None:
    """Move the minor parts of multi-part cells into the sibling with the longest shared edge.

    A Voronoi cell clipped to a non-convex parent can fall apart; the minor pieces usually
    sit in a bay of the parent next to another sibling. Pieces touching no sibling stay.
    """
    multi = np.flatnonzero(shapely.get_num_geometries(children) > 1)
    for i in multi:
        parts = sorted(shapely.get_parts(children[i]), key=lambda p: -p.area)
        kept = [parts[0]]
        sib = np.flatnonzero((parent_idx == parent_idx[i]) & (np.arange(len(children)) != i))
        for part in parts[1:]:
            shared = shapely.length(shapely.intersection(part.boundary, children[sib]))
            if len(sib) and shared.max() > 0:
                j = sib[int(np.argmax(shared))]
                children[j] = _polygonal(np.array([shapely.union(children[j], part)]))[0]
            else:
                kept.append(part)
        children[i] = kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)


# --------------------------------------------------------------------------- levels


def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """A smooth irregular outline around Jiaxing's real extent (lon 120.3–121.3, lat 30.35–31)."""
    cx, cy = _km(120.80, 30.675)
    a, b = 0.44 * KM_PER_DEG_X, 0.29 * KM_PER_DEG_Y
    theta = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    k = np.arange(2, 9)
    amp = rng.uniform(0.015, 0.05, k.size) / np.sqrt(k - 1)
    phase = rng.uniform(0, 2 * np.pi, k.size)
    wobble = 1 + (amp[:, None] * np.cos(k[:, None] * theta[None, :] + phase[:, None])).sum(0)
    r = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2) * wobble
    return shapely.Polygon(np.column_stack((cx + r * np.cos(theta), cy + r * np.sin(theta))))


def _city_and_counties(seed: int) -> tuple[shapely.Polygon, dict[str, shapely.Geometry]]:
    rng = _rng(seed, _L_CITY, 3304)
    outline = _outline(rng)
    codes = sorted(COUNTY_LAYOUT)
    gen = np.array([_km(*COUNTY_LAYOUT[c][0]) for c in codes]) + rng.uniform(-1.2, 1.2, (7, 2))
    seats = np.array([_km(*COUNTY_LAYOUT[c][1]) for c in codes])
    env = shapely.buffer(shapely.envelope(outline), 10.0)
    vor = shapely.voronoi_polygons(shapely.multipoints(gen), extend_to=env, ordered=True)
    cells = _polygonal(shapely.intersection(shapely.get_parts(vor), outline))
    for code, cell, seat in zip(codes, cells, seats, strict=True):
        if not shapely.contains_xy(cell, *seat):
            raise RuntimeError(f"county seat of {code} fell outside its county")
    return outline, dict(zip(codes, cells, strict=True))


def _towns(
    seed: int, admin: Admin, counties_km: dict[str, shapely.Geometry], county_codes: tuple[str, ...]
) -> pd.DataFrame:
    """Towns of the chosen counties: 街道 in the dense cells near the seat, 镇 further out."""
    towns = admin.towns[admin.towns["county_code"].isin(county_codes)]
    groups = [towns[towns["county_code"] == c] for c in county_codes]
    parents = np.array([counties_km[c] for c in county_codes], dtype=object)
    counts = np.array([len(g) for g in groups])
    density = _base_density()
    rngs = [_rng(seed, _L_TOWN, int(c)) for c in county_codes]
    geoms, pidx, xy = _partition(parents, counts, rngs, density, ALPHA_TOWN, 150)
    rows = []
    for i, group in enumerate(groups):
        rng = rngs[i]
        mine = np.flatnonzero(pidx == i)
        rank = mine[np.argsort(-density(xy[mine, 0], xy[mine, 1]), kind="stable")]
        street = group["name"].str.endswith("街道").to_numpy()
        order = np.concatenate([rank[: street.sum()], rng.permutation(rank[street.sum() :])])
        names = pd.concat([group[street], group[~street]])
        for j, (_, t) in zip(order, names.iterrows(), strict=True):
            rows.append(
                {
                    "code": t["code"],
                    "name": t["name"],
                    "county_code": t["county_code"],
                    "street": t["name"].endswith("街道"),
                    "seat_x": xy[j, 0],
                    "seat_y": xy[j, 1],
                    "geometry": geoms[j],
                }
            )
    return pd.DataFrame(rows).sort_values("code", ignore_index=True)


def _communities(seed: int, admin: Admin, towns: pd.DataFrame, density: Density) -> pd.DataFrame:
    """Communities of the chosen towns: urban 社区 in the densest cells, villages around them."""
    comm = admin.communities
    groups = [comm[comm["town_code"] == c] for c in towns["code"]]
    rngs = [_rng(seed, _L_COMMUNITY, int(c)) for c in towns["code"]]
    counts = np.array([len(g) for g in groups])
    geoms, pidx, xy = _partition(
        towns["geometry"].to_numpy(), counts, rngs, density, ALPHA_COMMUNITY, 80
    )
    rows = []
    for i, group in enumerate(groups):
        rng = rngs[i]
        mine = np.flatnonzero(pidx == i)
        rank = mine[np.argsort(-density(xy[mine, 0], xy[mine, 1]), kind="stable")]
        urban = group["urban"].to_numpy()
        order = np.concatenate([rank[: urban.sum()], rng.permutation(rank[urban.sum() :])])
        names = pd.concat([group[urban], group[~urban]])
        for j, (_, c) in zip(order, names.iterrows(), strict=True):
            rows.append(
                {
                    "code": c["code"],
                    "name": c["short_name"],
                    "town_code": c["town_code"],
                    "urban": bool(c["urban"]),
                    "geometry": geoms[j],
                }
            )
    return pd.DataFrame(rows).sort_values("code", ignore_index=True)


def _grids(
    seed: int, communities: pd.DataFrame, towns: pd.DataFrame, density: Density
) -> pd.DataFrame:
    """Grids per community (urban 9–16 small ones, rural 5–9 larger), some of them exclusive."""
    n_comm = len(communities)
    urban = communities["urban"].to_numpy()
    rngs = [_rng(seed, _L_GRID, int(c)) for c in communities["code"]]
    counts = np.array(
        [
            int(r.integers(9, 17)) if u else int(r.integers(5, 10))
            for r, u in zip(rngs, urban, strict=True)
        ]
    )
    geoms, pidx, xy = _partition(
        communities["geometry"].to_numpy(), counts, rngs, density, ALPHA_GRID, 40
    )
    town_seat = towns.set_index("code")[["seat_x", "seat_y"]]
    seat = town_seat.loc[communities["town_code"]].to_numpy()
    grid_type = np.full(len(geoms), "comprehensive", dtype=object)
    kind = np.full(len(geoms), None, dtype=object)
    households = np.zeros(len(geoms), dtype=np.int64)
    population = np.zeros(len(geoms), dtype=np.int64)
    facility = np.full(len(geoms), None, dtype=object)
    for i in range(n_comm):
        rng = rngs[i]
        mine = np.flatnonzero(pidx == i)
        is_urban = bool(urban[i])
        lo, hi = (300, 501) if is_urban else (150, 401)
        households[mine] = rng.integers(lo, hi, mine.size)
        n_ex = min(int(rng.binomial(mine.size, EXCLUSIVE_SHARE)), 2, mine.size - 1)
        table = URBAN_EXCLUSIVE if is_urban else RURAL_EXCLUSIVE
        kinds = rng.choice(list(table), size=n_ex, p=list(table.values()))
        free = list(mine)
        # Industrial parks sit at the town's edge: the cell farthest from the town seat.
        far = sorted(free, key=lambda j: -math.dist(xy[j], seat[i]))
        for k in kinds:
            j = far[0] if k == "industrial_park" else free[int(rng.integers(len(free)))]
            free.remove(j)
            far.remove(j)
            grid_type[j] = "exclusive"
            kind[j] = str(k)
            households[j] = int(rng.integers(0, 61))
            facility[j] = _facility_name(str(k), str(communities["name"].iat[i]), is_urban, rng)
        population[mine] = np.round(households[mine] * rng.uniform(2.6, 3.0, mine.size))
    return pd.DataFrame(
        {
            "key": [int(communities["code"].iat[p]) * 1000 + j for p, j in _ordinal(pidx)],
            "community_code": communities["code"].to_numpy()[pidx],
            "community_name": communities["name"].to_numpy()[pidx],
            "town_code": communities["town_code"].to_numpy()[pidx],
            "urban": urban[pidx],
            "grid_type": grid_type,
            "exclusive_kind": kind,
            "facility": facility,
            "households": households,
            "population": population,
            "seed_x": xy[:, 0],
            "seed_y": xy[:, 1],
            "geometry": geoms,
        }
    )


def _ordinal(parent_idx: NDArray) -> list[tuple[int, int]]:
    """(parent, index within parent) per child of a grouped child array."""
    start = np.searchsorted(parent_idx, parent_idx)
    return list(
        zip(parent_idx.tolist(), (np.arange(len(parent_idx)) - start).tolist(), strict=True)
    )


def _facility_name(kind: str, community: str, urban: bool, rng: np.random.Generator) -> str:
    stem = _name_stem(community)
    if kind == "school":
        return stem + str(rng.choice(SCHOOL_KINDS if urban else ("小学", "中心幼儿园")))
    if kind == "market":
        return stem + "农贸市场"
    if kind == "hospital":
        return stem + "社区卫生服务中心"
    if kind == "office":
        return stem + str(rng.choice(("商务大厦", "金融中心", "科创中心")))
    if kind == "government":
        return stem + "行政服务中心"
    if kind == "enterprise":
        return stem + str(rng.choice(ENTERPRISE_TRADES)) + "有限公司"
    if kind == "industrial_park":
        return stem + "工业园区"
    return stem + "专属单位"


def _split(total: int, n: int, lo: int, hi: int, rng: np.random.Generator) -> NDArray:
    """n non-negative integers summing to total, each in [lo, hi] when possible."""
    w = rng.uniform(0.75, 1.25, n)
    parts = np.floor(total * w / w.sum()).astype(np.int64)
    parts = np.clip(parts, lo, hi)
    rest = total - int(parts.sum())
    i = 0
    while rest != 0 and i < 10 * n * (abs(rest) + 1):
        j = i % n
        if rest > 0 and parts[j] < hi:
            parts[j] += 1
            rest -= 1
        elif rest < 0 and parts[j] > lo:
            parts[j] -= 1
            rest += 1
        i += 1
    parts[0] += rest  # only when [lo, hi] cannot hold the total (exclusive grids with lo=0)
    return parts


def _micro_grids(seed: int, grids: pd.DataFrame) -> pd.DataFrame:
    """4–8 micro-grids per grid; comprehensive ones hold 20–80 households each."""
    rngs = [_rng(seed, _L_MICRO, int(k)) for k in grids["key"]]
    hh = grids["households"].to_numpy()
    exclusive = (grids["grid_type"] == "exclusive").to_numpy()
    counts = np.empty(len(grids), dtype=np.int64)
    for i, rng in enumerate(rngs):
        if exclusive[i]:
            counts[i] = rng.integers(4, 7)
        else:
            lo, hi = max(4, math.ceil(hh[i] / 65)), min(8, hh[i] // 25)
            counts[i] = rng.integers(lo, hi + 1)
    geoms, pidx, _ = _partition(grids["geometry"].to_numpy(), counts, rngs, None, 0, 25)
    split = [
        _split(int(hh[i]), int(counts[i]), 0 if exclusive[i] else 20, 80, rngs[i])
        for i in range(len(grids))
    ]
    return pd.DataFrame(
        {
            "grid_key": grids["key"].to_numpy()[pidx],
            "households": np.concatenate(split),
            "geometry": geoms,
        }
    )


# --------------------------------------------------------------------------- coverage & codes


def _clean_coverage(geoms: NDArray) -> NDArray:
    """Round to the 1e-7° grid and make an exact coverage (identical shared edges).

    Cells of one Voronoi diagram already share their edges, but a child edge that ends on
    its parent's boundary adds a vertex there that the cousins across that boundary lack
    (a T-junction). coverage_clean inserts such vertices on both sides; the final rounding
    maps equal coordinates to equal coordinates, so shared edges stay identical.
    """
    cleaned = shapely.coverage_clean(_round(geoms), snapping_distance=2 * GRID_SIZE_DEG)
    cleaned = _polygonal(_round(cleaned))
    if not shapely.is_valid(cleaned).all() or not shapely.coverage_is_valid(cleaned):
        raise RuntimeError("generated micro-grids do not form a valid coverage")
    return cleaned


def _round(geoms: NDArray) -> NDArray:
    scale = 1.0 / GRID_SIZE_DEG
    return shapely.transform(geoms, lambda xy: np.round(xy * scale) / scale)


def _group_union(geoms: NDArray, labels: NDArray) -> tuple[NDArray, NDArray]:
    """coverage_union of geoms per label; returns (sorted unique labels, unions)."""
    order = np.argsort(labels, kind="stable")
    uniq, start = np.unique(labels[order], return_index=True)
    bounds = np.append(start, len(order))
    out = np.empty(len(uniq), dtype=object)
    for k in range(len(uniq)):
        out[k] = shapely.coverage_union_all(geoms[order[bounds[k] : bounds[k + 1]]])
    return uniq, _multi(out)


def _multi(geoms: NDArray) -> NDArray:
    """Every geometry as a MultiPolygon."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    out = np.empty(len(geoms), dtype=object)
    out[:] = shapely.multipolygons(parts, indices=idx)
    return out


def _band(area_deg2: float, n: int) -> float:
    return math.sqrt(area_deg2 / max(n, 1))


def _finish_grids(
    grids: pd.DataFrame, micro: pd.DataFrame, communities: pd.DataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Grid geometry = union of its micro-grids; codes and names in reading order."""
    rule = NationalCodeRule()
    keys, geoms = _group_union(micro["geometry"].to_numpy(), micro["grid_key"].to_numpy())
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
    mgeom = _multi(micro["geometry"].to_numpy())
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
            "exclusive_kind": _nullable(grids["exclusive_kind"]),
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


def _regions(
    admin: Admin,
    county_codes: tuple[str, ...],
    towns: pd.DataFrame,
    communities: pd.DataFrame,
    grids: gpd.GeoDataFrame,
) -> gpd.GeoDataFrame:
    """City, county, town and community rows; each geometry the union of its children."""
    g = grids["geometry"].to_numpy()
    comm_codes, comm_geom = _group_union(g, grids["community_code"].to_numpy())
    town_of = dict(zip(communities["code"], communities["town_code"], strict=True))
    town_codes, town_geom = _group_union(comm_geom, np.array([town_of[c] for c in comm_codes]))
    county_codes_arr, county_geom = _group_union(town_geom, np.array([t[:6] for t in town_codes]))
    city_geom = _multi(np.array([shapely.coverage_union_all(county_geom)], dtype=object))

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
    out["parent_code"] = _nullable(out["parent_code"])
    return out


def _nullable(values: pd.Series) -> pd.Series:
    """An object column whose missing values are None (pandas would use NaN for str)."""
    arr = np.asarray(values, dtype=object)
    return pd.Series([v if isinstance(v, str) else None for v in arr], dtype=object)


def _county_kind(name: str) -> str:
    return {"区": "district", "县": "county", "市": "county_city"}[name[-1]]


# --------------------------------------------------------------------------- hotspots


def _hotspots(
    seed: int,
    grids: gpd.GeoDataFrame,
    towns: pd.DataFrame,
    county_codes: tuple[str, ...],
    density: Density,
) -> pd.DataFrame:
    """Ticket cluster centres: markets, schools, stations and old compounds (lon/lat)."""
    rng = _rng(seed, 9, 1)
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
        sx, sy = _km(*COUNTY_LAYOUT[code][1])
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
