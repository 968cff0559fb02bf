"""事项清单 (/admin/items)."""

import dash

from dashboard.admin import items

dash.register_page(__name__, path=items.PATH, title="事项清单", name="事项清单")
items.register()


def layout(**_query: str):
    """The page for an administrator; 无权访问 for anyone else (query arguments are ignored)."""
    return items.layout()
