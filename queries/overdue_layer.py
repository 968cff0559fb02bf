"""The overdue-ticket layer: open tickets in warning or overdue (not suspended), each with its
supervision ladder step at the instant ``now`` (DOMAIN.md §4).

Open and overdue/warning use the screen's definitions verbatim (queries/screen.py): open =
the predicate of the partial index ``ticket_open``; overdue = ``stage_due_at < now``;
warning = ``stage_warn_at <= now AND stage_due_at > now``; suspended tickets are left out.

Ladder step, derived at ``now`` (not the stored ``supervision`` column, which records what the
centre actually issued):

- 1 reminder (提醒): in warning;
- 2 yellow card (黄牌): overdue;
- 3 red card (红牌): overdue by at least 100 % of the stage's limit
  (``now − stage_due_at ≥ stage_due_at − stage_started_at``, calendar time), or reworked twice
  or more (``rework_count ≥ 2``) while in warning or overdue.

Only public facts leave this module: ticket number, category, grid name, stage, lead
department, times. No address, description, reporter or any personal data (DOMAIN.md §7).
Positions are the ticket points, WGS84 lon/lat.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from domain.workflow.rules import STAGE_NAMES_ZH

from .scope import Scope

log = logging.getLogger(__name__)

STEPS: dict[int, tuple[str, str]] = {
    1: ("warning", "预警·提醒"),
    2: ("yellow", "超期·黄牌"),
    3: ("red", "超期·红牌"),
}
# The lowest step shown: all (warning and worse), overdue (yellow and red) or red only.
MIN_STEPS: dict[str, int] = {"all": 1, "overdue": 2, "red": 3}
MAJOR_CATEGORIES: tuple[str, ...] = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "99")
# Features per payload at most, worst first; the rest are counted in meta.truncated.
MAX_FEATURES = 20_000

# The ladder in SQL, so filtering by step happens before the cap. Warning or overdue implies
# stage_warn_at <= now (warn precedes due), the key of the partial index ticket_open_warn
# (migration 0004), which covers every column read here: an index-only range scan.
_OVERDUE_SQL = """
WITH o AS MATERIALIZED (
    SELECT x.*, count(*) OVER () AS total
      FROM (SELECT t.id, t.ticket_no, t.category_code, t.grid_code, t.stage, t.stage_due_at,
                   t.rework_count, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
                   CASE WHEN t.rework_count >= 2 THEN 3
                        WHEN t.stage_due_at < %(now)s
                         AND %(now)s - t.stage_due_at >= t.stage_due_at - t.stage_started_at
                        THEN 3
                        WHEN t.stage_due_at < %(now)s THEN 2
                        ELSE 1 END AS step
              FROM ticket t
             WHERE t.state NOT IN ('closed', 'surveyed', 'rejected')
               AND t.grid_code LIKE %(like)s
               AND t.state <> 'suspended'
               AND t.stage_warn_at <= %(now)s
               AND (t.stage_due_at < %(now)s
                    OR (t.stage_warn_at <= %(now)s AND t.stage_due_at > %(now)s))
               AND left(t.category_code, 2) LIKE %(major)s) x
     WHERE x.step >= %(min_step)s
     ORDER BY x.step DESC, x.stage_due_at, x.ticket_no
     LIMIT %(limit)s
), lead AS (
    -- One index probe per ticket through ticket_task_ticket (= ANY of an array), not a
    -- correlated subquery per row: the latest lead task that is not cancelled.
    SELECT DISTINCT ON (k.ticket_id) k.ticket_id, k.department_id
      FROM ticket_task k
     WHERE k.ticket_id = ANY(ARRAY(SELECT id FROM o))
       AND k.role = 'lead' AND k.state <> 'cancelled'
     ORDER BY k.ticket_id, k.dispatched_at DESC
)
SELECT o.ticket_no, o.lon, o.lat, o.step, o.stage, o.stage_due_at, o.rework_count,
       o.grid_code, coalesce(mc.name_zh, '') AS major, coalesce(c.name_zh, '') AS minor,
       coalesce(g.name, o.grid_code) AS grid_name, d.name AS lead_department,
       o.total::int AS total
  FROM o
  LEFT JOIN lead ON lead.ticket_id = o.id
  LEFT JOIN department d ON d.id = lead.department_id
  LEFT JOIN category c ON c.code = o.category_code
  LEFT JOIN category mc ON mc.code = left(o.category_code, 2)
  LEFT JOIN grid g ON g.code = o.grid_code
        AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 ORDER BY o.step DESC, o.stage_due_at, o.ticket_no
"""


def check_options(*, major: str, min_step: str) -> None:
    """ValueError unless both options are in their allowlists."""
    if major != "all" and major not in MAJOR_CATEGORIES:
        raise ValueError(f"unknown category {major!r}; allowed: all, {', '.join(MAJOR_CATEGORIES)}")
    if min_step not in MIN_STEPS:
        raise ValueError(f"unknown step filter {min_step!r}; allowed: {', '.join(MIN_STEPS)}")


def duration_zh(seconds: int) -> str:
    """A duration in Chinese, two largest units: 2天3小时, 5小时12分, 8分 (minutes floor)."""
    minutes = max(0, seconds) // 60
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分"


def overdue_tickets(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    major: str = "all",
    min_step: str = "all",
    limit: int = MAX_FEATURES,
) -> tuple[list[dict[str, Any]], int]:
    """([ticket], total before the cap): open, not suspended tickets of the jurisdiction in
    warning or overdue at ``now``, worst step first, then earliest stage due. Each ticket:
    {"ticket_no", "lon", "lat", "step" 1–3, "stage" (T1–T7), "stage_due_at", "rework_count",
    "grid_code", "major", "minor", "grid_name", "lead_department" (or None)}."""
    check_options(major=major, min_step=min_step)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not 1 <= limit <= MAX_FEATURES:
        raise ValueError(f"limit must be between 1 and {MAX_FEATURES}")
    params = {
        "now": now,
        "like": scope.like,
        "major": "%" if major == "all" else major,
        "min_step": MIN_STEPS[min_step],
        "limit": limit,
    }
    with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(_OVERDUE_SQL, params).fetchall()
    total = rows[0]["total"] if rows else 0
    for r in rows:
        del r["total"]
    return rows, total


def overdue_geojson(
    rows: list[dict[str, Any]], now: datetime, *, total: int | None = None
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) for the cluster layer. Properties: no (ticket
    number), category (major·minor name), grid (name), stage (Chinese stage name), lead (lead
    department name or ""), step (1–3), overdue_s (seconds past the stage due time; negative
    while in warning), rework (count). The browser derives the step's name (STEPS) and the
    duration text (duration_zh) from step and overdue_s: a city has thousands of these
    tickets, and each derived string would be sent and serialised once per feature and
    refresh. Foreign member ``meta``: {"count", "total", "truncated", "by_step", "as_of_ms"}."""
    features = []
    by_step = {1: 0, 2: 0, 3: 0}
    for r in rows:
        step = int(r["step"])
        by_step[step] += 1
        late = int((now - r["stage_due_at"]).total_seconds())
        major, minor = r["major"], r["minor"]
        category = major if not minor or minor == major else f"{major}·{minor}"
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(r["lon"]), 6), round(float(r["lat"]), 6)],
                },
                "properties": {
                    "no": r["ticket_no"],
                    "category": category,
                    "grid": r["grid_name"],
                    "stage": STAGE_NAMES_ZH.get(r["stage"] or "", r["stage"] or ""),
                    "lead": r["lead_department"] or "",
                    "step": step,
                    "overdue_s": late,
                    "rework": int(r["rework_count"]),
                },
            }
        )
    total = len(rows) if total is None else total
    if total > len(rows):
        log.info("overdue layer: %d tickets, %d shown (cap)", total, len(rows))
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {
            "count": len(rows),
            "total": total,
            "truncated": total - len(rows),
            "by_step": {str(k): v for k, v in by_step.items()},
            "as_of_ms": int(now.timestamp() * 1000),
        },
    }


def overdue_payload(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    major: str = "all",
    min_step: str = "all",
) -> dict[str, Any]:
    """overdue_tickets as the layer's GeoJSON (see overdue_geojson)."""
    rows, total = overdue_tickets(conn, scope, now, major=major, min_step=min_step)
    return overdue_geojson(rows, now, total=total)
