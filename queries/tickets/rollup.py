"""The daily rollup (``stat_daily``) as the write path keeps it: counts added per step."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import psycopg
from psycopg import sql

from domain.workflow.timeliness import STAT_COUNTS

# The count columns of stat_daily (the names of domain.workflow.timeliness.STAT_COUNTS).
STAT_COLUMNS = STAT_COUNTS


def stat_upsert(
    cur: psycopg.Cursor,
    day: date,
    grid_code: str,
    category_code: str,
    counts: Mapping[str, int],
) -> None:
    """Add ``counts`` to the rollup row of (local ``day``, grid, category); zeros are skipped."""
    nonzero = {k: v for k, v in counts.items() if v}
    if not nonzero:
        return
    unknown = set(nonzero) - set(STAT_COLUMNS)
    if unknown:
        raise ValueError(f"not stat_daily columns: {sorted(unknown)}")
    cols = sorted(nonzero)
    # Identifiers come from the allowlist STAT_COLUMNS checked above.
    query = sql.SQL(
        "INSERT INTO stat_daily (day, grid_code, category_code, {cols}) VALUES (%s, %s, %s, {vals})"
        " ON CONFLICT (day, grid_code, category_code) DO UPDATE SET {sets}"
    ).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = stat_daily.{c} + EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in cols
        ),
    )
    cur.execute(query, (day, grid_code, category_code, *[nonzero[c] for c in cols]))
