"""The rhythm of a period: tickets by hour of day × day of week, and per kind of day (工作日,
周末, 法定节假日, 调休上班日) from the work calendar. Hours come from the per-town hour rollup when
the scope is a town or larger, from the tickets otherwise; days from the daily rollups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from domain.analytics import rhythm as days
from domain.clock.work_calendar import WorkCalendar

from ..item_list import load_calendar_overrides
from .area import area_level
from .query import Query

_HOURS_AREA = """
SELECT extract(isodow FROM day)::int, hour, sum(created)::bigint
  FROM stat_hour_daily
 WHERE day BETWEEN %(a)s AND %(b)s AND town_code LIKE %(like)s
 GROUP BY 1, 2
"""
_HOURS_TICKETS = """
SELECT extract(isodow FROM created_at AT TIME ZONE %(tz)s)::int,
       extract(hour FROM created_at AT TIME ZONE %(tz)s)::int, count(*)
  FROM ticket
 WHERE created_at >= %(start)s AND created_at < %(end)s AND grid_code LIKE %(like)s
 GROUP BY 1, 2
"""
_DAILY_AREA = """
SELECT day, sum(created)::bigint FROM stat_area_daily
 WHERE day BETWEEN %(a)s AND %(b)s AND level = %(level)s AND area_code LIKE %(like)s
 GROUP BY 1
"""
_DAILY = """
SELECT day, sum(created)::bigint FROM stat_daily
 WHERE day BETWEEN %(a)s AND %(b)s AND grid_code LIKE %(like)s
 GROUP BY 1
"""


def compute(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """{"matrix": 7 × 24 counts (Monday first), "days": [{"day", "count", "kind",
    "holiday"}], "kinds": {kind: {"name", "days", "tickets", "per_day"}}, "tables"}."""
    level = area_level(conn, q.scope)
    start, end = q.bounds
    p = {
        "a": q.period.start,
        "b": q.period.end,
        "like": q.scope.like,
        "tz": str(q.tz),
        "start": start,
        "end": end,
        "level": level,
    }
    matrix = [[0] * 24 for _ in range(7)]
    hours_sql = _HOURS_AREA if level == "town" else _HOURS_TICKETS
    for dow, hour, n in conn.execute(hours_sql, p).fetchall():
        matrix[int(dow) - 1][int(hour)] += int(n)
    daily_rows = conn.execute(_DAILY_AREA if level else _DAILY, p).fetchall()
    counts = {d: int(n) for d, n in daily_rows}
    calendar = WorkCalendar(tz=str(q.tz), overrides=load_calendar_overrides(conn))
    series = []
    day = q.period.start
    while day <= q.period.end:
        series.append(
            {
                "day": day.isoformat(),
                "count": counts.get(day, 0),
                "kind": days.day_kind(calendar, day),
                "holiday": days.holiday_zh(calendar, day),
            }
        )
        day += timedelta(days=1)
    kinds = days.by_kind(
        calendar,
        [
            (d, counts.get(d, 0))
            for d in (q.period.start + timedelta(days=i) for i in range(len(series)))
        ],
    )
    for k, v in kinds.items():
        v["name"] = days.DAY_KINDS[k]
    return {
        "matrix": matrix,
        "weekdays": list(days.WEEKDAYS_ZH),
        "days": series,
        "kinds": kinds,
        "tables": {
            "rhythm_kinds": {
                "title": "工作日与节假日",
                "columns": [
                    ["kind", "日期类型"],
                    ["days", "天数"],
                    ["tickets", "事件数"],
                    ["per_day", "日均事件数"],
                ],
                "rows": [
                    [v["name"], v["days"], v["tickets"], v["per_day"]] for v in kinds.values()
                ],
            },
            "rhythm_hours": {
                "title": "时段分布（星期 × 小时）",
                "columns": [["weekday", "星期"], *[[f"h{h}", f"{h}时"] for h in range(24)]],
                "rows": [[days.WEEKDAYS_ZH[i], *row] for i, row in enumerate(matrix)],
            },
        },
    }
