"""The command-centre big screen (大屏, DOMAIN.md §6). Drawn once; the wall's JS
(assets/30_wall.js) fills it from the feeds (``GET /feed/<panel>``), so no server callback
refreshes it. The map keeps its clientside callbacks and the click card."""

import dash

from dashboard.feeds import wall_feeds
from dashboard.forbidden import forbidden_notice
from dashboard.map import PROFILES, map_component
from dashboard.map import callbacks as map_callbacks
from dashboard.map.component import feed_layers
from dashboard.screen.layout import feeds_config, screen_layout
from queries import services

dash.register_page(__name__, path="/screen", title="指挥中心大屏", name="大屏")
map_callbacks.register(PROFILES["screen"])


def _rotation(svc) -> tuple[list, list, bool]:
    """(overlays, extras, board feed) of the rotation, when its modules are there."""
    try:
        from dashboard.screen.board import board_overlay
        from dashboard.screen.rotation import rotation_config
    except ImportError:  # rotation not installed: a static wall
        return [], [], False
    return [board_overlay()], [rotation_config(svc)], True


def layout(**_query: str):
    """The screen in the caller's jurisdiction (query-string arguments are ignored); a wall
    link's layout is applied as the class ``gs-layout-<layout>``."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open("/screen"):
        return forbidden_notice()
    profile = PROFILES["screen"]
    overlays, extras, board = _rotation(svc)
    root = screen_layout(
        svc.settings,
        map_component(profile, svc),
        feeds=feeds_config(svc.settings, wall_feeds(feed_layers(profile, svc)), board=board),
        overlays=overlays,
        extras=extras,
    )
    root.className = f"{root.className} gs-layout-{viewer.layout}"
    return root
