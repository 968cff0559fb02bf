"""Wall links (/admin/walls): create (the link is shown once), list with last refresh, revoke."""

import dash

from dashboard.admin import walls

dash.register_page(__name__, path=walls.PATH, title="大屏链接", name="大屏链接")
walls.register()


def layout(**_query: str):
    """The page for an administrator; 无权访问 for anyone else (query arguments are ignored)."""
    return walls.layout()
