"""Satisfaction panel of /analytics (issue #12, PY 23): 满意率 over the surveys made in the
period (``survey.at`` in [start, end)), by channel and by major category, its change against
the previous period (环比), and the unsatisfied tickets to look at.

满意率 = (满意 + 基本满意) ÷ 有效回访数, through ``domain.measures.derive`` (the one formula).
Comments are stored as the party gave them and may name people: compute() returns them, the
page and every export decide by the reader's tier what is shown (``domain.disclosure``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import psycopg

from domain import measures
from domain.vocabulary import SATISFACTION, SATISFIED
from domain.workflow.survey import SURVEY_CHANNEL_NAMES_ZH, SURVEY_CHANNELS

from ..scope import Scope
from .area import category_level
from .query import Query

# The unsatisfied tickets listed (newest first); the panel says how many there are in all.
UNSATISFIED_MAX = 500

# One pass over the period's surveys, grouped finely; totals, channels and categories are
# summed from these few hundred groups in Python.
_GROUPS_SQL = """
SELECT channel, category_code, result, count(*)::int
  FROM survey
 WHERE at >= %(start)s AND at < %(end)s AND grid_code LIKE %(like)s
 GROUP BY channel, category_code, result
"""
# The same groups over whole local days from the per town or county daily rollup
# (stat_survey_daily, migration 0010) when the scope covers whole towns: ~50,000 index-only
# rows for a city month where the survey rows are ~280,000 (320 -> ~40 ms for the two periods
# on the large demo). Its days are local to settings.timezone, as the period's are.
_DAILY_GROUPS_SQL = """
SELECT channel, category_code, result, sum(surveys)::int
  FROM stat_survey_daily
 WHERE level = %(level)s AND day BETWEEN %(first)s AND %(last)s AND area_code LIKE %(like)s
 GROUP BY channel, category_code, result
"""

# Newest first from the end of the period (the index survey_at read backwards). The ticket
# number and grid name are looked up per listed row (LIMIT 1: one row per key).
_UNSATISFIED_SQL = """
SELECT s.ticket_id, t.ticket_no, s.category_code, s.grid_code, g.name, s.at, s.channel,
       s.comment
  FROM survey s
  LEFT JOIN LATERAL (SELECT ticket_no FROM ticket t
                      WHERE t.id = s.ticket_id AND t.created_at = s.ticket_created_at
                      LIMIT 1) t ON true
  LEFT JOIN LATERAL (SELECT name FROM grid g WHERE g.code = s.grid_code
                      ORDER BY valid_from DESC LIMIT 1) g ON true
 WHERE s.at >= %(start)s AND s.at < %(end)s AND s.grid_code LIKE %(like)s
   AND s.result = 'unsatisfied'
 ORDER BY s.at DESC, s.id DESC
 LIMIT %(limit)s
"""

_CATEGORIES_SQL = "SELECT code, name_zh, parent_code FROM category"

Groups = list[tuple[str, str, str, int]]


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tz)


def _groups(
    conn: psycopg.Connection, scope: Scope, bounds: tuple[datetime, datetime], tz: tzinfo
) -> Groups:
    """(channel, category, result, surveys) of the surveys of ``scope`` in [start, end): the
    whole local days in between from the daily rollup when one answers ``scope``, the parts
    of days at either end (the day in progress up to now) from the survey rows."""
    start, end = bounds
    first = start.astimezone(tz).date()
    if _midnight(first, tz) < start:
        first += timedelta(days=1)
    stop = end.astimezone(tz).date()  # the whole days end at its midnight
    level = category_level(conn, scope) if first < stop else None
    if level is None:
        parts = [(start, end)]
    else:
        parts = [(start, _midnight(first, tz)), (_midnight(stop, tz), end)]
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    if level is not None:
        p = {"level": level, "like": scope.like, "first": first, "last": stop - timedelta(1)}
        for channel, category, result, n in conn.execute(_DAILY_GROUPS_SQL, p).fetchall():
            out[channel, category, result] += n
    for a, b in parts:
        if a < b:
            p = {"like": scope.like, "start": a, "end": b}
            for channel, category, result, n in conn.execute(_GROUPS_SQL, p).fetchall():
                out[channel, category, result] += n
    return [(*k, n) for k, n in out.items()]


def _tally(groups: Iterable[tuple[str, str, str, int]]) -> dict[str, Any]:
    """Counts per result, 满意率 and its numerator and denominator."""
    by = dict.fromkeys(SATISFACTION, 0)
    for _, _, result, n in groups:
        by[result] = by.get(result, 0) + n
    surveyed = sum(by.values())
    satisfied = sum(by[r] for r in SATISFIED)
    v = measures.derive({"satisfied": satisfied, "surveyed": surveyed})["satisfaction_rate"]
    return {"surveyed": surveyed, **by, "numerator": satisfied, "rate": v.value}


def _with_change(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    return now | {
        "previous_surveyed": before["surveyed"],
        "previous_rate": before["rate"],
        "change": measures.change(now["rate"], before["rate"], "rate"),
    }


def _breakdown(cur: Groups, prev: Groups, key, keys: list[str]) -> list[dict[str, Any]]:
    """Per value of ``key(group)``, in the order of ``keys``, those with surveys in either
    period: the tally and its change."""
    by: tuple[dict, dict] = (defaultdict(list), defaultdict(list))
    for groups, into in zip((cur, prev), by, strict=True):
        for g in groups:
            into[key(g)].append(g)
    out = []
    for k in keys:
        now, before = _tally(by[0].get(k, ())), _tally(by[1].get(k, ()))
        if now["surveyed"] or before["surveyed"]:
            out.append({"key": k, **_with_change(now, before)})
    return out


def _table(title: str, label: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    cols = [
        ["name", label],
        ["surveyed", "回访数"],
        ["satisfied", "满意"],
        ["basic", "基本满意"],
        ["unsatisfied", "不满意"],
        ["satisfaction_rate", "满意率"],
        ["previous_rate", "上期满意率"],
        ["satisfaction_rate_change", "环比"],
    ]
    return {
        "title": title,
        "columns": cols,
        "rows": [
            [
                r["name"],
                r["surveyed"],
                r["satisfied"],
                r["basic"],
                r["unsatisfied"],
                r["rate"],
                r["previous_rate"],
                r["change"],
            ]
            for r in rows
        ],
    }


def unsatisfied(
    conn: psycopg.Connection, scope: Scope, bounds: tuple[datetime, datetime], limit: int
) -> list[dict[str, Any]]:
    """The newest ``limit`` unsatisfied surveys of the period in ``scope``: ticket id and
    number, category and grid codes, grid name, survey instant, channel, comment (as given)."""
    p = {"like": scope.like, "start": bounds[0], "end": bounds[1], "limit": limit}
    keys = (
        "ticket_id",
        "ticket_no",
        "category_code",
        "grid_code",
        "grid",
        "at",
        "channel",
        "comment",
    )
    return [dict(zip(keys, r, strict=True)) for r in conn.execute(_UNSATISFIED_SQL, p).fetchall()]


def compute(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """The satisfaction of ``q``'s area and period: {"period", "period_label", "previous",
    "previous_label", "total" (surveyed, satisfied, basic, unsatisfied, numerator, rate,
    previous_surveyed, previous_rate, change), "channels" and "categories" (the same per
    channel / major category, with "key" and "name"), "unsatisfied" ({"count", "rows",
    "limit"}; rows with ISO "at" and local "date"), "tables"}. Rates are fractions, None when
    there was no survey; change is in rate points (None without a base)."""
    prev_q = q.with_period(q.period.previous())
    cur, prev = _groups(conn, q.scope, q.bounds, q.tz), _groups(conn, q.scope, prev_q.bounds, q.tz)
    cats = {code: (name, parent) for code, name, parent in conn.execute(_CATEGORIES_SQL)}

    def major(code: str) -> str:
        parent = (cats.get(code) or (None, None))[1]
        return parent or code

    total = _with_change(_tally(cur), _tally(prev))
    channels = _breakdown(cur, prev, lambda g: g[0], list(SURVEY_CHANNELS))
    for c in channels:
        c["name"] = SURVEY_CHANNEL_NAMES_ZH.get(c["key"], c["key"])
    majors = sorted({major(g[1]) for g in (*cur, *prev)})
    categories = _breakdown(cur, prev, lambda g: major(g[1]), majors)
    for c in categories:
        c["name"] = (cats.get(c["key"]) or (c["key"], None))[0]

    rows = unsatisfied(conn, q.scope, q.bounds, UNSATISFIED_MAX)
    for r in rows:
        at: datetime = r["at"]
        r["at"], r["date"] = at.isoformat(), at.astimezone(q.tz).date().isoformat()
        r["category"] = (cats.get(r["category_code"]) or (r["category_code"], None))[0]
        r["channel_name"] = SURVEY_CHANNEL_NAMES_ZH.get(r["channel"], r["channel"])
    count = total["unsatisfied"]
    listed = f"共 {count} 件" + (f"，列出最近 {len(rows)} 件" if count > len(rows) else "")
    return {
        "period": q.period.key,
        "period_label": q.period.label_zh,
        "previous": prev_q.period.key,
        "previous_label": prev_q.period.label_zh,
        "total": total,
        "channels": channels,
        "categories": categories,
        "unsatisfied": {"count": count, "limit": UNSATISFIED_MAX, "rows": rows},
        "tables": {
            "by_channel": _table(f"分渠道满意率（{q.period.label_zh}）", "回访渠道", channels),
            "by_category": _table(f"分类别满意率（{q.period.label_zh}）", "事项大类", categories),
            "unsatisfied": {
                "title": f"不满意事件（{q.period.label_zh}，{listed}）",
                "columns": [
                    ["ticket_no", "事件编号"],
                    ["category", "类别"],
                    ["grid_code", "网格编码"],
                    ["grid", "网格"],
                    ["date", "回访日期"],
                    ["channel", "回访渠道"],
                    ["comment", "评价内容"],
                ],
                "rows": [
                    [
                        r["ticket_no"],
                        r["category"],
                        r["grid_code"],
                        r["grid"],
                        r["date"],
                        r["channel_name"],
                        r["comment"],
                    ]
                    for r in rows
                ],
                # Free text a party gave: may name people (hidden below L3 on the page).
                "personal": ["comment"],
            },
        },
    }
