"""The audit trail (/admin/audit): search by time range, actor and action, newest first."""

import dash

from dashboard.admin import audit

dash.register_page(__name__, path=audit.PATH, title="审计日志", name="审计日志")
audit.register()


def layout(**_query: str):
    """The page for an administrator; 无权访问 for anyone else (query arguments are ignored)."""
    return audit.layout()
