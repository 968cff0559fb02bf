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
* ``fetch(conn, scope, options, now, settings, access)`` runs on the server in a callback,
  every ``refresh_s(settings)`` seconds and whenever a data option changes. ``options`` holds
  the data and view options, each parsed through its allowlist (style options never reach the
  server) and then through ``normalise`` (canonical values: the cache key is built from
  them); ``now`` is floored to the refresh interval; ``scope`` is the caller's jurisdiction;
  ``access`` (``Access``) is what the caller's role lets the layer show (exact points, worker
  positions, the data tier), decided on the server from ``domain.access``. The result is
  cached in Redis under the data version, the scope and ``access``. It returns one of:
    - a GeoJSON FeatureCollection (EPSG:4326) — drawn as the layer's data; or
    - a dict {"data": FeatureCollection | None, "url": str | None, "format": "geojson" |
      "geobuf", "hideout": {...}, "legend": [{"label", "color"}], "note": str}; every key
      optional. ``hideout`` reaches the JS functions as ``context.hideout``, merged with the
      style option values and ``visible``.
  Coordinates in ``data`` are shifted to GCJ-02 by the map when the basemap needs it; a layer
  never converts them itself.
* Style options never reach the server: they are merged into ``hideout`` in the browser.
* An option marked ``strict`` refuses a value outside its allowlist with ``OptionError`` (its
  message in Chinese names the option and the value) instead of quietly using the default, and
  ``normalise`` raises it for options that do not fit together (a period ending before it
  starts); the map shows the message beside the controls and keeps its last data.
* ``extra`` keys the mount reads: "style", "hoverStyle", "onEachFeature", "pointToLayer",
  "clusterToLayer" (JS names), "format", "superClusterOptions", "pane_z" (the heat pane's
  CSS z-index; default: registry order), "view_from_map" ({view option: "zoom" | "bounds"}, filled
  from the map after each move), "period_window" ((option, value): the choice a date range
  picked on the map sets, e.g. ("window", "period"); a quick choice of that option clears the
  range), "detail" (callable(conn, scope, feature id, now, settings,
  viewer) run on click; it checks the viewer's permission again and audits what it reads)
  with "detail_action" (the ``domain.access.Action`` a viewer needs for it; none declared:
  refused), "detail_js" (JS called with (map id, detail)) and "detail_profiles" (the maps
  that offer it).
* ``sensitivity`` is checked per page: the wall (/screen) mounts L1 and L2 layers; an L2 layer
  must mask or aggregate personal data itself by ``access`` (names 张*, phones 138****1234,
  points as counts per grid; DOMAIN.md §7). Which layers a viewer mounts at all is
  ``Viewer.may_mount`` (domain.access).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg

from domain.access import Action, Role, Tier, policy
from domain.config import Settings
from queries.scope import Scope
from queries.viewer import Viewer

Options = Mapping[str, Any]

# How an option is chosen on the map: a row of buttons, a searchable drop-down, or one end of
# a date range (one DatePickerRange per layer holds both ends: "YYYY-MM-DD" strings).
Control = Literal["radio", "dropdown", "date_start", "date_end"]


class OptionError(ValueError):
    """A layer option value the layer refuses, with a message for the user (Chinese, naming
    the option and what is wrong): a strict option's value outside its allowlist, or options
    that do not fit together. Never a 500: the map shows the message and keeps its data."""


def _shown(value: Any) -> str:
    """A browser value as it may appear in a message: whole when short, else only its length
    (a cut value could read as a different code, e.g. a prefix of another unit's code)."""
    text = repr(value)
    return text if len(text) <= 40 else f"（{len(text)} 个字符的值）"


@dataclass(frozen=True)
class Access:
    """What a layer may show to the caller, decided on the server from the caller's role
    (domain.access): ``tier`` (the highest data tier read unmasked), ``exact_points``
    (residents' report locations as points, not counts per grid), ``read_tracks`` (named
    workers' precise positions). The default is the least: L1, counts only. Every layer
    payload's cache key carries it (dashboard/map/payload.py), so no payload cached for one
    role is served to another."""

    tier: Tier = Tier.L1
    exact_points: bool = False
    read_tracks: bool = False

    @classmethod
    def of(cls, viewer: Viewer | None) -> Access:
        """The access of ``viewer``; the least for no viewer (fail closed)."""
        if viewer is None:
            return cls()
        return cls(
            Tier(viewer.tier), viewer.may(Action.EXACT_POINTS), viewer.may(Action.READ_TRACKS)
        )

    @classmethod
    def of_role(cls, role: Role | str) -> Access:
        """The access of any caller of ``role`` (tests, benchmarks, the CLI)."""
        p = policy(role)
        return cls(p.tier, Action.EXACT_POINTS in p.actions, Action.READ_TRACKS in p.actions)

    def key(self) -> dict[str, Any]:
        """The cache-key part: plain JSON values."""
        return {
            "tier": int(self.tier),
            "exact_points": self.exact_points,
            "read_tracks": self.read_tracks,
        }


# The least access: L1, counts only (a fetch's default, and any caller without a viewer).
NO_ACCESS = Access()

# fetch(conn, scope, options, now, settings, access) -> JSON-serialisable payload (see the
# module docstring); ``access`` defaults to NO_ACCESS in every layer.
Fetch = Callable[[psycopg.Connection, Scope, Options, datetime, Settings, Access], Any]
# normalise(options, scope) -> options: canonical values of the parsed options (e.g. a bbox
# snapped to tiles), applied before the cache key is built.
Normalise = Callable[[dict[str, str], Scope], dict[str, str]]
Render = Literal["geojson", "heat", "markers", "cluster"]
RENDER_KINDS: tuple[str, ...] = ("geojson", "heat", "markers", "cluster")

# The value of a data option that the map view resolves (e.g. the grid level from the zoom).
AUTO = "auto"


@dataclass(frozen=True)
class LayerOption:
    """One user-facing option of a layer, with its allowed values (checked on the server).

    ``choices`` lists (value, label_zh); an option without choices accepts values matching
    ``pattern`` (e.g. a unit code supplied by the map view), never anything else. A value
    outside the allowlist becomes the default, or, when ``strict``, raises ``OptionError``
    (``format_zh`` says what a valid value looks like). ``control`` is how the map offers it.
    """

    name: str
    label_zh: str
    choices: tuple[tuple[str, str], ...]  # (value, label_zh)
    default: str
    pattern: str | None = None
    help_zh: str = ""
    strict: bool = False
    control: Control = "radio"
    format_zh: str = ""

    def allows(self, value: Any) -> bool:
        """True when ``value`` is one of the choices, or matches the pattern."""
        if not isinstance(value, str):
            return False
        if self.choices:
            return value in {v for v, _ in self.choices}
        return bool(self.pattern and re.fullmatch(self.pattern, value))

    def parse(self, value: Any) -> str:
        """The value if allowed, else the default (a browser value is never trusted); a strict
        option raises OptionError for any value given but not allowed (None is "not given")."""
        if self.allows(value):
            return value
        if self.strict and value is not None:
            hint = f"（{self.format_zh}）" if self.format_zh else ""
            raise OptionError(f"{self.label_zh}：{_shown(value)} 无效{hint}")
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
    ``normalise`` maps parsed options to canonical ones before they reach the cache key, so
    that random browser values cannot grow the cache (default: unchanged).
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
    normalise: Normalise | None = None

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", self.id):
            raise ValueError(f"layer id {self.id!r} must be lower-case letters, digits, _")
        if self.render not in RENDER_KINDS:
            raise ValueError(f"layer {self.id}: render {self.render!r} not in {RENDER_KINDS}")
        names = [o.name for o in self.all_options]
        if len(names) != len(set(names)):
            raise ValueError(f"layer {self.id}: duplicate option names {names}")
        ends = [o.control for o in self.data_options if o.control.startswith("date_")]
        if sorted(ends) not in ([], ["date_end", "date_start"]):
            raise ValueError(f"layer {self.id}: a date range needs one date_start and one date_end")

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

    def canonical_options(
        self, raw: Mapping[str, Any] | None, view: Mapping[str, Any] | None, scope: Scope
    ) -> dict[str, str]:
        """``parse_data_options`` then ``normalise``: the options a fetch and its cache key
        see. Non-mapping browser values count as empty. OptionError when a strict option's
        value is refused or ``normalise`` finds the options do not fit together."""
        raw = raw if isinstance(raw, Mapping) else {}
        view = view if isinstance(view, Mapping) else {}
        out = self.parse_data_options(raw, view)
        return self.normalise(out, scope) if self.normalise is not None else out
