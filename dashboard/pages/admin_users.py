"""User administration (/admin/users): accounts, roles, jurisdictions, passwords."""

import dash

from dashboard.admin import users

dash.register_page(__name__, path=users.PATH, title="用户管理", name="用户管理")
users.register()


def layout(**_query: str):
    """The page for an administrator; 无权访问 for anyone else (query arguments are ignored)."""
    return users.layout()
