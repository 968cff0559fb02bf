"""The WHERE clause of one workbench view: every filter a bound parameter, the caller's scope
always applied.

``resolve`` turns the URL's ``Filters`` into instants and a scope on the server: the area is
narrowed inside the viewer's jurisdiction (a URL from another jurisdiction cannot widen it), the
quick period resolved against the injected "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

import psycopg
from psycopg import sql

from domain.explore.filters import Filters, ring
from domain.explore.periods import CUSTOM, day_bounds, local_day, quick_range
from queries.geo import unit_of
from queries.scope import Scope, ScopeError

CLOSED_STATES = ("closed", "surveyed", "rejected")

# Where the ticket's clock stands at %(now)s (domain.explore.filters.CLOCK_NAMES_ZH). Open
# tickets by their stage clock (suspended ones run no clock), closed ones by 按期结案.
CLOCK_SQL = sql.SQL(
    "CASE WHEN t.state IN ('closed', 'surveyed', 'rejected') THEN"
    "   CASE WHEN t.closed_on_time THEN 'closed_on_time'"
    "        WHEN NOT t.closed_on_time THEN 'closed_late' ELSE 'none' END"
    " WHEN t.state <> 'suspended' AND t.stage_due_at < %(now)s THEN 'overdue'"
    " WHEN t.state <> 'suspended' AND t.stage_warn_at <= %(now)s THEN 'warning'"
    " ELSE 'normal' END"
)


@dataclass(frozen=True)
class View:
    """Filters resolved on the server for one request."""

    filters: Filters
    scope: Scope  # the viewer's scope, narrowed to the area when one is chosen
    micro_grid: str | None  # the area when it is a micro-grid (tickets carry its code)
    first_day: date
    last_day: date
    start: datetime
    end: datetime
    now: datetime
    tz: tzinfo

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class AreaError(ValueError):
    """The chosen area is not a unit of the viewer's jurisdiction."""


def resolve(
    conn: psycopg.Connection, filters: Filters, scope: Scope, now: datetime, tz: tzinfo
) -> View:
    """``filters`` resolved for a viewer of ``scope`` at ``now``. Raises AreaError when the
    area is not a current unit inside ``scope``."""
    if filters.period == CUSTOM and filters.start and filters.end:
        first, last = filters.start, filters.end
    else:
        first, last = quick_range(filters.period, local_day(now, tz))
    start, end = day_bounds(first, last, tz)
    narrowed, micro = scope, None
    if filters.area:
        unit = unit_of(conn, scope, filters.area)
        if unit is None:
            raise AreaError(f"区域 {filters.area} 不在您的辖区内或不存在")
        try:
            if unit["kind"] == "micro":
                narrowed, micro = scope.narrow(unit["parent"]), unit["code"]
            else:
                narrowed = scope.narrow(filters.area)
        except ScopeError as exc:  # unit_of checked the prefix; belt and braces
            raise AreaError(str(exc)) from exc
    return View(filters, narrowed, micro, first, last, start, end, now, tz)


def where(view: View) -> tuple[sql.Composable, dict[str, Any]]:
    """The WHERE clause (over ``ticket t``) and its parameters for ``view``."""
    f = view.filters
    p: dict[str, Any] = {
        "scope": view.scope.like,
        "now": view.now,
        "start": view.start,
        "end": view.end,
    }
    w: list[sql.Composable] = [sql.SQL("t.grid_code LIKE %(scope)s")]
    if f.basis == "closed":
        # created_at < end lets the planner skip partitions of tickets created after the
        # period (a ticket closes after it opens; imports accept a few minutes of skew).
        w.append(sql.SQL("t.closed_at >= %(start)s AND t.closed_at < %(end)s"))
        w.append(sql.SQL("t.created_at < %(end)s + interval '1 day'"))
    else:
        w.append(sql.SQL("t.created_at >= %(start)s AND t.created_at < %(end)s"))
    if view.micro_grid:
        w.append(sql.SQL("t.micro_grid_code = %(micro)s"))
        p["micro"] = view.micro_grid
    if f.cat:
        majors = [c for c in f.cat if len(c) == 2]
        minors = [c for c in f.cat if len(c) == 4 and c[:2] not in majors]
        parts = []
        if majors:
            parts.append(sql.SQL("left(t.category_code, 2) = ANY(%(cat_major)s)"))
            p["cat_major"] = majors
        if minors:
            parts.append(sql.SQL("t.category_code = ANY(%(cat_minor)s)"))
            p["cat_minor"] = minors
        w.append(sql.SQL("({})").format(sql.SQL(" OR ").join(parts)))
    for name in ("state", "stage", "source", "urgency"):
        vals = getattr(f, name)
        if vals:
            w.append(sql.SQL("t.{} = ANY(%({})s)").format(sql.Identifier(name), sql.SQL(name)))
            p[name] = list(vals)
    if f.stype:
        w.append(sql.SQL("t.source_type = ANY(%(stype)s)"))
        p["stype"] = list(f.stype)
    if f.clock:
        w.append(sql.SQL("({}) = ANY(%(clock)s)").format(CLOCK_SQL))
        p["clock"] = list(f.clock)
    if f.sup:
        w.append(sql.SQL("t.supervision = ANY(%(sup)s)"))
        p["sup"] = list(f.sup)
    if f.flag:
        flags = {"reworked": "t.rework_count > 0", "returned": "t.return_count > 0"}
        w.append(sql.SQL("({})").format(sql.SQL(" OR ").join(sql.SQL(flags[x]) for x in f.flag)))
    if f.dept:
        w.append(sql.SQL("t.lead_department_id = ANY(%(dept)s)"))
        p["dept"] = list(f.dept)
    if f.bbox:
        # ST_Intersects, not a bare &&: the index's boxes are float4 and take points a few
        # centimetres outside the drawn box; ST_Intersects uses the index and then decides.
        w.append(
            sql.SQL("ST_Intersects(t.geom, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326))")
        )
        p.update(zip(("w", "s", "e", "n"), f.bbox, strict=True))
    if f.poly:
        pts = list(ring(f.poly))
        if len(set(pts)) < 3:
            raise ValueError("a polygon filter needs 3 distinct points")
        pts.append(pts[0])
        p["poly"] = "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in pts) + "))"
        # ST_MakeValid: a hand-drawn ring may cross itself; the bbox test lets the index help.
        w.append(
            sql.SQL(
                "t.geom && ST_MakeValid(ST_GeomFromText(%(poly)s, 4326))"
                " AND ST_Intersects(t.geom, ST_MakeValid(ST_GeomFromText(%(poly)s, 4326)))"
            )
        )
    return sql.SQL(" AND ").join(w), p
