"""Callbacks of the map component, registered once per profile and layer (ids are derived from
the profile prefix, so two maps never collide).

Server: the layer fetch (tick, data options, view → payload store) and the unit card.
Browser (assets/20_map.js): payload → url/data; payload + toggle + style options → hideout and
legend (no request); zoom/level/click/reset → view (level resolution and drill-down).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import flask
from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    no_update,
)

from layers import registry
from layers.base import AUTO, LayerSpec
from queries import services as services_mod
from queries.db import custom_plans
from queries.geo import unit_of
from queries.grid_card import grid_card

from . import ids
from .card import render_grid_card, render_unit_card
from .payload import layer_payload
from .profiles import MapProfile

log = logging.getLogger(__name__)


def fetch_now(layer_id: str, raw: dict[str, Any], view: dict[str, Any] | None) -> Any:
    """The payload of ``layer_id`` for the options the browser sent, or no_update (the map
    keeps the last data) when the database fails."""
    services = services_mod.current()
    spec = registry.get(layer_id)
    try:
        body = layer_payload(services, spec, raw, view, services.clock.now())
    except Exception:
        log.exception("layer %s: fetch failed", layer_id)
        return no_update
    return json.loads(body)


def card_now(clicked: dict[str, Any] | None) -> tuple[list, bool]:
    """(card children, hidden) for a clicked feature; the code is checked against the scope on
    the server and looked up in the database (the browser's properties are not shown)."""
    props = (clicked or {}).get("properties") or {}
    code = props.get("code")
    if not isinstance(code, str) or not code:
        return [], True
    services = services_mod.current()
    settings = services.settings
    try:
        with services.pool.connection() as conn, custom_plans(conn):
            unit = unit_of(conn, services.scope, code)
            if unit is None:
                return [], True
            if unit["kind"] == "grid":
                card = grid_card(conn, services.scope, code, services.clock.now(), settings.tz)
                if card is not None:
                    return render_grid_card(card, settings.hotline), False
            return render_unit_card(unit), False
    except Exception:
        log.exception("card for %s failed", code)
        return no_update, no_update


def _register_layer(profile: MapProfile, layer: LayerSpec) -> None:
    p, lid = profile.prefix, layer.id
    data_names = [o.name for o in layer.data_options if o.choices]
    style_names = [o.name for o in layer.style_options]

    @callback(
        Output(ids.store(p, lid), "data"),
        Input(ids.tick(p, lid), "n_intervals"),
        *[Input(ids.option(p, lid, n), "value") for n in data_names],
        Input(ids.view(p, lid), "data"),
    )
    def fetch_layer(_n: int | None, *args: Any) -> Any:
        *values, view = args
        raw = dict(zip(data_names, values, strict=True))
        if any(v == AUTO and n not in (view or {}) for n, v in raw.items()):
            return no_update  # wait for the view to resolve "auto" (e.g. from the zoom)
        return fetch_now(lid, raw, view)

    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="layerSource"),
        Output(ids.layer(p, lid), "url"),
        Output(ids.layer(p, lid), "data"),
        Input(ids.store(p, lid), "data"),
        State(ids.layer(p, lid), "url"),
    )
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="composeLayer"),
        Output(ids.layer(p, lid), "hideout"),
        Output(ids.legend(p, lid), "children"),
        Input(ids.store(p, lid), "data"),
        Input(ids.toggle(p, lid), "value"),
        *[Input(ids.option(p, lid, n), "value") for n in style_names],
        State(ids.meta(p, lid), "data"),
    )


def detail_now(layer_id: str, profile: MapProfile, clicked: dict[str, Any] | None) -> Any:
    """The layer's ``extra["detail"]`` for a clicked feature id, read in the caller's scope on
    the server (the layer audits what it reads); None when there is nothing to show."""
    props = (clicked or {}).get("properties") or {}
    if "id" not in props:
        return None
    services = services_mod.current()
    spec = registry.get(layer_id)
    requested_by = f"{profile.name}@{flask.request.remote_addr or '-'}"
    try:
        with services.pool.connection() as conn, custom_plans(conn):
            return spec.extra["detail"](
                conn,
                services.scope,
                props["id"],
                services.clock.now(),
                services.settings,
                requested_by,
            )
    except Exception:
        log.exception("layer %s: detail failed", layer_id)
        return None


def _register_view_from_map(profile: MapProfile, layer: LayerSpec) -> None:
    """Fill the view options named in ``extra["view_from_map"]`` ({option: "zoom"|"bounds"})
    from the map after each move (in the browser; the server parses them by pattern)."""
    p, lid = profile.prefix, layer.id
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="viewFromMap"),
        Output(ids.view(p, lid), "data"),
        Input(ids.map_(p), "zoom"),
        Input(ids.map_(p), "bounds"),
        State(ids.view(p, lid), "data"),
        State(ids.meta(p, lid), "data"),
    )


def _register_detail(profile: MapProfile, layer: LayerSpec) -> None:
    p, lid = profile.prefix, layer.id

    @callback(
        Output(ids.detail(p, lid), "data"),
        Input(ids.layer(p, lid), "n_clicks"),
        State(ids.layer(p, lid), "clickData"),
        prevent_initial_call=True,
    )
    def layer_detail(_n: int | None, clicked: dict | None) -> Any:
        return detail_now(lid, profile, clicked)

    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="layerDetail"),
        Output(f"{ids.detail(p, lid)}-shown", "data"),
        Input(ids.detail(p, lid), "data"),
        State(ids.meta(p, lid), "data"),
        prevent_initial_call=True,
    )


def _register_primary(profile: MapProfile, layer: LayerSpec) -> None:
    p, lid = profile.prefix, layer.id
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="mapView"),
        Output(ids.view(p, lid), "data"),
        Output(ids.option(p, lid, "level"), "value"),
        Output(ids.map_(p), "viewport"),
        Input(ids.map_(p), "zoom"),
        Input(ids.option(p, lid, "level"), "value"),
        Input(ids.layer(p, lid), "n_clicks"),
        Input(ids.reset(p), "n_clicks"),
        State(ids.layer(p, lid), "clickData"),
        State(ids.view(p, lid), "data"),
        State(ids.meta(p, lid), "data"),
    )

    @callback(
        Output(f"{ids.card(p)}-body", "children"),
        Output(ids.card(p), "hidden"),
        Input(ids.layer(p, lid), "n_clicks"),
        Input(ids.card_close(p), "n_clicks"),
        State(ids.layer(p, lid), "clickData"),
        prevent_initial_call=True,
    )
    def show_card(_clicks: int | None, _close: int | None, clicked: dict | None) -> tuple:
        if ctx.triggered_id == ids.card_close(p):
            return [], True
        return card_now(clicked)


def register(profile: MapProfile) -> None:
    """Register the callbacks of every layer the profile mounts."""
    for layer in profile.layers():
        _register_layer(profile, layer)
        if layer.extra.get("primary"):
            _register_primary(profile, layer)
        if layer.extra.get("view_from_map"):
            _register_view_from_map(profile, layer)
        if profile.offers_detail(layer):
            _register_detail(profile, layer)
