"""The command-centre big screen (大屏, DOMAIN.md §6)."""

import dash

from dashboard.map import PROFILES, map_component
from dashboard.map import callbacks as map_callbacks
from dashboard.screen import callbacks
from dashboard.screen.layout import screen_layout
from queries import services

dash.register_page(__name__, path="/screen", title="指挥中心大屏", name="大屏")
callbacks.register()
map_callbacks.register(PROFILES["screen"])


def layout(**_query: str):
    """The screen for this app's settings (query-string arguments are ignored)."""
    svc = services.current()
    return screen_layout(svc.settings, map_component(PROFILES["screen"], svc))
