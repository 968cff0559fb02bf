"""The category structure of a period (item-list tree, major → minor), with the change against
the previous period: tickets created, from the per-county or per-town category rollup when the
scope is a town or larger, from stat_daily otherwise."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from domain import measures

from .area import category_level
from .query import Query

_COUNTS = sql.SQL(
    """
SELECT s.category_code,
       coalesce(sum(s.created) FILTER (WHERE s.day BETWEEN %(a)s AND %(b)s), 0)::bigint,
       coalesce(sum(s.created) FILTER (WHERE s.day BETWEEN %(pa)s AND %(pb)s), 0)::bigint,
       coalesce(sum(s.closed) FILTER (WHERE s.day BETWEEN %(a)s AND %(b)s), 0)::bigint,
       coalesce(sum(s.closed_on_time) FILTER (WHERE s.day BETWEEN %(a)s AND %(b)s), 0)::bigint
  FROM {table} s
 WHERE s.day BETWEEN %(pa)s AND %(b)s AND s.{code} LIKE %(like)s {level}
 GROUP BY 1
"""
)
_NAMES = "SELECT code, parent_code, name_zh, sort_order FROM category"


def compute(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """Tickets per category in the period and the previous one: {"nodes": [{"code" (the tree
    id), "cat" (the category code to filter by), "parent",
    "name", "count", "previous", "change", "closed", "closed_on_time"}] (majors and minors),
    "total", "previous_total", "tables"}."""
    prev = q.period.previous()  # always before the period: one day range holds both
    level = category_level(conn, q.scope)
    query = _COUNTS.format(
        table=sql.Identifier("stat_area_category_daily" if level else "stat_daily"),
        code=sql.Identifier("area_code" if level else "grid_code"),
        level=sql.SQL("AND s.level = {}").format(sql.Literal(level)) if level else sql.SQL(""),
    )
    params = {
        "a": q.period.start,
        "b": q.period.end,
        "pa": prev.start,
        "pb": prev.end,
        "like": q.scope.like,
    }
    names = {c: (p, n, o) for c, p, n, o in conn.execute(_NAMES).fetchall()}
    minors: dict[str, list[int]] = {}
    for code, n, before, closed, on_time in conn.execute(query, params).fetchall():
        minors[code] = [int(n), int(before), int(closed), int(on_time)]
    majors: dict[str, list[int]] = {}
    for code, vals in minors.items():
        parent = (names.get(code) or (None,))[0] or code[:2]
        acc = majors.setdefault(parent, [0, 0, 0, 0])
        for i, v in enumerate(vals):
            acc[i] += v
    nodes = []
    items = [(c, v, True) for c, v in majors.items()] + [(c, v, False) for c, v in minors.items()]
    for code, vals, is_major in items:
        parent, name, order = names.get(code, (None, code, 0))
        node_id, filter_code = code, code
        if not is_major and code in majors:
            # Tickets filed under the major category itself (no minor chosen): a child of their
            # own so the tree's ids stay unique and the major still sums its children.
            node_id, parent, name = code + "*", code, f"{name}（未细分）"
        nodes.append(
            {
                "code": node_id,
                "cat": filter_code,
                "parent": "" if is_major else (parent or code[:2]),
                "name": name,
                "order": order,
                "count": vals[0],
                "previous": vals[1],
                "change": measures.change(vals[0], vals[1], "count"),
                "closed": vals[2],
                "closed_on_time": vals[3],
            }
        )
    nodes.sort(key=lambda n: (n["parent"] != "", -n["count"], n["code"]))
    total = sum(v[0] for v in majors.values())
    previous_total = sum(v[1] for v in majors.values())
    return {
        "nodes": nodes,
        "total": total,
        "previous_total": previous_total,
        "previous": {"key": prev.key, "label": prev.label_zh},
        "tables": {"categories": _table(nodes, total, prev.label_zh)},
    }


def _table(nodes: list[dict], total: int, prev_label: str) -> dict:
    rows = [
        [
            n["cat"],
            n["name"],
            "大类" if not n["parent"] else "小类",
            n["count"],
            (n["count"] / total) if total else None,
            n["previous"],
            n["change"],
        ]
        for n in nodes
    ]
    return {
        "title": "事件类别结构",
        "columns": [
            ["code", "类别代码"],
            ["name", "类别"],
            ["level", "层级"],
            ["count", "本期事件数"],
            ["share", "占比"],
            ["previous", f"上期（{prev_label}）"],
            ["change", "环比"],
        ],
        "rows": rows,
    }
