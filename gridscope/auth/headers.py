"""Security headers on every response: a Content-Security-Policy that allows only this origin,
``X-Content-Type-Options``, ``Referrer-Policy`` and framing only where configured.

Dash's index page carries two inline scripts: the one that starts the renderer
(``var renderer = new DashRenderer();``) and the page router's clientside title function. The
policy allows exactly those by their sha256 (``dash.Dash.csp_hashes``, computed from the app's
own strings), so no other inline script runs. ``<script type="application/json">`` (Dash's
config) is data, not script, and needs nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import dash
import flask

from domain.config import Settings

log = logging.getLogger(__name__)

# A CSP source expression for frame-ancestors: 'self', a scheme, or an http(s) origin with an
# optional leading "*." label and port. Anything else (a ";" would start a new directive) is
# dropped with a warning.
_SOURCE = re.compile(r"'self'|https?:|https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?")
_LABEL = re.compile(r"[A-Za-z0-9-]+")


def frame_sources(value: str) -> list[str]:
    """The valid source expressions of setting ``frame_ancestors`` (space or comma separated)."""
    sources = []
    for token in value.replace(",", " ").split():
        if _SOURCE.fullmatch(token):
            sources.append(token)
        else:
            log.warning("frame_ancestors: ignoring %r (not an origin or 'self')", token)
    return sources


def tile_source(url: str) -> str | None:
    """The CSP source of a basemap URL template (``https://t{s}.tianditu.gov.cn/...`` →
    ``https://*.tianditu.gov.cn``); None for a path on this server or an unusable URL."""
    m = re.fullmatch(r"(https?)://([^/?#]+)(.*)", url.strip())
    if not m:
        return None
    scheme, netloc = m.group(1), m.group(2).rsplit("@", 1)[-1]
    host, _, port = netloc.partition(":")
    labels = host.split(".")
    # Subdomain placeholders ({s}, {0-7}) become the one wildcard CSP allows: the leftmost label.
    if "{" in labels[0]:
        labels[0] = "*"
    if not all(_LABEL.fullmatch(label) for label in labels[1:]) or not (
        labels[0] == "*" or _LABEL.fullmatch(labels[0])
    ):
        log.warning("basemap_url: cannot derive a CSP source from %r; tiles will be blocked", url)
        return None
    if port and not port.isdigit():
        port = "*"
    return f"{scheme}://{'.'.join(labels)}" + (f":{port}" if port else "")


def policy_directives(settings: Settings) -> dict[str, list[str]]:
    """The policy's directives for ``settings``; ``script-src`` lists 'self' only, the inline
    scripts' hashes are added per response by ``render_policy``."""
    tiles = tile_source(settings.basemap_url) if settings.basemap_url else None
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # 'unsafe-inline' for styles only: Plotly.js injects <style> elements at run time and
        # Plotly, Leaflet and React write style attributes; none of that can run script, and
        # img-src/connect-src keep a style from sending anything to another host.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else [])],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": frame_sources(settings.frame_ancestors) or ["'none'"],
    }


HEADERS_KEY = "gridscope_security_headers"


def render_policy(directives: dict[str, list[str]], script_hashes: list[str]) -> str:
    """The header value: ``directives`` with ``script_hashes`` added to script-src."""
    return "; ".join(
        f"{name} {' '.join(values + script_hashes if name == 'script-src' else values)}"
        for name, values in directives.items()
    )


def content_security_policy(settings: Settings, script_hashes: list[str]) -> str:
    """The policy for ``settings``, allowing the inline scripts whose CSP hashes are given."""
    return render_policy(policy_directives(settings), script_hashes)


def security_headers(
    settings: Settings, script_hashes: Callable[[], list[str]]
) -> Callable[[flask.Response], flask.Response]:
    """An after-request hook adding the headers; a response that set its own CSP or referrer
    policy (the API reference, wall links) keeps it."""
    directives = policy_directives(settings)  # once: a bad setting is logged once, not per request
    framed = directives["frame-ancestors"] != ["'none'"]

    def add_headers(response: flask.Response) -> flask.Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", render_policy(directives, script_hashes()))
        headers["X-Content-Type-Options"] = "nosniff"
        headers.setdefault("Referrer-Policy", "same-origin")
        if not framed:  # X-Frame-Options cannot name origins: only when nothing may frame us
            headers.setdefault("X-Frame-Options", "DENY")
        return response

    return add_headers


def register_headers(server: flask.Flask, settings: Settings, dash_app: dash.Dash) -> None:
    """Add the security headers to every response of ``server``."""
    # csp_hashes() reads the app's inline scripts on each call: the page router registers its
    # clientside title function on the first request, after this runs.
    add = security_headers(settings, dash_app.csp_hashes)
    server.after_request(add)
    # The feed lane (dashboard/feed_lane.py) answers without Flask's hooks and adds them itself.
    server.extensions[HEADERS_KEY] = add
