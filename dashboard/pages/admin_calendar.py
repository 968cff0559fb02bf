"""工作日历 (/admin/calendar)."""

import dash

from dashboard.admin import calendar

dash.register_page(__name__, path=calendar.PATH, title="工作日历", name="工作日历")
calendar.register()


def layout(**_query: str):
    """The page for an administrator; 无权访问 for anyone else (query arguments are ignored)."""
    return calendar.layout()
