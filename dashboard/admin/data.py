"""/admin/data (基础数据). Placeholder until issue #13's module lands here."""

from __future__ import annotations

from dash import html

from queries.services import Services
from queries.viewer import Viewer

from .common import admin_page

PATH = "/admin/data"


def _body(svc: Services, viewer: Viewer) -> list:
    return [html.Div(id="adm-data-body")]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def register() -> None:
    """The page's callbacks (called by dashboard/pages/admin_data.py once per app)."""
