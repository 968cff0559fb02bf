"""What a map layer declares (kepler.gl-style: data options apart from style options).

How a registered layer reaches the map (dashboard/map mounts every layer of the registry):

* ``render`` picks the component. Every kind is one dash-leaflet ``GeoJSON``; vector kinds
  share the overlay canvas (polygons kept at the back), "heat" gets its own mouse-transparent
  pane: "geojson" (polygons/lines, style function ``extra["style"]`` or the default),
  "markers" (points drawn by ``extra["pointToLayer"]``, default a canvas circle marker),
  "cluster" (points clustered by supercluster, ``extra["clusterToLayer"]`` optional),
  "heat" (points drawn as soft, translucent canvas circles weighted by
  ``properties.weight``; dash-leaflet 1.1 has no heatmap plugin and no CDN may be used).
  JS functions named in ``extra`` live in ``assets/`` under ``window.gridscope``.
* ``fetch(conn, scope, options, now, settings)`` runs on the server in a callback, every
  ``refresh_s(settings)`` seconds and whenever a data option changes. ``options`` holds the
  data and view options, each parsed through its allowlist (style options never reach the
  server); ``now`` is floored to the refresh interval; ``scope`` is the caller's
  jurisdiction. The result is cached in Redis under the data version. It returns one of:
    - a GeoJSON FeatureCollection (EPSG:4326) — drawn as the layer's data; or
    - a dict {"data": FeatureCollection | None, "url": str | None, "format": "geojson" |
      "geobuf", "hideout": {...}, "legend": [{"label", "color"}], "note": str}; every key
      optional. ``hideout`` reaches the JS functions as ``context.hideout``, merged with the
      style option values and ``visible``.
  Coordinates in ``data`` are shifted to GCJ-02 by the map when the basemap needs it; a layer
  never converts them itself.
* Style options never reach the server: they are merged into ``hideout`` in the browser.
* ``extra`` keys the mount reads: "style", "hoverStyle", "onEachFeature", "pointToLayer",
  "clusterToLayer" (JS names), "format", "superClusterOptions", "pane_z" (the heat pane's
  CSS z-index; default: registry order), "view_from_map" ({view option: "zoom" | "bounds"}, filled
  from the map after each move), "detail" (callable(conn, scope, feature id, now, settings,
  requested_by) run on click) with "detail_js" (JS called with (map id, detail)) and
  "detail_profiles" (the maps that offer it).
* ``sensitivity`` is checked per page: the wall (/screen) mounts L1 and L2 layers; an L2 layer
  must mask personal data itself (names 张*, phones 138****1234; DOMAIN.md §7).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg

from domain.config import Settings
from queries.scope import Scope

Options = Mapping[str, Any]
# fetch(conn, scope, options, now, settings) -> JSON-serialisable payload (see module docstring)
Fetch = Callable[[psycopg.Connection, Scope, Options, datetime, Settings], Any]
Render = Literal["geojson", "heat", "markers", "cluster"]
RENDER_KINDS: tuple[str, ...] = ("geojson", "heat", "markers", "cluster")

# The value of a data option that the map view resolves (e.g. the grid level from the zoom).
AUTO = "auto"


@dataclass(frozen=True)
class LayerOption:
    """One user-facing option of a layer, with its allowed values (checked on the server).

    ``choices`` lists (value, label_zh); an option without choices accepts values matching
    ``pattern`` (e.g. a unit code supplied by the map view), never anything else."""

    name: str
    label_zh: str
    choices: tuple[tuple[str, str], ...]  # (value, label_zh)
    default: str
    pattern: str | None = None
    help_zh: str = ""

    def parse(self, value: Any) -> str:
        """The value if allowed, else the default (a browser value is never trusted)."""
        if not isinstance(value, str):
            return self.default
        if self.choices:
            return value if value in {v for v, _ in self.choices} else self.default
        if self.pattern and re.fullmatch(self.pattern, value):
            return value
        return self.default

    def label_of(self, value: str) -> str:
        """The Chinese label of a choice (the value itself when unknown)."""
        return dict(self.choices).get(value, value)


@dataclass(frozen=True)
class LayerSpec:
    """A map layer.

    ``data_options`` change what is fetched (a new query); ``style_options`` only restyle on the
    client through the GeoJSON ``hideout`` (no request). ``view_options`` are set by the map
    view, not by a control (e.g. the unit the user drilled into); a data option whose value is
    ``"auto"`` is resolved from the view value of the same name. ``refresh_s`` picks the layer's
    refresh interval from the settings. ``sensitivity`` is the highest data level it shows
    (DOMAIN.md §7: 'L1' public aggregates, 'L2' internal operations); the wall may show only
    what is allowed. ``extra`` carries render hints (JS function names, "pane_z").
    """

    id: str
    title_zh: str
    title_en: str
    render: Render
    fetch: Fetch
    data_options: tuple[LayerOption, ...] = ()
    style_options: tuple[LayerOption, ...] = ()
    refresh_s: Callable[[Settings], int] = lambda s: s.refresh_counters_s
    legend_zh: str = ""
    sensitivity: Literal["L1", "L2"] = "L1"
    default_visible: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)
    view_options: tuple[LayerOption, ...] = ()

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", self.id):
            raise ValueError(f"layer id {self.id!r} must be lower-case letters, digits, _")
        if self.render not in RENDER_KINDS:
            raise ValueError(f"layer {self.id}: render {self.render!r} not in {RENDER_KINDS}")
        names = [o.name for o in self.all_options]
        if len(names) != len(set(names)):
            raise ValueError(f"layer {self.id}: duplicate option names {names}")

    @property
    def all_options(self) -> tuple[LayerOption, ...]:
        return self.data_options + self.style_options + self.view_options

    def parse_options(self, raw: Mapping[str, Any] | None) -> dict[str, str]:
        """Data and style options from a browser payload, each checked against its choices."""
        raw = raw or {}
        return {o.name: o.parse(raw.get(o.name)) for o in self.data_options + self.style_options}

    def parse_data_options(
        self, raw: Mapping[str, Any] | None, view: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """Data and view options for ``fetch``: each parsed through its allowlist, "auto" data
        options replaced by the (parsed) view value of the same name when it has one."""
        raw, view = raw or {}, view or {}
        out = {o.name: o.parse(raw.get(o.name)) for o in self.data_options}
        for o in self.data_options:
            if out[o.name] == AUTO and o.name in view:
                resolved = o.parse(view.get(o.name))
                out[o.name] = resolved
        out.update({o.name: o.parse(view.get(o.name)) for o in self.view_options})
        return out
