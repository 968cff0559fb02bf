"""The levels below the city: counties, towns, communities, grids (some exclusive), micro-grids."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from domain.vocabulary import EXCLUSIVE_KIND_NAMES_ZH
from gridscope.demo.territory.admin import Admin, name_stem
from gridscope.demo.territory.frame import (
    COUNTY_LAYOUT,
    KM_PER_DEG_X,
    KM_PER_DEG_Y,
    L_CITY,
    L_COMMUNITY,
    L_GRID,
    L_MICRO,
    L_TOWN,
    Density,
    base_density,
    km,
    unit_rng,
)
from gridscope.demo.territory.partition import partition, polygonal

# k-means cells get about equal mass of density**alpha; in 2-D the cell area then scales like
# density**(-alpha/2). Grids aim at equal households (area ∝ 1/density), towns and communities
# at the weaker urban/rural contrast of real admin units.
ALPHA_TOWN, ALPHA_COMMUNITY, ALPHA_GRID = 1.2, 1.5, 2.0

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
if not (set(URBAN_EXCLUSIVE) | set(RURAL_EXCLUSIVE)) <= set(EXCLUSIVE_KIND_NAMES_ZH):
    raise AssertionError("an exclusive grid kind is not in domain.vocabulary")


def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """A smooth irregular outline around Jiaxing's real extent (lon 120.3–121.3, lat 30.35–31)."""
    cx, cy = km(120.80, 30.675)
    a, b = 0.44 * KM_PER_DEG_X, 0.29 * KM_PER_DEG_Y
    theta = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    k = np.arange(2, 9)
    amp = rng.uniform(0.015, 0.05, k.size) / np.sqrt(k - 1)
    phase = rng.uniform(0, 2 * np.pi, k.size)
    wobble = 1 + (amp[:, None] * np.cos(k[:, None] * theta[None, :] + phase[:, None])).sum(0)
    r = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2) * wobble
    return shapely.Polygon(np.column_stack((cx + r * np.cos(theta), cy + r * np.sin(theta))))


def city_and_counties(seed: int) -> tuple[shapely.Polygon, dict[str, shapely.Geometry]]:
    rng = unit_rng(seed, L_CITY, 3304)
    outline = _outline(rng)
    codes = sorted(COUNTY_LAYOUT)
    gen = np.array([km(*COUNTY_LAYOUT[c][0]) for c in codes]) + rng.uniform(-1.2, 1.2, (7, 2))
    seats = np.array([km(*COUNTY_LAYOUT[c][1]) for c in codes])
    env = shapely.buffer(shapely.envelope(outline), 10.0)
    vor = shapely.voronoi_polygons(shapely.multipoints(gen), extend_to=env, ordered=True)
    cells = polygonal(shapely.intersection(shapely.get_parts(vor), outline))
    for code, cell, seat in zip(codes, cells, seats, strict=True):
        if not shapely.contains_xy(cell, *seat):
            raise RuntimeError(f"county seat of {code} fell outside its county")
    return outline, dict(zip(codes, cells, strict=True))


def towns_of(
    seed: int, admin: Admin, counties_km: dict[str, shapely.Geometry], county_codes: tuple[str, ...]
) -> pd.DataFrame:
    """Towns of the chosen counties: 街道 in the dense cells near the seat, 镇 further out."""
    towns = admin.towns[admin.towns["county_code"].isin(county_codes)]
    groups = [towns[towns["county_code"] == c] for c in county_codes]
    parents = np.array([counties_km[c] for c in county_codes], dtype=object)
    counts = np.array([len(g) for g in groups])
    density = base_density()
    rngs = [unit_rng(seed, L_TOWN, int(c)) for c in county_codes]
    geoms, pidx, xy = partition(parents, counts, rngs, density, ALPHA_TOWN, 150)
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


def communities_of(seed: int, admin: Admin, towns: pd.DataFrame, density: Density) -> pd.DataFrame:
    """Communities of the chosen towns: urban 社区 in the densest cells, villages around them."""
    comm = admin.communities
    groups = [comm[comm["town_code"] == c] for c in towns["code"]]
    rngs = [unit_rng(seed, L_COMMUNITY, int(c)) for c in towns["code"]]
    counts = np.array([len(g) for g in groups])
    geoms, pidx, xy = partition(
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


def grids_of(
    seed: int, communities: pd.DataFrame, towns: pd.DataFrame, density: Density
) -> pd.DataFrame:
    """Grids per community (urban 9–16 small ones, rural 5–9 larger), some of them exclusive."""
    n_comm = len(communities)
    urban = communities["urban"].to_numpy()
    rngs = [unit_rng(seed, L_GRID, int(c)) for c in communities["code"]]
    counts = np.array(
        [
            int(r.integers(9, 17)) if u else int(r.integers(5, 10))
            for r, u in zip(rngs, urban, strict=True)
        ]
    )
    geoms, pidx, xy = partition(
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
    stem = name_stem(community)
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


def micro_grids_of(seed: int, grids: pd.DataFrame) -> pd.DataFrame:
    """4–8 micro-grids per grid; comprehensive ones hold 20–80 households each."""
    rngs = [unit_rng(seed, L_MICRO, int(k)) for k in grids["key"]]
    hh = grids["households"].to_numpy()
    exclusive = (grids["grid_type"] == "exclusive").to_numpy()
    counts = np.empty(len(grids), dtype=np.int64)
    for i, rng in enumerate(rngs):
        if exclusive[i]:
            counts[i] = rng.integers(4, 7)
        else:
            lo, hi = max(4, math.ceil(hh[i] / 65)), min(8, hh[i] // 25)
            counts[i] = rng.integers(lo, hi + 1)
    geoms, pidx, _ = partition(grids["geometry"].to_numpy(), counts, rngs, None, 0, 25)
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
