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

The package, by concern: ``admin`` (the real code tables), ``frame`` (the km frame, random
streams, density), ``partition`` (Voronoi of k-means seeds), ``levels`` (counties down to
micro-grids), ``coverage`` (exact coverages, codes, region rows), ``hotspots``.
"""

from __future__ import annotations

import numpy as np

from gridscope.demo.model import SIZES, Territory
from gridscope.demo.people import build_people
from gridscope.demo.territory.admin import Admin, load_admin, short_community_name
from gridscope.demo.territory.coverage import clean_coverage, finish_grids, regions_of
from gridscope.demo.territory.frame import COUNTY_LAYOUT, density_for, to_lonlat
from gridscope.demo.territory.hotspots import hotspots_of
from gridscope.demo.territory.levels import (
    city_and_counties,
    communities_of,
    grids_of,
    micro_grids_of,
    towns_of,
)

_SIZE_SPEC: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    # size: (counties, towns or None for all towns of those counties)
    "small": (("330402",), ("330402007",)),  # 建设街道, 5 urban communities
    "city": (("330402", "330411"), None),  # 南湖区 + 秀洲区: 22 towns, 313 communities
    "large": (tuple(COUNTY_LAYOUT), None),  # all of 嘉兴: 72 towns, 1,202 communities
}


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

    outline, counties_km = city_and_counties(seed)
    towns = towns_of(seed, admin, counties_km, county_codes)
    if town_filter is not None:
        towns = towns[towns["code"].isin(town_filter)].reset_index(drop=True)
    density = density_for(towns)
    communities = communities_of(seed, admin, towns, density)
    grids = grids_of(seed, communities, towns, density)
    micro = micro_grids_of(seed, grids)

    # From here on: lon/lat degrees, exact coverage, codes in reading order.
    micro_geom = clean_coverage(to_lonlat(micro["geometry"].to_numpy()))
    micro = micro.assign(geometry=micro_geom)
    grids, micro = finish_grids(grids, micro, communities)
    regions = regions_of(admin, county_codes, towns, communities, grids)

    departments, staff, assignments = build_people(regions, grids, micro, seed)
    hotspots = hotspots_of(seed, grids, towns, county_codes, density)
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


__all__ = ["Admin", "build_territory", "load_admin", "short_community_name"]
