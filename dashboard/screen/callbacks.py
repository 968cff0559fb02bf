"""Callbacks of the screen: thin wrappers around plain render functions.

Every value a callback receives came from a browser and may be forged: ``parse_scale`` and
``parse_status`` turn anything malformed into "leave the screen unchanged" (no_update), never
an error. The interval counters (``n_intervals``) are only triggers and are not read.

``register()`` is called by dashboard/pages/screen.py, which Dash executes once per app, so every
app built by the factory gets its own callbacks (a module-level ``@callback`` would only reach
the first app of the process).
"""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from typing import Any

from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, no_update

from layers.labels import jurisdiction_label
from queries import services as services_mod
from queries.screen import screen_payload, ticker_payload

from .bars import render_basic, render_categories, render_ranking
from .kpi import render_kpis
from .ticker import render_ticker
from .trend import trend_figure

log = logging.getLogger(__name__)

COUNTER_OUTPUTS = (
    ("gs-kpis", "children"),
    ("gs-basic", "children"),
    ("gs-categories", "children"),
    ("gs-trend", "figure"),
    ("gs-ranking", "children"),
    ("gs-jurisdiction", "children"),
    ("gs-updated", "children"),
    ("gs-status", "data"),
)


# The browser measures the scale as root font size / 16 px: 1 at 1080p, 2 at 2160p, up to about
# 4 on a 32:9 8K wall. Anything outside this range did not come from measureScale.
SCALE_RANGE = (0.25, 16.0)


def parse_scale(value: Any) -> float | None:
    """The measured scale from ``gs-scale``; None when it is missing or malformed (a string, a
    list, a bool, NaN or outside SCALE_RANGE: a forged value changes nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    scale = float(value)
    if not math.isfinite(scale) or not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return None
    return scale


def parse_status(value: Any) -> dict[str, Any]:
    """What the server keeps of the browser's ``gs-status`` when a refresh fails: the data time
    of the last good refresh (``as_of_ms``, an int), nothing else from the browser."""
    as_of = value.get("as_of_ms") if isinstance(value, dict) else None
    if isinstance(as_of, int) and not isinstance(as_of, bool) and 0 <= as_of < 2**53:
        return {"as_of_ms": as_of}
    return {}


def updated_text(as_of: str) -> str:
    """'数据更新于 HH:MM:SS' from the payload's local ISO time."""
    return f"数据更新于 {as_of[11:19]}" if len(as_of) >= 19 else "数据更新于 —"


def render_counters(
    payload: dict[str, Any], scale: float | None, interval_ms: int, server_now: datetime
) -> tuple:
    """All counter outputs (in COUNTER_OUTPUTS order) from one screen payload."""
    scale = float(scale or 1.0)
    status = {
        "ok": True,
        "as_of_ms": payload["as_of_ms"],
        "server_ms": int(server_now.timestamp() * 1000),
        "interval_ms": interval_ms,
    }
    return (
        render_kpis(payload["kpis"]),
        render_basic(payload["basic"]),
        render_categories(payload["categories"]),
        trend_figure(payload["trend"], scale),
        render_ranking(payload["ranking"]),
        jurisdiction_label(payload.get("jurisdiction"), payload.get("scope", "")),
        updated_text(payload["as_of"]),
        status,
    )


def failed_counters(status: dict[str, Any] | None, interval_ms: int, server_now: datetime) -> tuple:
    """Keep what is shown, flag it stale (the clock callback shows the marker)."""
    status = parse_status(status)
    status.update(ok=False, server_ms=int(server_now.timestamp() * 1000), interval_ms=interval_ms)
    return (*([no_update] * (len(COUNTER_OUTPUTS) - 1)), status)


def refresh_counters_now(scale: float | None, status: dict[str, Any] | None) -> tuple:
    """The counter outputs at the app clock's now (failed_counters when the refresh fails)."""
    services = services_mod.current()
    interval_ms = services.settings.refresh_counters_s * 1000
    now = services.clock.now()
    try:
        payload = json.loads(screen_payload(services, now))
    except Exception:  # the wall keeps showing the last data, marked stale
        log.exception("screen refresh failed")
        return failed_counters(status, interval_ms, now)
    return render_counters(payload, scale, interval_ms, now)


def refresh_ticker_now() -> tuple:
    """The ticker outputs at the app clock's now (unchanged when the refresh fails)."""
    services = services_mod.current()
    try:
        payload = json.loads(ticker_payload(services, services.clock.now()))
    except Exception:
        log.exception("ticker refresh failed")
        return no_update, no_update
    return render_ticker(payload["items"])


def register() -> None:
    """Register the screen's callbacks with Dash (server and clientside)."""

    @callback(
        *[Output(i, p) for i, p in COUNTER_OUTPUTS],
        Input("gs-counters-tick", "n_intervals"),
        Input("gs-scale", "data"),
        State("gs-status", "data"),
    )
    def refresh_counters(_n: Any, scale: Any, status: Any) -> tuple:
        # Not measured yet (the clientside callback will trigger us) or not a measured scale
        # at all: leave the screen as it is.
        measured = parse_scale(scale)
        if measured is None:
            return (*([no_update] * len(COUNTER_OUTPUTS)),)
        return refresh_counters_now(measured, parse_status(status))

    @callback(
        Output("gs-ticker-track", "children"),
        Output("gs-ticker-track", "style"),
        Input("gs-alerts-tick", "n_intervals"),
        Input("gs-scale", "data"),
    )
    def refresh_ticker(_n: Any, scale: Any) -> tuple:
        if parse_scale(scale) is None:
            return no_update, no_update
        return refresh_ticker_now()

    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="measureScale"),
        Output("gs-scale", "data"),
        Input("gs-screen", "id"),
    )
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="clockOffset"),
        Output("gs-offset", "data"),
        Input("gs-status", "data"),
    )
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="tick"),
        Output("gs-clock", "children"),
        Output("gs-stale", "hidden"),
        Output("gs-stale", "children"),
        Input("gs-clock-tick", "n_intervals"),
        State("gs-status", "data"),
        State("gs-offset", "data"),
    )
