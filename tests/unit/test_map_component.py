"""The map component's layout without a database: no basemap (no request leaves the machine)
unless one is configured, one GeoJSON and one toggle per mounted layer, ids per profile, only
the layers the viewer may mount (none without a viewer)."""

from __future__ import annotations

from types import SimpleNamespace

import dash_leaflet as dl
import psycopg
from dash import dcc

from dashboard.map import PROFILES, map_component
from domain.clock.now import FixedClock
from domain.config import Settings
from layers.registry import LAYERS
from queries.faults import FaultLog
from queries.scope import Scope
from queries.viewer import Viewer
from tests.conftest import DEMO_NOW


class DownPool:
    def connection(self, timeout=None):
        raise psycopg.OperationalError("database down")


def find(component, predicate) -> list:
    out = []
    if isinstance(component, list | tuple):
        for c in component:
            out += find(c, predicate)
        return out
    if component is None or isinstance(component, str | int | float):
        return out
    if predicate(component):
        out.append(component)
    return out + find(getattr(component, "children", None), predicate)


ANALYST = Viewer("user", 1, "analyst", "analyst", Scope(""))


def services(viewer=ANALYST, **settings):
    return SimpleNamespace(
        settings=Settings(**settings),
        pool=DownPool(),
        read_pool=DownPool(),
        replica_pool=None,
        faults=FaultLog(),
        scope=Scope(""),
        clock=FixedClock(DEMO_NOW),
        viewer=viewer,
    )


def test_no_basemap_by_default_and_a_configured_one_when_set():
    view = map_component(PROFILES["analyst"], services())
    assert not find(view, lambda c: isinstance(c, dl.TileLayer))
    [leaflet] = find(view, lambda c: isinstance(c, dl.Map))
    assert leaflet.preferCanvas is True and leaflet.attributionControl is False
    tiles = "http://tiles.intranet/{z}/{x}/{y}.png"
    with_base = map_component(PROFILES["analyst"], services(basemap_url=tiles))
    [tile] = find(with_base, lambda c: isinstance(c, dl.TileLayer))
    assert tile.url == tiles


def test_every_registered_layer_is_mounted_with_a_toggle_per_profile():
    for profile in PROFILES.values():
        view = map_component(profile, services())
        geo_ids = {c.id for c in find(view, lambda c: isinstance(c, dl.GeoJSON))}
        assert geo_ids == {f"{profile.prefix}-layer-{x.id}" for x in profile.layers()}
        toggles = find(view, lambda c: str(getattr(c, "id", "")).endswith("-on"))
        assert len(toggles) == len(profile.layers())
    grids = find(
        map_component(PROFILES["screen"], services()),
        lambda c: getattr(c, "id", None) == "scr-layer-grids-opt-level",
    )
    assert grids[0].value == "grid"  # the wall pins the grid level
    assert {x.id for x in PROFILES["analyst"].layers()} <= {x.id for x in LAYERS}


class NoWorkers:
    """A viewer whose role may not mount the worker layer (no role of POLICY lacks a layer
    today; the mount must still ask)."""

    def may_mount(self, layer_id: str) -> bool:
        return layer_id != "workers"


def test_only_layers_the_viewer_may_mount_are_rendered():
    for profile in PROFILES.values():
        view = map_component(profile, services(viewer=NoWorkers()))
        geo_ids = {c.id for c in find(view, lambda c: isinstance(c, dl.GeoJSON))}
        assert geo_ids == {
            f"{profile.prefix}-layer-{x.id}" for x in profile.layers() if x.id != "workers"
        }
        assert not find(view, lambda c: "workers" in str(getattr(c, "id", "")))
        nobody = map_component(profile, services(viewer=None))
        assert not find(nobody, lambda c: isinstance(c, dl.GeoJSON))


def test_the_wall_map_has_no_refresh_interval_and_names_its_layer_feeds():
    """The wall's layers come from the feeds (assets/30_wall.js fills their stores): no
    dcc.Interval per layer there; the analyst map keeps its own; an outage while drawing the
    map is one fault, not an exception."""
    from dashboard.map.component import feed_layers

    svc = services()
    wall = map_component(PROFILES["screen"], svc)
    assert not find(wall, lambda c: isinstance(c, dcc.Interval))
    assert svc.faults.down("postgres")
    analyst = map_component(PROFILES["analyst"], services())
    assert len(find(analyst, lambda c: isinstance(c, dcc.Interval))) == len(
        PROFILES["analyst"].layers()
    )
    got = {f["panel"]: f for f in feed_layers(PROFILES["screen"], svc)}
    assert set(got) == {f"layer-{x.id}" for x in PROFILES["screen"].layers()}
    assert got["layer-grids"]["store"] == "scr-layer-grids-payload"
    assert got["layer-grids"]["query"]["level"] == "grid"  # the wall pins the grid level
    assert got["layer-heat"]["view_from_map"] == {"zoom": "zoom", "bbox": "bounds"}
    assert got["layer-workers"]["period_s"] == svc.settings.refresh_workers_s
