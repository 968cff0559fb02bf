"""/admin/items (事项清单). Placeholder until issue #13's module lands here."""

from __future__ import annotations

from dash import html

from queries.services import Services
from queries.viewer import Viewer

from .common import admin_page

PATH = "/admin/items"


def _body(svc: Services, viewer: Viewer) -> list:
    return [html.Div(id="adm-items-body")]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def register() -> None:
    """The page's callbacks (called by dashboard/pages/admin_items.py once per app)."""
