"""The per-grid daily counts of created, closed (on time) and reworked tickets
(``stat_grid_daily``, migration 0008_analytics_hotspots.sql): kept by triggers on stat_daily,
rebuilt whole after a bulk load that bypassed them."""

from __future__ import annotations

import psycopg

_REBUILD = """
INSERT INTO stat_grid_daily (day, grid_code, created, closed, closed_on_time, reworked)
SELECT day, grid_code, sum(created), sum(closed), sum(closed_on_time), sum(reworked)
  FROM stat_daily GROUP BY 1, 2
HAVING sum(created) <> 0 OR sum(closed) <> 0 OR sum(closed_on_time) <> 0 OR sum(reworked) <> 0
"""


def rebuild_grid_daily(conn: psycopg.Connection) -> int:
    """Recompute stat_grid_daily from stat_daily inside the caller's transaction; returns the
    rows written."""
    conn.execute("TRUNCATE stat_grid_daily")
    return conn.execute(_REBUILD).rowcount
