"""The map component's layout: a Leaflet map with one pane per registered layer, the control
panel (toggles, legends, selectors) and the grid card.

No basemap unless ``settings.basemap_url`` is set: the default is the dark background with the
boundaries only, so no request leaves the machine. Every layer starts empty; its payload store
is filled by the fetch callback and turned into url/data/hideout in the browser.

Only the layers the viewer may mount (``Viewer.may_mount``, domain.access) are rendered; with
no viewer, none (the fetch callbacks refuse them too).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from domain.geo.display import lonlat_to_display
from layers.base import LayerSpec, OptionError
from layers.grid_geometry import as_of_instant
from queries.geo import extent, level_counts
from queries.services import Services
from queries.transient import TRANSIENT_DB_ERRORS

from . import ids
from .asof import asof_control, boundary_day
from .controls import layer_panel
from .profiles import MapProfile

# Lat/lon of the first view when the scope has no grid (central Jiaxing).
DEFAULT_CENTER = (30.75, 120.75)


def _bounds(services: Services, now: datetime) -> tuple[list | None, dict[str, int]]:
    """([[south, west], [north, east]] of the scope's grids in the display datum, level counts);
    (None, {}) when the database does not answer (the map then starts at DEFAULT_CENTER)."""
    name = "postgres-replica" if services.replica_pool is not None else "postgres"
    try:
        with services.read_pool.connection() as conn:
            box = extent(conn, services.scope, now)
            counts = level_counts(conn, services.scope, now)
    except TRANSIENT_DB_ERRORS as exc:  # the page must render; logged once per outage
        services.faults.failed(name, exc)
        return None, {}
    services.faults.ok(name)
    if box is None:
        return None, counts
    crs = services.settings.basemap_crs
    w, s = lonlat_to_display(box[0], box[1], crs)
    e, n = lonlat_to_display(box[2], box[3], crs)
    return [[s, w], [n, e]], counts


def layer_meta(
    profile: MapProfile, layer: LayerSpec, counts: dict[str, int], bounds: list | None
) -> dict[str, Any]:
    """What the browser functions need to know about a layer (no data, no secrets)."""
    return {
        "bounds": bounds,
        "id": layer.id,
        "render": layer.render,
        "title": layer.title_zh,
        "legend_zh": layer.legend_zh,
        "style_names": [o.name for o in layer.style_options],
        "auto_min_zoom": dict(layer.extra.get("auto_min_zoom", {})),
        "auto_max_units": dict(layer.extra.get("auto_max_units", {})),
        "next_level": dict(layer.extra.get("next_level", {})),
        "level_counts": counts,
        "primary": bool(layer.extra.get("primary")),
        "pane": pane_name(profile, layer),
        "pane_z": layer.extra.get("pane_z"),
        "map_id": ids.map_(profile.prefix),
        "detail_js": layer.extra.get("detail_js"),
        "view_from_map": dict(layer.extra.get("view_from_map", {})),
        "period_window": period_window(profile, layer),
    }


def period_window(profile: MapProfile, layer: LayerSpec) -> list[str]:
    """[option, value, the option's default] of ``extra["period_window"]`` (the selector a date
    range feeds, assets/20_map.js periodSync); [] for a layer without a date range."""
    pw = layer.extra.get("period_window")
    if not pw:
        return []
    name, value = pw
    return [name, value, profile.default(layer, name)]


def pane_name(profile: MapProfile, layer: LayerSpec) -> str:
    """The Leaflet pane of a layer (its own canvas; drawn in registry order or by pane_z)."""
    return f"gs-{profile.prefix}-{layer.id}"


def layer_component(profile: MapProfile, layer: LayerSpec) -> dl.Pane | dl.GeoJSON:
    """The layer's GeoJSON. Vector layers share the overlay pane's one canvas (stacked canvases
    would hide the lower layers from the mouse); the grid layer keeps itself at the back of it
    (gridscope.unitTooltip). A heat layer draws its own canvas in its own pane, which lets the
    mouse through to the layers below."""
    p = profile.prefix
    fn = {
        key: {"variable": layer.extra[key]}
        for key in ("style", "hoverStyle", "onEachFeature", "pointToLayer", "clusterToLayer")
        if key in layer.extra
    }
    if layer.render == "heat":
        fn.setdefault("pointToLayer", {"variable": "gridscope.heatPoint"})
    elif layer.render in ("markers", "cluster"):
        fn.setdefault("pointToLayer", {"variable": "gridscope.pointMarker"})
    else:
        fn.setdefault("style", {"variable": "gridscope.layerStyle"})
    kwargs: dict[str, Any] = {}
    if layer.render == "cluster":
        kwargs.update(
            cluster=True,
            superClusterOptions=dict(
                layer.extra.get("superClusterOptions", {"radius": 60, "maxZoom": 17})
            ),
        )
    geo = dl.GeoJSON(
        id=ids.layer(p, layer.id),
        url=None,
        data=None,
        format=layer.extra.get("format", "geobuf" if layer.extra.get("primary") else "geojson"),
        zoomToBounds=False,
        filter={"variable": "gridscope.layerFilter"},
        hideout={"visible": layer.default_visible},
        interactive=layer.render != "heat",
        **fn,
        **kwargs,
    )
    if layer.render != "heat":
        return geo
    geo.pane = pane_name(profile, layer)
    return dl.Pane(
        geo,
        name=pane_name(profile, layer),
        id=f"{ids.layer(p, layer.id)}-pane",
        className="gs-pane-passive",
    )


def layer_stores(profile: MapProfile, layer: LayerSpec, settings, counts, bounds) -> list:
    p = profile.prefix
    view = {o.name: profile.default(layer, o.name) for o in layer.view_options}
    extra = []
    if profile.offers_detail(layer):
        detail = ids.detail(p, layer.id)
        extra = [dcc.Store(id=detail), dcc.Store(id=f"{detail}-shown")]
    return [
        *extra,
        dcc.Store(id=ids.store(p, layer.id), data=None),
        dcc.Store(id=ids.view(p, layer.id), data=view),
        dcc.Store(id=ids.meta(p, layer.id), data=layer_meta(profile, layer, counts, bounds)),
        *(
            []
            if profile.feed  # the wall's feeds fill the store (assets/30_wall.js)
            else [dcc.Interval(id=ids.tick(p, layer.id), interval=layer.refresh_s(settings) * 1000)]
        ),
    ]


def feed_layers(profile: MapProfile, services: Services) -> list[dict[str, Any]]:
    """What the wall's JS needs to poll each mounted layer's feed: {"panel" ("layer-<id>"),
    "store" (the payload store it fills), "period_s", "query" (the profile's data options),
    "view_from_map" ({option: "zoom"|"bounds"} filled from the map at each poll), "map"}."""
    p = profile.prefix
    return [
        {
            "panel": f"layer-{x.id}",
            "layer": x.id,
            "store": ids.store(p, x.id),
            "period_s": x.refresh_s(services.settings),
            "query": {o.name: profile.default(x, o.name) for o in x.data_options},
            "view_from_map": dict(x.extra.get("view_from_map", {})),
            "map": ids.map_(p),
        }
        for x in mounted_layers(profile, services)
    ]


def mounted_layers(profile: MapProfile, services: Services) -> tuple[LayerSpec, ...]:
    """The profile's layers that the caller of ``services`` may mount, in registry order."""
    viewer = getattr(services, "viewer", None)
    if viewer is None:
        return ()
    return tuple(x for x in profile.layers() if viewer.may_mount(x.id))


def map_component(
    profile: MapProfile,
    services: Services,
    now: datetime | None = None,
    asof: object = None,
) -> html.Div:
    """The whole map for ``profile`` in the caller's scope at ``now`` (default: the services'
    clock), with the layers the caller may mount. ``asof`` (a profile with ``boundary_asof``:
    the page's ``?asof=YYYY-MM-DD``) starts the map with the boundaries of that day; a bad
    value is said under the picker and the map starts current."""
    settings = services.settings
    now = now or services.clock.now()
    p = profile.prefix
    day, refused = None, ""
    if profile.boundary_asof:
        try:
            day = boundary_day(asof, now, settings.tz)
        except OptionError as exc:
            refused = str(exc)
    bounds, counts = _bounds(services, as_of_instant(day, settings.tz) if day else now)
    layers = mounted_layers(profile, services)
    children: list = []
    if settings.basemap_url:
        children.append(
            dl.TileLayer(url=settings.basemap_url, attribution=settings.basemap_attribution or None)
        )
    children += [layer_component(profile, x) for x in layers]
    # dash-leaflet's viewport tracking needs center and zoom even when bounds decide the view.
    view_kwargs: dict[str, Any] = {"center": DEFAULT_CENTER, "zoom": 11}
    if bounds:
        center = ((bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2)
        view_kwargs = {"bounds": bounds, "center": center, "zoom": 11}
    leaflet = dl.Map(
        children,
        id=ids.map_(p),
        zoomSnap=0.1,
        zoomControl=profile.zoom_control,
        attributionControl=bool(settings.basemap_url),
        preferCanvas=True,
        style={"width": "100%", "height": "100%"},
        className="gs-leaflet",
        **view_kwargs,
    )
    stores = [s for x in layers for s in layer_stores(profile, x, settings, counts, bounds)]
    panel = html.Div(
        ([asof_control(profile, day, refused)] if profile.boundary_asof else [])
        + [layer_panel(profile, x) for x in layers],
        className=f"gs-mapctl gs-mapctl--{profile.name}",
    )
    card = html.Aside(
        [
            html.Button("×", id=ids.card_close(p), className="gs-card-close", title="关闭"),
            html.Div(id=f"{ids.card(p)}-body"),
        ],
        id=ids.card(p),
        className="gs-card",
        hidden=True,
    )
    return html.Div(
        [*stores, leaflet, panel, card],
        className=f"gs-map-wrap gs-map-wrap--{profile.name}",
    )
