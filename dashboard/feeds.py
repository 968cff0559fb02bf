"""The wall's feeds (``GET /feed/<panel>``, dashboard/feed_routes.py): one registry of panels,
each with its refresh period (a setting), who may read it, the query parameters it takes and
the function computing its display-ready data: codes named (layers/labels.py), numbers
formatted, widths computed, so the browser (assets/30_wall.js) only draws.

    counters      KPI ribbon, basic data, categories, trend, ranking  (refresh_counters_s)
    ticker        urgent, overdue and supervised cases                (refresh_alerts_s)
    board         the overdue board of the rotation                   (refresh_alerts_s)
    layer-<id>    a registered map layer's payload (its own refresh; options through its
                  allowlists, the caller's access flags in the key)
    workers       the worker layer as a delta (``since``), when layers.workers provides one

Every compute takes the (possibly narrowed) scope it is given: the slot key carries that scope
(queries.feed), so no entry of one jurisdiction is ever served to another.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

import psycopg

from dashboard.map.payload import layer_body, payload_params
from dashboard.screen.bars import basic_view, category_rows, ranking_view
from dashboard.screen.board import board_payload
from dashboard.screen.kpi import kpi_cards
from dashboard.screen.ticker import ticker_view
from dashboard.screen.trend import trend_view
from domain.config import Settings
from layers import registry
from layers.base import Access, LayerSpec, OptionError
from layers.labels import jurisdiction_label
from queries.feed import FeedSpec, FeedState
from queries.feed_entry import KEEP_S
from queries.scope import WHOLE, Scope
from queries.screen import TICKER_LIMIT, build_screen, ticker
from queries.services import Services
from queries.viewer import Viewer

SCREEN = "/screen"
# A unit code in a query string (the permissive code rule), checked before anything else.
CODE = re.compile(r"[0-9A-Za-z_-]{1,32}")

# compute(conn, scope, options, now, services, access) -> display-ready data
PanelCompute = Callable[
    [psycopg.Connection, Scope, Mapping[str, Any], datetime, Services, Access], Any
]


class BadFeedRequest(ValueError):
    """A query parameter the panel does not take, or a value outside its allowlist (400)."""


class UnknownUnit(LookupError):
    """A unit code that names no current unit in the caller's jurisdiction (404)."""


@dataclass(frozen=True)
class Panel:
    """One feed. ``options`` parses the query parameters (``unit`` excepted) into canonical
    options or raises BadFeedRequest; ``by_access`` puts the caller's access flags in the key
    (payloads that differ by role)."""

    name: str
    period_s: Callable[[Settings], int]
    allowed: Callable[[Viewer], bool]
    compute: PanelCompute
    options: Callable[[Mapping[str, str]], dict[str, Any]]
    by_access: bool = False
    layer: LayerSpec | None = None
    keep_periods: int | None = None  # Redis keeps entries this many periods (None: KEEP_S)


def no_options(args: Mapping[str, str]) -> dict[str, str]:
    if args:
        raise BadFeedRequest(f"this feed takes no parameter but unit; got {', '.join(args)}")
    return {}


def counters_data(conn, scope, _options, now, services, _access) -> dict[str, Any]:
    """The counters feed: {"jurisdiction" (its name), "kpis" (cards), "basic", "categories",
    "ranking", "trend"} from queries.screen.build_screen at ``now``."""
    p = build_screen(conn, scope, now, services.settings.tz)
    return {
        "jurisdiction": jurisdiction_label(p.get("jurisdiction"), p.get("scope", "")),
        "kpis": kpi_cards(p["kpis"]),
        "basic": basic_view(p["basic"]),
        "categories": category_rows(p["categories"]),
        "ranking": ranking_view(p["ranking"]),
        "trend": trend_view(p["trend"]),
    }


def ticker_data(conn, scope, _options, now, _services, _access) -> dict[str, Any]:
    """The ticker feed (dashboard/screen/ticker.py ticker_view of queries.screen.ticker)."""
    return ticker_view(ticker(conn, scope, now, TICKER_LIMIT))


def layer_options(spec: LayerSpec) -> Callable[[Mapping[str, str]], dict[str, str]]:
    """A parser of the layer's data and view options from a query string: every name must be
    one of them and every value inside its allowlist (choices, or the option's pattern)."""
    known = {o.name: o for o in spec.data_options + spec.view_options}

    def parse(args: Mapping[str, str]) -> dict[str, str]:
        for name, value in args.items():
            opt = known.get(name)
            if opt is None:
                names = ", ".join(known) or "none"
                raise BadFeedRequest(f"layer {spec.id} has no option {name!r} (options: {names})")
            allowed = (
                value in {v for v, _ in opt.choices}
                if opt.choices
                else bool(opt.pattern and re.fullmatch(opt.pattern, value))
            )
            if not allowed:
                raise BadFeedRequest(f"layer {spec.id}: {value!r} is not a value of {name!r}")
        return dict(args)

    return parse


def _layer_compute(spec: LayerSpec) -> PanelCompute:
    def compute(conn, scope, options, now, services, access) -> dict[str, Any]:
        return layer_body(conn, spec, scope, dict(options), now, services.settings, access)

    return compute


def _layer_panel(spec: LayerSpec) -> Panel:
    return Panel(
        name=f"layer-{spec.id}",
        period_s=spec.refresh_s,
        allowed=lambda v, lid=spec.id: v.may_mount(lid),
        compute=_layer_compute(spec),
        options=layer_options(spec),
        by_access=True,
        layer=spec,
        # A layer that follows the map's view has a slot per view: keep them briefly.
        keep_periods=4 if spec.extra.get("view_from_map") else None,
    )


def _board_panel() -> Panel:
    """The overdue board (dashboard/screen/board.py), shown by the wall's rotation."""
    return Panel(
        name="board",
        period_s=lambda s: s.refresh_alerts_s,
        allowed=lambda v: v.may_open(SCREEN),
        compute=lambda conn, scope, _o, now, services, _a: board_payload(
            conn, scope, now, services.settings
        ),
        options=no_options,
    )


# The worker delta's cursor: a Redis seq (layers/workers_delta.py), 0 for everything.
SINCE = re.compile(r"0|[1-9][0-9]{0,15}")


def _workers_panel() -> Panel | None:
    """The worker layer as a delta (``since``), when layers.workers provides one."""
    spec = registry.get("workers")
    delta = getattr(import_module(spec.fetch.__module__), "delta_payload", None)
    if delta is None:
        return None
    parse_layer = layer_options(spec)

    def options(args: Mapping[str, str]) -> dict[str, Any]:
        args = dict(args)
        since = args.pop("since", "0")
        if not SINCE.fullmatch(since):
            raise BadFeedRequest(f"since {since[:40]!r} is not a cursor (a whole number)")
        return {**spec.canonical_options(parse_layer(args), {}, WHOLE), "since": int(since)}

    def compute(conn, scope, opts, now, services, access) -> dict[str, Any]:
        layer_opts = {k: v for k, v in opts.items() if k != "since"}
        return delta(
            conn,
            scope,
            layer_opts,
            now,
            services.settings,
            access,
            services.cache.client,
            services.cache.namespace,
            opts["since"],
            faults=services.faults,
        )

    return Panel(
        name="workers",
        period_s=spec.refresh_s,
        allowed=lambda v: v.may_mount("workers"),
        compute=compute,
        options=options,
        by_access=True,
        keep_periods=4,  # one slot per cursor: Redis keeps them a few periods, not a day
    )


def _panels() -> dict[str, Panel]:
    out = [
        Panel(
            "counters",
            lambda s: s.refresh_counters_s,
            lambda v: v.may_open(SCREEN),
            counters_data,
            no_options,
        ),
        Panel(
            "ticker",
            lambda s: s.refresh_alerts_s,
            lambda v: v.may_open(SCREEN),
            ticker_data,
            no_options,
        ),
    ]
    out.append(_board_panel())
    workers = _workers_panel()
    if workers is not None:
        out.append(workers)
    out += [_layer_panel(spec) for spec in registry.LAYERS]
    return {p.name: p for p in out}


PANELS: dict[str, Panel] = _panels()


def feed_spec(
    panel: Panel, services: Services, args: Mapping[str, str], state: FeedState
) -> FeedSpec:
    """The FeedSpec of a request to ``panel`` by the caller of ``services``: ``unit`` narrows
    the scope (UnknownUnit unless it names a current unit inside it; checked against the
    database, remembered by ``state``), the rest are the panel's options (BadFeedRequest)."""
    args = dict(args)
    scope = services.scope
    unit = args.pop("unit", None)
    if unit is not None and unit != scope.prefix:
        if not CODE.fullmatch(unit):
            raise BadFeedRequest(f"unit {unit[:40]!r} is not a unit code")
        if not scope.contains(unit) or state.unit_exists(services, scope, unit) is False:
            raise UnknownUnit(f"unit {unit} is not in your jurisdiction")
        scope = scope.narrow(unit)
    options = panel.options(args)
    settings = services.settings
    if panel.layer is not None:
        # A drill-down code names a unit in scope before it reaches the key (never dropped
        # quietly, and random codes make no entries).
        focus = options.get("focus")
        if focus and (
            not scope.contains(focus) or state.unit_exists(services, scope, focus) is False
        ):
            raise UnknownUnit(f"unit {focus} is not in your jurisdiction")
        try:
            options = panel.layer.canonical_options(options, options, scope)
        except OptionError as exc:  # options that do not fit together (a reversed period)
            raise BadFeedRequest(f"layer {panel.layer.id}: {exc}") from None
    access = Access.of(services.viewer)

    def params_of(opts: dict[str, Any]) -> dict[str, Any]:
        if panel.by_access:
            return payload_params(opts, settings, access) | {"tz": settings.timezone}
        return {"options": opts, "tz": settings.timezone}

    params = params_of(options)
    cursor = options.get("since")
    fallback = params_of({**options, "since": 0}) if cursor else None
    compute = panel.compute

    def run(conn: psycopg.Connection, now: datetime) -> Any:
        return compute(conn, scope, options, now, services, access)

    period_s = panel.period_s(settings)
    # Slots a cursor makes many of live a few periods; the full answer (cursor 0) is the one
    # every new screen starts from and the stand-in during an outage, so it lives long.
    short = panel.keep_periods is not None and cursor != 0
    keep_s = max(60, panel.keep_periods * period_s) if short and panel.keep_periods else KEEP_S
    return FeedSpec(panel.name, scope, params, period_s, run, keep_s, fallback)


def wall_feeds(layer_feeds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wall's layer feeds (dashboard.map.component.feed_layers) with the worker layer
    polled as a delta when the registry has one: the browser keeps the points and asks for
    what changed (``since``); it falls back to ``fallback`` without assets/25_workers_delta.js."""
    if "workers" not in PANELS:
        return layer_feeds
    return [
        f | {"panel": "workers", "delta": True, "fallback": f["panel"], "asof": f["panel"]}
        if f["panel"] == "layer-workers"
        else f
        for f in layer_feeds
    ]
