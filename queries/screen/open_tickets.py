"""The live open-ticket counts of the screen, in one pass over the open tickets: the KPI
ribbon's totals and, per grid, the tickets open past their handling due time that the town
ranking adds to each town (the same rows were read twice before, ~35,000 heap pages for the
large demo's city)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from ..scope import Scope

# The totals row (grid_code NULL, grouping 1) and one row per grid with a ticket open past
# due. Open tickets: the predicate of the partial index ticket_open, verbatim.
_OPEN_SQL = """
SELECT grouping(grid_code) = 1 AS total, grid_code,
       count(*) FILTER (WHERE state <> 'suspended') AS in_progress,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_warn_at <= %(now)s
                          AND stage_due_at > %(now)s) AS warning,
       count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS open_past_due,
       count(*) FILTER (WHERE state = 'suspended') AS suspended
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
 GROUP BY GROUPING SETS ((), (grid_code))
HAVING grouping(grid_code) = 1
    OR count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) > 0
"""

TOTAL_KEYS = ("in_progress", "overdue", "warning", "open_past_due", "suspended")
_PAST_DUE = TOTAL_KEYS.index("open_past_due")


@dataclass(frozen=True)
class OpenCounts:
    """``totals``: {in_progress (open, not suspended), overdue (not suspended, stage due before
    now), warning (not suspended, stage warn time passed, not yet due), open_past_due (not
    suspended, handling due_at before now), suspended}; ``past_due_by_grid``: open_past_due
    of each grid that has any."""

    totals: dict[str, int]
    past_due_by_grid: dict[str, int] = field(default_factory=dict)


def open_counts(conn: psycopg.Connection, scope: Scope, now: datetime) -> OpenCounts:
    """The open tickets of ``scope`` counted at ``now`` (see OpenCounts)."""
    totals = dict.fromkeys(TOTAL_KEYS, 0)
    by_grid: dict[str, int] = {}
    rows = conn.execute(_OPEN_SQL, {"like": scope.like, "now": now}).fetchall()
    for is_total, grid, *counts in rows:
        if is_total:
            totals = {k: int(v) for k, v in zip(TOTAL_KEYS, counts, strict=True)}
        else:
            by_grid[grid] = int(counts[_PAST_DUE])
    return OpenCounts(totals, by_grid)
