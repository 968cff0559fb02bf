"""What the demo generators hand to the loader: frames whose columns match the schema tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import pandas as pd

Size = Literal["small", "city", "large"]
SIZES: tuple[str, ...] = ("small", "city", "large")
# Days of demo history (tickets, patrol). More than a year: a leader compares the last whole
# month with the same month a year before (同比, issue #12), and that month starts up to
# 365 + 62 days ago (asked on 31 January, last January began 426 days before). Tickets keep
# their yearly rate (gridscope.demo.load.TICKETS), so a year of the demo holds as many as before.
HISTORY_DAYS = 430


@dataclass
class Territory:
    """A partitioned territory. Geometries are EPSG:4326 (Multi)Polygons.

    regions:      code, name, level ('city'|'county'|'town'|'community'), parent_code, kind,
                  geometry — one row per region, the city included (its code is 4 digits).
    grids:        code (15), name, community_code (12), grid_type ('comprehensive'|'exclusive'),
                  exclusive_kind (None or one of the schema's kinds), households, population,
                  urban (bool), geometry.
    micro_grids:  code (18), grid_code, name, households, geometry.
    departments:  id (1..n), code, name, kind ('linked'|'service_unit'|'grid_institution'),
                  region_code, categories (list of major category codes it leads on).
    staff:        id (1..n), staff_no, name, phone, role, department_id (nullable Int64),
                  region_code.
    assignments:  staff_id, grid_code, micro_grid_code (nullable), role.
    hotspots:     x, y, weight, kind ('market'|'old_compound'|'station'|...) — the centres that
                  ticket generation clusters around (lon/lat degrees).
    """

    size: str
    seed: int
    regions: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame
    micro_grids: gpd.GeoDataFrame
    departments: pd.DataFrame
    staff: pd.DataFrame
    assignments: pd.DataFrame
    hotspots: pd.DataFrame

    @property
    def city_code(self) -> str:
        return str(self.regions.loc[self.regions["level"] == "city", "code"].iloc[0])
