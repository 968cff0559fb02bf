"""The signed-in user's bar: "显示名（用户名） · 角色 · 辖区" and a 退出 button, a plain POST
form to /logout carrying the session's CSRF token (so it works without a callback). Shown on
the index, the map and the admin pages; a wall (a wall link or a wall account on /screen)
shows none."""

from __future__ import annotations

import logging

import psycopg
from dash import dcc, html
from flask_wtf.csrf import generate_csrf

from layers.labels import jurisdiction_label
from queries import accounts
from queries.screen import jurisdiction_name
from queries.services import Services
from queries.transient import TRANSIENT_DB_ERRORS, fault_name, pool_wait

log = logging.getLogger(__name__)


def user_bar(svc: Services) -> html.Div | None:
    """The bar for the request's viewer (``svc.viewer``); None for no user (a wall link)."""
    viewer = svc.viewer
    if viewer is None or viewer.kind != "user":
        return None
    display, unit = "", None
    try:
        with svc.pool.connection(timeout=pool_wait(svc.faults)) as conn:
            row = accounts.user_by_id(conn, viewer.id)
            display = row.display_name if row else ""
            unit = jurisdiction_name(conn, viewer.scope)
    except TRANSIENT_DB_ERRORS as exc:  # decoration: the page still renders without the names
        svc.faults.failed(fault_name(exc), exc)  # once per outage, not once per page view
    except psycopg.Error:
        log.warning("user bar: names unavailable for %s", viewer.label, exc_info=True)
    who = f"{display}（{viewer.name}）" if display and display != viewer.name else viewer.name
    return html.Div(
        [
            html.Span(
                [
                    html.Span(who, className="gs-userbar-name"),
                    html.Span(viewer.policy.name_zh, className="gs-userbar-role"),
                    html.Span(
                        jurisdiction_label(unit, viewer.scope.prefix),
                        className="gs-userbar-scope",
                        title=f"辖区编码 {viewer.scope.prefix or '全部'}",
                    ),
                ],
                className="gs-userbar-who",
            ),
            html.Form(
                [
                    dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                    html.Button("退出", type="submit", className="gs-userbar-logout"),
                ],
                method="POST",
                action="/logout",
                className="gs-userbar-form",
            ),
        ],
        className="gs-userbar",
    )
