"""Where the map is used and what each use may show (decided on the server, never in the
browser)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from layers.base import LayerSpec
from layers.registry import LAYERS


@dataclass(frozen=True)
class MapProfile:
    """One use of the map component.

    ``prefix`` namespaces every component id (two maps never share an id); ``sensitivities``
    lists the data levels its layers may show (DOMAIN.md §7); ``show_options`` shows the
    option selectors (hidden ones keep their defaults); ``defaults`` overrides option defaults
    per layer id, e.g. the wall pins the grid level. ``feed``: the layers' data comes from the
    wall's feeds (``GET /feed/layer-<id>``, polled by assets/30_wall.js into each layer's
    payload store) instead of a server callback and an interval per layer.
    ``boundary_asof``: the map offers a date to draw the grid system as of (the boundaries in
    force then; ``?asof=YYYY-MM-DD`` on the page), with a badge saying which."""

    name: str
    prefix: str
    sensitivities: tuple[str, ...]
    show_options: bool
    defaults: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    zoom_control: bool = True
    feed: bool = False
    boundary_asof: bool = False

    def layers(self) -> tuple[LayerSpec, ...]:
        """The registered layers this map mounts, in registry order."""
        return tuple(x for x in LAYERS if x.sensitivity in self.sensitivities)

    def offers_detail(self, layer: LayerSpec) -> bool:
        """True when a click on the layer may ask the server for its feature detail
        (``extra["detail"]``, only on the profiles the layer lists in "detail_profiles")."""
        return callable(layer.extra.get("detail")) and self.name in layer.extra.get(
            "detail_profiles", ()
        )

    def default(self, layer: LayerSpec, name: str) -> str:
        """The initial value of option ``name`` of ``layer`` (parsed through its allowlist)."""
        opt = next(o for o in layer.all_options if o.name == name)
        return opt.parse(self.defaults.get(layer.id, {}).get(name, opt.default))


PROFILES: dict[str, MapProfile] = {
    "screen": MapProfile(
        name="screen",
        prefix="scr",
        sensitivities=("L1", "L2"),
        show_options=False,
        defaults={"grids": {"level": "grid", "measure": "created", "window": "today"}},
        zoom_control=False,
        feed=True,
    ),
    "analyst": MapProfile(
        name="analyst",
        prefix="ana",
        sensitivities=("L1", "L2"),
        show_options=True,
        boundary_asof=True,
    ),
}
