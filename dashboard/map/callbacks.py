"""Callbacks of the map component, registered once per profile and layer (ids are derived from
the profile prefix, so two maps never collide).

Server: the layer fetch (tick, data options, view → payload store; not on a ``feed`` profile,
whose stores the wall's feeds fill), the unit card and the layers' feature detail, each for
the request's viewer (queries.services.current()): layers it may not mount answer nothing, the
card's personal fields are masked by its tier, and every browser value is checked first
(dashboard/map/inputs.py) — a forged one gets an empty or unchanged output, never a 500. Options
the layer refuses (layers.base.OptionError: a strict option's bad value, a period ending before
it starts) leave the map as it is and say why under the layer's selectors.
A database outage is logged once (``services.faults``) and leaves the map as it is.
Browser (assets/20_map.js): payload → url/data; payload + toggle + style options → hideout and
legend (no request); zoom/level/click/reset → view (level resolution and drill-down); a layer's
date range ↔ the selector it feeds (extra["period_window"]).
"""

from __future__ import annotations

import json
from typing import Any

from dash import (
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    no_update,
    set_props,
)

from domain.access import FIELD_TIERS, Action
from layers import registry
from layers.base import AUTO, LayerSpec, OptionError
from queries import audit
from queries import services as services_mod
from queries.db import custom_plans
from queries.geo import unit_of
from queries.grid_card import grid_card
from queries.transient import TRANSIENT_DB_ERRORS

from . import asof as asof_callbacks
from . import ids
from .asof import boundary_day
from .card import mask_card, render_grid_card, render_unit_card
from .controls import option_input, shown_data_options
from .inputs import click_code, click_id, mapping
from .payload import layer_payload
from .profiles import MapProfile


def fetch_now(layer_id: str, raw: Any, view: Any, asof: Any = None) -> Any:
    """The payload of ``layer_id`` for the options the browser sent, or no_update (the map
    keeps the last data) when the viewer may not mount the layer or the database fails.
    ``asof`` (the map's boundary date, primary layer of a ``boundary_asof`` map) draws the
    boundaries in force on that day; OptionError when it is not a day."""
    services = services_mod.current()
    viewer = services.viewer
    if viewer is None or not viewer.may_mount(layer_id):
        return no_update
    spec = registry.get(layer_id)
    now = services.clock.now()
    day = boundary_day(asof, now, services.settings.tz)
    try:
        body = layer_payload(services, spec, mapping(raw), mapping(view), now, asof=day)
    except TRANSIENT_DB_ERRORS as exc:  # the primary: queries.cache.cached_payload reads it
        services.faults.failed("postgres", exc)
        return no_update
    services.faults.ok("postgres")
    return json.loads(body)


def fetch_checked(layer_id: str, raw: Any, view: Any, asof: Any = None) -> tuple[Any, str]:
    """(payload, "") as ``fetch_now`` gives it, or (no_update, the reason) when the layer
    refuses the options (OptionError): the map keeps its data and shows the reason."""
    try:
        return fetch_now(layer_id, raw, view, asof), ""
    except OptionError as exc:
        return no_update, str(exc)


def card_now(clicked: Any, layer_id: str = "grids") -> tuple[Any, Any]:
    """(card children, hidden) for a clicked feature of ``layer_id``; the code is checked
    against the scope on the server and looked up in the database (the browser's properties
    are not shown). Staff names and phones are masked by the viewer's tier (domain.masking,
    with a "已脱敏" hint); a card that shows them whole is audited ("card_read")."""
    code = click_code(clicked)
    if code is None:
        return [], True
    services = services_mod.current()
    viewer = services.viewer
    if viewer is None or not viewer.may_mount(layer_id):
        return [], True
    settings = services.settings
    now = services.clock.now()
    try:
        with services.pool.connection() as conn:
            with custom_plans(conn):
                unit = unit_of(conn, services.scope, code)
                card = None
                if unit is not None and unit["kind"] == "grid":
                    card = grid_card(conn, services.scope, code, now, settings.tz)
            if unit is None:
                return [], True
            if card is None:
                return render_unit_card(unit), False
            shown, masked = mask_card(card, viewer.masker)
            if shown["staff"] and not masked:
                event = audit.event_for(
                    viewer,
                    "card_read",
                    object="grid",
                    object_ids=[code],
                    count=len(shown["staff"]),
                    tier=int(FIELD_TIERS["staff.name"]),
                )
                audit.write(conn, event, now)  # after the reads: commits them both
            return render_grid_card(shown, settings.hotline, masked=masked), False
    except TRANSIENT_DB_ERRORS as exc:
        services.faults.failed("postgres", exc)
        return no_update, no_update


def _register_layer(profile: MapProfile, layer: LayerSpec) -> None:
    p, lid = profile.prefix, layer.id
    style_names = [o.name for o in layer.style_options]
    if not profile.feed:
        _register_fetch(profile, layer)
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


def _register_fetch(profile: MapProfile, layer: LayerSpec) -> None:
    """The server fetch of a layer: every refresh tick, data option or view change; a refused
    choice is explained under the selectors (and the message cleared by the next good one)."""
    p, lid = profile.prefix, layer.id
    shown = shown_data_options(layer)
    data_names = [o.name for o in shown]
    # The primary layer of a map with a boundary date also follows the date picker.
    asof = profile.boundary_asof and bool(layer.extra.get("primary"))

    @callback(
        Output(ids.store(p, lid), "data"),
        Input(ids.tick(p, lid), "n_intervals"),
        *[Input(*option_input(profile, layer, o)) for o in shown],
        Input(ids.view(p, lid), "data"),
        *([Input(ids.asof(p), "date")] if asof else []),
    )
    def fetch_layer(_n: Any, *args: Any) -> Any:
        day = args[-1] if asof else None
        *values, view = args[:-1] if asof else args
        raw = dict(zip(data_names, values, strict=True))
        view = mapping(view)
        if any(v == AUTO and n not in view for n, v in raw.items()):
            return no_update  # wait for the view to resolve "auto" (e.g. from the zoom)
        payload, refused = fetch_checked(lid, raw, view, day)
        # The reason goes beside the selectors as a side update, so the callback keeps its
        # one output (the payload store) and a refused choice leaves the map's data alone.
        set_props(ids.error(p, lid), {"children": refused})
        return payload


def _register_period(profile: MapProfile, layer: LayerSpec) -> None:
    """Keep a layer's date range and the selector it feeds in step (in the browser)."""
    p, lid = profile.prefix, layer.id
    name = layer.extra["period_window"][0]
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="periodSync"),
        Output(ids.option(p, lid, name), "value"),
        Output(ids.period(p, lid), "start_date"),
        Output(ids.period(p, lid), "end_date"),
        Input(ids.option(p, lid, name), "value"),
        Input(ids.period(p, lid), "start_date"),
        Input(ids.period(p, lid), "end_date"),
        State(ids.meta(p, lid), "data"),
        prevent_initial_call=True,
    )


def detail_now(layer_id: str, profile: MapProfile, clicked: Any) -> Any:
    """The layer's ``extra["detail"]`` for a clicked feature id, read in the caller's scope on
    the server (the layer audits what it reads); None when there is nothing to show or the
    viewer may not see it: the layer is not mounted for it, the map does not offer the
    detail, or the viewer lacks the layer's ``extra["detail_action"]`` (no action declared:
    refused)."""
    feature_id = click_id(clicked)
    if feature_id is None:
        return None
    services = services_mod.current()
    viewer = services.viewer
    spec = registry.get(layer_id)
    action = spec.extra.get("detail_action")
    if (
        viewer is None
        or action is None
        or not viewer.may(Action(action))
        or not viewer.may_mount(layer_id)
        or not profile.offers_detail(spec)
    ):
        return None
    try:
        with services.pool.connection() as conn, custom_plans(conn):
            return spec.extra["detail"](
                conn, services.scope, feature_id, services.clock.now(), services.settings, viewer
            )
    except TRANSIENT_DB_ERRORS as exc:
        services.faults.failed("postgres", exc)
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
    def layer_detail(_n: Any, clicked: Any) -> Any:
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
    def show_card(_clicks: Any, _close: Any, clicked: Any) -> tuple:
        if ctx.triggered_id == ids.card_close(p):
            return [], True
        return card_now(clicked, lid)


def register(profile: MapProfile) -> None:
    """Register the callbacks of every layer the profile mounts (and of its boundary date)."""
    if profile.boundary_asof:
        asof_callbacks.register(profile)
    for layer in profile.layers():
        _register_layer(profile, layer)
        if layer.extra.get("primary"):
            _register_primary(profile, layer)
        if layer.extra.get("view_from_map"):
            _register_view_from_map(profile, layer)
        if layer.extra.get("period_window") and not profile.feed:
            _register_period(profile, layer)
        if profile.offers_detail(layer):
            _register_detail(profile, layer)
