"""What a map layer declares (kepler.gl-style: data options apart from style options)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psycopg

from gridscope.config import Settings
from queries.scope import Scope

Options = Mapping[str, Any]
# fetch(conn, scope, options, now, settings) -> JSON-serialisable payload or bytes
Fetch = Callable[[psycopg.Connection, Scope, Options, datetime, Settings], Any]


@dataclass(frozen=True)
class LayerOption:
    """One user-facing option of a layer, with its allowed values (checked on the server)."""

    name: str
    label_zh: str
    choices: tuple[tuple[str, str], ...]  # (value, label_zh)
    default: str

    def parse(self, value: Any) -> str:
        """The value if allowed, else the default (a browser value is never trusted)."""
        allowed = {v for v, _ in self.choices}
        return value if isinstance(value, str) and value in allowed else self.default


@dataclass(frozen=True)
class LayerSpec:
    """A map layer.

    ``data_options`` change what is fetched (a new query); ``style_options`` only restyle on the
    client through the GeoJSON ``hideout`` (no request). ``refresh_s`` picks the layer's refresh
    interval from the settings. ``sensitivity`` is the highest data level it shows (DOMAIN.md §7:
    'L1' public aggregates, 'L2' internal operations); the wall may show only what is allowed.
    """

    id: str
    title_zh: str
    title_en: str
    render: Literal["geojson", "heat", "markers", "cluster"]
    fetch: Fetch
    data_options: tuple[LayerOption, ...] = ()
    style_options: tuple[LayerOption, ...] = ()
    refresh_s: Callable[[Settings], int] = lambda s: s.refresh_counters_s
    legend_zh: str = ""
    sensitivity: Literal["L1", "L2"] = "L1"
    default_visible: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    def parse_options(self, raw: Mapping[str, Any] | None) -> dict[str, str]:
        """Data and style options from a browser payload, each checked against its choices."""
        raw = raw or {}
        return {o.name: o.parse(raw.get(o.name)) for o in self.data_options + self.style_options}
