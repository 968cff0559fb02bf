"""Queries behind the command-centre big screen (`/screen`, DOMAIN.md §6), one module per
panel: ``kpis`` (KPI ribbon), ``trend`` (30-day trend, category mix), ``ranking`` (towns),
``basic`` (basic data, jurisdiction name), ``ticker`` (alerts), with ``sources`` (which rollup
answers a scope) and ``open_tickets`` (the live open-ticket counts); this module builds the two
cached refreshes from them.

Every function takes the caller's jurisdiction ``scope`` and filters code columns with
``LIKE %(like)s`` (codes are COLLATE "C", so the prefix uses the b-tree indexes). Time windows
are bound parameters computed from an explicit ``now`` (an aware datetime, from the app's
clock) and ``tz`` (the local zone of the work day, Asia/Shanghai by default); no query calls
``now()``. Day-based counts come from the daily rollups: per town, community or county when
the scope is a whole region, ``stat_daily`` otherwise (``sources``); live counts of open
tickets read the partial index ``ticket_open`` (its predicate is repeated verbatim in each
query). ``build_screen`` reads each thing once: the scope's rollups, the open tickets
(``open_tickets``: the KPI totals and the ranking's late tickets per grid), the current grids
and the workers online (``basic``, reused by the KPI ribbon).
Current grid versions: "g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to >
%(now)s)" (boundaries are versioned, DOMAIN.md §1), written out in each query.

Only L1 public aggregates and public facts (grid and category names from their tables, ticket
numbers, codes) leave this package: no names, phones, addresses or descriptions (DOMAIN.md
§7). No display text either: states, stages, roles, grid kinds and steps are codes, named by
the dashboard from ``domain``.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import psycopg

from ..cache import cached_payload
from ..scope import Scope
from ..services import Services
from ..window import Window, floor_time
from .basic import basic_data, jurisdiction_name
from .kpis import ONLINE_WINDOW, kpis, workers_online
from .open_tickets import open_counts
from .ranking import RANKING_MAX_ROWS, rank_rows, town_ranking
from .sources import sources_for
from .ticker import TICKER_LIMIT, ticker
from .trend import category_mix, trend

__all__ = [
    "ONLINE_WINDOW",
    "RANKING_MAX_ROWS",
    "TICKER_LIMIT",
    "Window",
    "basic_data",
    "build_screen",
    "category_mix",
    "floor_time",
    "jurisdiction_name",
    "kpis",
    "rank_rows",
    "screen_payload",
    "ticker",
    "ticker_payload",
    "town_ranking",
    "trend",
    "workers_online",
]


def build_screen(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo, *, version: int = 0
) -> dict[str, Any]:
    """Everything a counters refresh shows, as plain JSON-able data, computed at ``now``:
    {"version", "as_of" (ISO, local), "as_of_ms", "scope" (the jurisdiction prefix),
    "jurisdiction" (its name, or None), "kpis", "trend", "categories", "ranking", "basic"}.
    (The map's colours come from the grid layer, layers/grids.py.)"""
    sources = sources_for(conn, scope)
    open_now = open_counts(conn, scope, now)
    basic = basic_data(conn, scope, now, tz)
    return {
        "version": version,
        "as_of": now.astimezone(tz).isoformat(),
        "as_of_ms": int(now.timestamp() * 1000),
        "scope": scope.prefix,
        "jurisdiction": jurisdiction_name(conn, scope),
        "kpis": kpis(
            conn,
            scope,
            now,
            tz,
            sources=sources,
            open_now=open_now,
            grids=basic["grids"]["total"],
            online=basic["online"]["total"],
        ),
        "trend": trend(conn, scope, now, tz, days=30, sources=sources),
        "categories": category_mix(conn, scope, now, tz, days=30, sources=sources),
        "ranking": town_ranking(conn, scope, now, tz, sources=sources, open_now=open_now),
        "basic": basic,
    }


def screen_payload(services: Services, now: datetime) -> bytes:
    """The counters refresh of the screen as UTF-8 JSON (see build_screen), computed at ``now``
    floored to settings.refresh_counters_s and cached (queries.cache.cached_payload) under
    ("screen", data version, {"bucket", "tz"}, scope): a warm call is one version read and one
    Redis GET. Works without Redis."""
    settings = services.settings
    bucket = floor_time(now, settings.refresh_counters_s)
    return cached_payload(
        services,
        "screen",
        {"bucket": bucket.isoformat(), "tz": settings.timezone},
        lambda conn, version: build_screen(
            conn, services.scope, bucket, settings.tz, version=version
        ),
    )


def ticker_payload(services: Services, now: datetime, limit: int = TICKER_LIMIT) -> bytes:
    """The ticker refresh as UTF-8 JSON {"version", "as_of_ms", "items": ticker(...)}, computed
    at ``now`` floored to settings.refresh_alerts_s and cached like screen_payload."""
    bucket = floor_time(now, services.settings.refresh_alerts_s)

    def compute(conn: psycopg.Connection, version: int) -> dict[str, Any]:
        items = ticker(conn, services.scope, bucket, limit)
        return {"version": version, "as_of_ms": int(bucket.timestamp() * 1000), "items": items}

    return cached_payload(
        services, "screen-ticker", {"bucket": bucket.isoformat(), "limit": limit}, compute
    )
