"""The command-centre big screen (大屏, DOMAIN.md §6)."""

import dash

from dashboard import services
from dashboard.screen import callbacks
from dashboard.screen.layout import screen_layout

dash.register_page(__name__, path="/screen", title="指挥中心大屏", name="大屏")
callbacks.register()


def layout(**_query: str):
    """The screen for this app's settings (query-string arguments are ignored)."""
    return screen_layout(services.current().settings)
