"""The command-centre big screen (大屏, DOMAIN.md §6)."""

import dash

from dashboard.forbidden import forbidden_notice
from dashboard.map import PROFILES, map_component
from dashboard.map import callbacks as map_callbacks
from dashboard.screen import callbacks
from dashboard.screen.layout import screen_layout
from queries import services

dash.register_page(__name__, path="/screen", title="指挥中心大屏", name="大屏")
callbacks.register()
map_callbacks.register(PROFILES["screen"])


def layout(**_query: str):
    """The screen in the caller's jurisdiction (query-string arguments are ignored); a wall
    link's layout is applied as the class ``gs-layout-<layout>``."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None or not viewer.may_open("/screen"):
        return forbidden_notice()
    root = screen_layout(svc.settings, map_component(PROFILES["screen"], svc))
    root.className = f"{root.className} gs-layout-{viewer.layout}"
    return root
