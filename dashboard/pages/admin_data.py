"""基础数据 (/admin/data)."""

import dash

from dashboard.admin import data

dash.register_page(__name__, path=data.PATH, title="基础数据", name="基础数据")
data.register()


def layout(**_query: str):
    """The page for an administrator; 无权访问 for anyone else (query arguments are ignored)."""
    return data.layout()
