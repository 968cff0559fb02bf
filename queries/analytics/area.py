"""The coarse daily rollups (stat_area_daily per community, stat_area_category_daily per town
and category; migration 0008_analytics_area.sql): rebuilt from stat_daily after a bulk load,
and chosen by ``use_area`` when the caller's scope is a whole region."""

from __future__ import annotations

import psycopg
from psycopg import sql

from domain.workflow.timeliness import STAT_COUNTS

from ..scope import Scope

_SUMS = sql.SQL(", ").join(sql.SQL("sum({c})").format(c=sql.Identifier(c)) for c in STAT_COUNTS)
_SUMS_AS = sql.SQL(", ").join(
    sql.SQL("sum({c}) AS {c}").format(c=sql.Identifier(c)) for c in STAT_COUNTS
)
_COLS = sql.SQL(", ").join(map(sql.Identifier, STAT_COUNTS))

# Rows are written in key order (day first): a period's rows then lie on a few hundred pages
# instead of thousands (a city month of community rows on the large demo: 450, not 5,000).
_REBUILD = sql.SQL(
    """
CREATE TEMP TABLE area_map ON COMMIT DROP AS
SELECT * FROM gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM stat_daily));
ANALYZE area_map;
CREATE TEMP TABLE area_community ON COMMIT DROP AS
SELECT d.day, a.community_code, a.town_code, {sums_as}
  FROM stat_daily d JOIN area_map a ON a.grid_code = d.grid_code
 GROUP BY 1, 2, 3;
INSERT INTO stat_area_daily (day, level, area_code, {cols})
SELECT day, 'community', community_code, {cols} FROM area_community ORDER BY 1, 3;
INSERT INTO stat_area_daily (day, level, area_code, {cols})
SELECT day, 'town', town_code, {tsums} FROM area_community GROUP BY 1, 3 ORDER BY 1, 3;
CREATE TEMP TABLE area_town_category ON COMMIT DROP AS
SELECT d.day, a.town_code, a.county_code, d.category_code, {sums_as}
  FROM stat_daily d JOIN area_map a ON a.grid_code = d.grid_code
 GROUP BY 1, 2, 3, 4;
INSERT INTO stat_area_category_daily (day, level, area_code, category_code, {cols})
SELECT day, 'town', town_code, category_code, {cols} FROM area_town_category
 ORDER BY 1, 3, 4;
INSERT INTO stat_area_category_daily (day, level, area_code, category_code, {cols})
SELECT day, 'county', county_code, category_code, {tsums} FROM area_town_category
 GROUP BY 1, 3, 4 ORDER BY 1, 3, 4;
"""
)


_REBUILD_HOURS = """
INSERT INTO stat_hour_daily (day, town_code, hour, created)
SELECT h.day, a.town_code, h.hour, sum(h.n)
  FROM (SELECT (created_at AT TIME ZONE %(tz)s)::date AS day,
               extract(hour FROM created_at AT TIME ZONE %(tz)s)::smallint AS hour,
               grid_code, count(*) AS n
          FROM ticket GROUP BY 1, 2, 3) h
  JOIN gridscope_grid_areas(ARRAY(SELECT DISTINCT grid_code FROM ticket)) a
    ON a.grid_code = h.grid_code
 GROUP BY 1, 2, 3
"""


def rebuild_area_rollups(conn: psycopg.Connection, tz: str) -> None:
    """Recompute the coarse rollups from stat_daily and the hour rollup from the tickets,
    inside the caller's transaction."""
    conn.execute("TRUNCATE stat_area_daily, stat_area_category_daily, stat_hour_daily")
    conn.execute(_REBUILD.format(cols=_COLS, sums=_SUMS, sums_as=_SUMS_AS, tsums=_SUMS))
    conn.execute(_REBUILD_HOURS, {"tz": tz})


# Region levels whose codes are community codes or their prefixes: a scope equal to one of
# them covers whole communities, so the per-community rollup answers it exactly.
_REGION_SQL = "SELECT level FROM region WHERE code = %s AND valid_to IS NULL"


def area_level(conn: psycopg.Connection, scope: Scope) -> str | None:
    """The finest stat_area_daily level that answers ``scope`` exactly: 'town' for the whole
    database or a city, county or town (every town's grids fall wholly inside or outside it),
    'community' for a community, None for anything finer (use stat_daily)."""
    if scope.empty:
        return None
    if scope.prefix == "":
        return "town"
    row = conn.execute(_REGION_SQL, (scope.prefix,)).fetchone()
    if row is None:
        return None
    return "community" if row[0] == "community" else "town"


def category_level(conn: psycopg.Connection, scope: Scope) -> str | None:
    """The level of the town/county rollups (stat_area_category_daily, stat_task_area_daily,
    stat_survey_daily) that answers ``scope`` exactly: 'county' for the whole database, a city
    or a county, 'town' for a town, None for anything finer."""
    if scope.empty:
        return None
    if scope.prefix == "":
        return "county"
    row = conn.execute(_REGION_SQL, (scope.prefix,)).fetchone()
    if row is None or row[0] == "community":
        return None
    return "town" if row[0] == "town" else "county"
