"""What one workbench view shows, computed for the request's viewer: the resolved view, the
summary (cached per data version and minute), and the names the facets need.

"Now" is the services' clock truncated to the minute: the clock facet (预警/超期) moves with
time as well as with writes, and a minute's granularity lets analysts who open the same view
within the minute share one computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson

from domain.explore.filters import DEFAULT_SORT, Filters, Problem
from queries.cache import cached_payload, data_version
from queries.explore import reference
from queries.explore import table as table_q
from queries.explore.columns import Snapshot
from queries.explore.engine import candidates, eligible
from queries.explore.engine import summarize as engine_summarize
from queries.explore.summary import Summary, summary
from queries.explore.where import AreaError, View, resolve
from queries.services import Services

SUMMARY_FORMAT = 1


@dataclass
class Result:
    view: View
    summary: Summary
    problems: list[Problem] = field(default_factory=list)
    labels: dict[str, dict[Any, str]] = field(default_factory=dict)  # dim -> value -> label
    path: list[tuple[str, str, str]] = field(default_factory=list)  # breadcrumbs
    children: list[tuple[str, str, str, int]] = field(default_factory=list)  # with counts


def view_now(svc: Services) -> datetime:
    return svc.clock.now().replace(second=0, microsecond=0)


def _summary_params(view: View) -> dict[str, Any]:
    f = replace(view.filters, sort="-created_at", ticket=None)
    return {
        "f": repr(f),
        "from": view.first_day.isoformat(),
        "to": view.last_day.isoformat(),
        "now": view.now.isoformat(),
        "fmt": SUMMARY_FORMAT,
    }


def build_view(svc: Services, conn, filters: Filters, problems: list[Problem]) -> View:
    """The view of ``filters`` for the viewer; an area outside the jurisdiction is dropped
    and named among ``problems``."""
    now, tz = view_now(svc), svc.settings.tz
    if filters.basis == "closed" and filters.sort == DEFAULT_SORT:
        # Counting by closing time, the table lists the latest closures first.
        filters = replace(filters, sort="-closed_at")
    try:
        return resolve(conn, filters, svc.scope, now, tz)
    except AreaError as exc:
        problems.append(Problem("area", str(exc)))
        return resolve(conn, replace(filters, area=""), svc.scope, now, tz)


def roll_up(children: list[tuple[str, str, str]], grids: dict[str, int]) -> list[int]:
    """The count of each child unit: the grids whose code starts with the child's code (codes
    nest by prefix, the rule every jurisdiction check relies on)."""
    out = []
    for code, _name, level in children:
        if level == "micro":
            out.append(-1)  # tickets are counted per grid; a micro-grid has no count here
        else:
            out.append(sum(n for g, n in grids.items() if g.startswith(code)))
    return out


def snapshot(svc: Services, conn, view: View, version: int) -> Snapshot | None:
    """The column store's snapshot when it can answer ``view`` (else None: SQL answers)."""
    store = svc.explore_columns
    if store is None:
        return None
    snap = store.current(svc.read_pool, view.now, version)
    return snap if eligible(snap, view) else None


def summarize(svc: Services, view: View) -> Summary:
    """The Summary of ``view``: cached per data version and minute; computed from the column
    store when it can, else by the one SQL statement of ``queries.explore.summary``."""

    def compute(conn, version: int) -> dict:
        snap = snapshot(svc, conn, view, version)
        s = engine_summarize(snap, view) if snap is not None else summary(conn, view)
        return s.as_dict()

    params = _summary_params(view) | {"scope": view.scope.key, "micro": view.micro_grid}
    payload = cached_payload(svc, "explore.summary", params, compute)
    return Summary.from_dict(orjson.loads(payload))


def load(svc: Services, filters: Filters, problems: list[Problem]) -> Result:
    """The Result of ``filters`` for the request's viewer (``svc`` is bound to it)."""
    with svc.read_pool.connection() as conn:
        view = build_view(svc, conn, filters, problems)
    s = summarize(svc, view)
    res = Result(view, s, problems)
    with svc.read_pool.connection() as conn:
        res.path = reference.path(conn, svc.scope, view.filters.area)
        kids = reference.children(conn, svc.scope, view.filters.area)
        res.children = [
            (c, n, lv, k) for (c, n, lv), k in zip(kids, roll_up(kids, s.grids), strict=True)
        ]
        depts = [int(d) for d in s.facets.get("dept", {}) if d is not None]
        res.labels["dept"] = dict(reference.departments(conn, depts).items())
        res.labels["cat"] = {c["code"]: c["name"] for c in reference.categories(conn)}
    return res


def rows_block(svc: Services, view: View, offset: int, limit: int) -> list[dict[str, Any]]:
    """One block of the table as the grid shows it (masked for the viewer's tier), cached
    like the summary: per view, sort, block, tier, data version and minute."""
    from . import table

    viewer = svc.viewer
    assert viewer is not None
    params = _summary_params(view) | {
        "scope": view.scope.key,
        "micro": view.micro_grid,
        "sort": view.filters.sort,
        "block": [offset, limit],
        "tier": int(viewer.tier),
    }

    def compute(_conn, _version: int) -> list[dict[str, Any]]:
        return table.rows(page(svc, view, offset, limit), viewer.masker, svc.settings.tz)

    return orjson.loads(cached_payload(svc, "explore.rows", params, compute))


def page(svc: Services, view: View, offset: int, limit: int) -> list[dict[str, Any]]:
    """Rows of the ticket table; the column store narrows the search when it can rank the
    view's sort (queries.explore.engine.candidates)."""
    with svc.read_pool.connection() as conn:
        ids = None
        snap = snapshot(svc, conn, view, data_version(conn))
        if snap is not None:
            ids = candidates(snap, view, offset + limit)
        return table_q.page(conn, view, offset, limit, ids)
