"""What one /analytics view shows, decided on the server: the area (inside the viewer's scope,
whatever the URL says), the period (parsed, cut at the services' clock) and each panel's data
(cached in Redis per data version, view and minute)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from domain.analytics.periods import Period, PeriodError, default_period, parse_period
from queries.analytics.collect import PANELS
from queries.analytics.query import Query
from queries.cache import cached_payload
from queries.scope import ScopeError
from queries.services import Services

# Bumped when a panel's output changes shape, so that older cache entries are not read.
PANEL_FORMAT = 1
MAX_PARAM = 64


@dataclass
class View:
    """The resolved view: ``area`` ('' = the viewer's whole jurisdiction), the period, and
    what was wrong with the URL (named, never fatal)."""

    area: str
    period: Period
    query: Query
    problems: list[str] = field(default_factory=list)

    def state(self) -> dict[str, str]:
        return {"area": self.area, "period": self.period.key}


def _text(value: object) -> str:
    return value.strip()[:MAX_PARAM] if isinstance(value, str) else ""


def resolve(svc: Services, area: object, period: object) -> View:
    """The view of URL values ``area`` and ``period`` for the request's viewer."""
    problems: list[str] = []
    now, tz = svc.clock.now(), svc.settings.tz
    scope = svc.scope
    code = _text(area)
    if code:
        try:
            scope = svc.scope.narrow(code)
        except ScopeError:
            problems.append(f"区域 {code} 不在您的辖区内，已显示全部辖区")
            code = ""
    key = _text(period)
    try:
        p = parse_period(key).cut(now, tz) if key else default_period(now, tz)
    except PeriodError as exc:
        problems.append(f"时段 {key!r} 无效（{exc}），已显示本月")
        p = default_period(now, tz)
    q = Query(scope, p, now, tz, svc.settings)
    return View(code, p, q, problems)


# Panels that answer from the workbench's in-memory ticket columns when this process has them.
USES_COLUMNS = frozenset({"hotspots"})


def columns_for(svc: Services, version: int) -> Any:
    """The process's ticket columns current to data ``version`` when they are loaded; None
    (and a background load started) when they are not: a request never waits for the load."""
    store = svc.explore_columns
    if store is None:
        return None
    if not store.ready():
        store.warm(svc.read_pool, svc.clock.now())
        return None
    return store.current(svc.read_pool, svc.clock.now(), version)


def panel(svc: Services, name: str, view: View) -> dict[str, Any]:
    """Panel ``name``'s data for ``view`` (PANELS[name] on a read connection, cached)."""
    q = view.query
    params = {"panel": name, "area": view.area, "fmt": PANEL_FORMAT, **q.cache_params()}

    def compute(conn, version: int) -> dict[str, Any]:
        if name in USES_COLUMNS:
            return PANELS[name](conn, replace(q, columns=columns_for(svc, version)))
        return PANELS[name](conn, q)

    # The cache adds the services' scope to the key: the narrowed scope of the area.
    raw = cached_payload(replace(svc, scope=q.scope), f"analytics.{name}", params, compute)
    return orjson.loads(raw)


def level_panel(svc: Services, unit: str, view: View) -> dict[str, Any]:
    """The rankings of one deferred level (grids or workers of a large area), cached."""
    from queries.analytics.rankings import compute_level

    q = view.query
    params = {
        "panel": "rankings",
        "unit": unit,
        "area": view.area,
        "fmt": PANEL_FORMAT,
        **q.cache_params(),
    }
    raw = cached_payload(
        replace(svc, scope=q.scope),
        f"analytics.rankings.{unit}",
        params,
        lambda conn, _v: compute_level(conn, q, unit),
    )
    return orjson.loads(raw)
