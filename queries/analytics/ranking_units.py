"""The territorial units a ranking compares: the towns, communities and grids below an area.

Which level a unit is at comes from the hierarchy (``region.level``, the ``grid`` table), never
from the length of its code, because the code rule is pluggable. Which grids belong to a unit is
the rule every jurisdiction check uses: the grids whose code starts with the unit's code.
A unit at the area itself (the town a town leader looks at) is not below it and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ..scope import Scope

# Territorial levels that are ranked, coarse to fine, with their names on the page.
LEVELS: tuple[tuple[str, str], ...] = (("town", "镇街"), ("community", "社区"), ("grid", "网格"))

# Versions valid at some time in [start, end): a unit renamed or retired during the periods
# compared still has its latest name; one retired before both is not listed.
_UNITS_SQL = """
SELECT * FROM (
    SELECT DISTINCT ON (code) level, code, name
      FROM region
     WHERE level IN ('town', 'community') AND code LIKE %(like)s AND code <> %(prefix)s
       AND valid_from < %(end)s AND (valid_to IS NULL OR valid_to > %(start)s)
     ORDER BY code, valid_from DESC
) r
UNION ALL
SELECT * FROM (
    SELECT DISTINCT ON (code) 'grid', code, name
      FROM grid
     WHERE code LIKE %(like)s AND code <> %(prefix)s
       AND valid_from < %(end)s AND (valid_to IS NULL OR valid_to > %(start)s)
     ORDER BY code, valid_from DESC
) g
"""


@dataclass
class Units:
    """The units of each ranked level below an area: level -> {code: name}."""

    by_level: dict[str, dict[str, str]] = field(default_factory=dict)

    def levels(self) -> list[str]:
        """The levels that have units, coarse to fine."""
        return [lv for lv, _ in LEVELS if self.by_level.get(lv)]

    def assign(self, level: str, grid_codes: list[str]) -> tuple[dict[str, str], list[str]]:
        """Each grid code's unit at ``level`` (the unit whose code the grid code starts with;
        at the grid level, the grid itself) and the grid codes that fall in no unit."""
        units = self.by_level.get(level) or {}
        if level == "grid":
            return {g: g for g in grid_codes if g in units}, [
                g for g in grid_codes if g not in units
            ]
        lengths = sorted({len(c) for c in units}, reverse=True)
        out: dict[str, str] = {}
        lost: list[str] = []
        for g in grid_codes:
            for n in lengths:
                if g[:n] in units:
                    out[g] = g[:n]
                    break
            else:
                lost.append(g)
        return out, lost


def units_below(conn: psycopg.Connection, scope: Scope, start: datetime, end: datetime) -> Units:
    """The towns, communities and grids strictly below ``scope``'s area that existed at some
    time in [start, end), with their latest names."""
    units = Units({lv: {} for lv, _ in LEVELS})
    rows = conn.execute(
        _UNITS_SQL, {"like": scope.like, "prefix": scope.prefix, "start": start, "end": end}
    ).fetchall()
    for level, code, name in rows:
        units.by_level[level][code] = name
    return units
