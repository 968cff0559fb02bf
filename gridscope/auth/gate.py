"""The access gate: runs before every request and decides, on the server, who is asking and
whether they may.

- Open to anyone: ``/healthz`` (says nothing about data), the sign-in page, wall links, static
  code (``/assets/``, Dash's component suites) and the API (which checks its own bearer tokens).
- Everything else needs a session: a page or Dash's page plumbing without one redirects to the
  sign-in page; a callback, ``/geo/*`` or export without one gets 401.
- With a session the request is bound to its ``Viewer`` (``queries.services.bind``); a page the
  role may not open gets 403, and so does a callback whose outputs belong to such a page.
- PostgreSQL away or busy: loading the session's principal gives up fast and the request gets
  503 with Retry-After (``gridscope.outage``), never a hang or a 500; an open screen's feeds,
  callbacks and layout ride on the principal verified last (``principals``, with the
  trade-off it documents). Open paths never touch the database.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import flask
from flask_login import current_user

from domain.access import PAGE_PATHS
from queries import services

from .callbacks import callback_pages, routed_path

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/healthz", "/login", "/favicon.ico", "/_favicon.ico"})
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/", "/wall/", "/api/v1")
# Dash's plumbing every signed-in page needs, whatever the page.
PLUMBING = frozenset({"/_dash-layout", "/_dash-dependencies", "/_reload-hash"})
CALLBACK_PATH = "/_dash-update-component"


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def _wants_html() -> bool:
    return flask.request.method == "GET" and "text/html" in flask.request.headers.get("Accept", "")


def refuse_anonymous() -> flask.Response:
    """The sign-in page for a browser asking for a page, 401 for everything else."""
    path = flask.request.path
    if _wants_html() and (path in PAGE_PATHS or path == "/" or not path.startswith("/_")):
        target = flask.request.full_path.rstrip("?")
        return flask.redirect("/login?next=" + quote(target, safe="/"))
    return flask.Response(
        "401 未登录：请先登录（/login）\n", status=401, mimetype="text/plain; charset=utf-8"
    )


def forbidden(message: str) -> flask.Response:
    from .pages import forbidden_page

    if _wants_html():
        return flask.Response(forbidden_page(message), status=403, mimetype="text/html")
    return flask.Response(f"403 {message}\n", status=403, mimetype="text/plain; charset=utf-8")


def gate() -> flask.Response | None:
    """Flask before_request hook (see module docstring); None lets the request through."""
    path = flask.request.path
    if is_open(path):
        return None
    if not current_user.is_authenticated:
        return refuse_anonymous()
    viewer = current_user.viewer
    services.bind(viewer)
    if path in PAGE_PATHS:
        if not viewer.may_open(path):
            return forbidden("无权访问此页面")
        return None
    if path == CALLBACK_PATH:
        pages = callback_pages()
        if pages is None:
            return flask.Response(
                "400 malformed callback request\n", status=400, mimetype="text/plain"
            )
        if None in pages:  # the page router: the page is the pathname it is asked to render
            routed = routed_path()
            if routed is False:
                return flask.Response(
                    "400 malformed page request\n", status=400, mimetype="text/plain"
                )
            pages = [*pages, routed]
        denied = [p for p in pages if p is not None and not viewer.may_open(p)]
        if denied:
            log.warning("callback refused for %s: pages %s", viewer.label, denied)
            return forbidden("无权访问此页面的数据")
        return None
    return None
