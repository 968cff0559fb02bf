"""Every panel of the leadership page for one view, in one dict: what the monthly report
renders (gridscope report) and what a test compares with the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from . import categories, hotspots, measures, patrol, rankings, rhythm, satisfaction
from .areas import area_name
from .query import Query

Compute = Callable[[psycopg.Connection, Query], dict[str, Any]]

# The panels in page order: name -> compute(conn, q).
PANELS: dict[str, Compute] = {
    "measures": measures.compute,
    "rankings": rankings.compute,
    "categories": categories.compute,
    "hotspots": hotspots.compute,
    "rhythm": rhythm.compute,
    "satisfaction": satisfaction.compute,
    "patrol": patrol.compute,
}


def meta(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """The view's jurisdiction and period, named."""
    code = q.scope.prefix
    named = area_name(conn, q.scope, code) if code else None
    return {
        "area": code,
        "area_name": named[0] if named else "全部辖区",
        "area_level": named[1] if named else "",
        "period": q.period.key,
        "label": q.period.label_zh,
        "generated_at": q.now.isoformat(),
    }


def collect(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """{"meta": …, panel name: compute(conn, q) …} for every panel of PANELS."""
    out: dict[str, Any] = {"meta": meta(conn, q)}
    for name, compute in PANELS.items():
        out[name] = compute(conn, q)
    return out
