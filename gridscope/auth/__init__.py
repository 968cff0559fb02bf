"""Who is asking (issue #9): accounts and sessions, wall links, the access gate, security
headers and body limits. ``register(server)`` wires it into the Flask app under Dash.

Modules: ``gate`` (the before-request check every request passes), ``principals`` (session →
Viewer), ``views`` (sign-in, sign-out, wall links), ``passwords`` (argon2, strength rule),
``walls`` (wall-link secrets), ``callbacks`` (which page a callback belongs to), ``pages``
(server-rendered HTML), ``state``. The policy itself is ``domain.access``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager

from queries.lockout import Lockout
from queries.services import Services

from . import principals
from .gate import gate
from .hardening import register_hardening
from .state import EXTENSION_KEY, AuthState
from .views import register_views

log = logging.getLogger(__name__)


def _secret_key(server: flask.Flask, svc: Services) -> str | None:
    """The configured session key, else the one kept in the database, which
    ``gridscope.outage.Readiness`` loads once PostgreSQL answers (a worker boots without the
    database; until the key is known every request needing a session gets 503)."""
    return svc.settings.secret_key.get_secret_value() or server.config.get("SECRET_KEY")


def _load_principal(svc: Services, session_id: str) -> principals.SessionPrincipal | None:
    exp = flask.session.get("exp")
    if not isinstance(exp, int) or exp < svc.clock.now().timestamp():
        return None
    return principals.load(svc, session_id)


def register(server: flask.Flask, svc: Services) -> None:
    """Sessions, sign-in views, rate limits and the access gate on ``server``."""
    settings = svc.settings
    server.config.update(
        SECRET_KEY=_secret_key(server, svc),
        SESSION_COOKIE_NAME="gridscope_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The cookie is written when a session opens or changes, not on every answer: its
        # own "exp" (below) ends it, and re-signing it on each of a wall's feed polls was a
        # third of their cost (issue #10).
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        # The cookie lives as long as the longest session kind; each session carries its own
        # expiry ("exp"), checked on every request.
        PERMANENT_SESSION_LIFETIME=timedelta(
            days=max(settings.wall_session_days, settings.session_hours / 24 + 1)
        ),
        # CSRF tokens (flask_wtf.csrf, checked by the form views) live as long as the session:
        # a page may sit open on a desk for a day. Callbacks need no token: they are JSON POSTs
        # that a cross-site form cannot send, with a SameSite cookie (see gate).
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
    )
    manager = LoginManager()
    manager.session_protection = None  # sessions are bound to accounts and epochs instead
    manager.user_loader(lambda session_id: _load_principal(svc, session_id))
    manager.init_app(server)
    server.extensions[EXTENSION_KEY] = AuthState(
        lockout=Lockout(
            svc.cache.client,
            svc.cache.namespace,
            settings.lockout_after,
            settings.lockout_minutes * 60,
        )
    )
    limiter = Limiter(
        get_remote_address,
        app=server,
        storage_uri=settings.redis_url,
        strategy="fixed-window",
        key_prefix=f"gs-limit-{svc.cache.namespace}",
        default_limits=[],
        swallow_errors=True,  # Redis down: do not lock the command centre out
        headers_enabled=False,
    )
    register_views(server)
    limiter.limit(settings.login_rate, methods=["POST"])(server.view_functions["gs_login_submit"])
    limiter.limit(settings.login_rate)(server.view_functions["gs_wall_open"])
    server.before_request(gate)
    register_hardening(server, settings)
