"""Sign-in, sign-out and wall links: the only routes that open or close a session.

    GET  /login              the sign-in page
    POST /login              username + password (+ CSRF token) → session, or the page again
    POST /logout             (+ CSRF token) → session closed
    GET  /wall/<secret>      a wall link → wall session, then /screen (the URL no longer
                             carries the secret)

Every outcome is audited (login, login_failure, login_locked, logout, wall_open,
wall_link_invalid). Attempts are rate limited per client address (flask-limiter, Redis) and
failures lock the account name for a while (queries.lockout).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import flask
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf

from domain.access import Role, home_path
from queries import accounts, audit
from queries.audit import AuditEvent, event_for
from queries.scope import bounded_scope
from queries.services import app_services
from queries.transient import TRANSIENT_DB_ERRORS, pool_wait

from . import principals, walls
from .pages import invalid_wall_page, login_page
from .passwords import DEMO_PASSWORDS, hash_password, needs_rehash, verify
from .state import state

log = logging.getLogger(__name__)

GENERIC_FAILURE = "用户名或密码错误"


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go to after signing in; anything else (other hosts, schemes,
    protocol-relative or backslash tricks) gives ``default``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\r\n\t\\") or len(value) > 512:
        return default
    return value


def _audit(event: AuditEvent) -> None:
    svc = app_services()
    with svc.pool.connection(timeout=pool_wait(svc.faults)) as conn:
        audit.write(conn, event, svc.clock.now())


def _start_session(principal: principals.SessionPrincipal, lifetime: timedelta) -> None:
    flask.session.clear()
    flask.session.permanent = True
    login_user(principal, remember=False, fresh=True)
    flask.session["exp"] = int((app_services().clock.now() + lifetime).timestamp())


def _signed_in() -> bool:
    """Whether the request carries a live session; False when it cannot be verified now (the
    sign-in page itself needs no database: it still shows while PostgreSQL is away)."""
    try:
        return bool(current_user.is_authenticated)
    except TRANSIENT_DB_ERRORS:
        return False


def login_form() -> flask.Response | str:
    if _signed_in():
        return flask.redirect(
            safe_next(flask.request.args.get("next"), home_path(current_user.viewer.role))
        )
    notice = "已安全退出" if flask.request.args.get("bye") else ""
    return login_page(
        csrf=generate_csrf(), next_path=safe_next(flask.request.args.get("next"), ""), notice=notice
    )


def _again(status: int, error: str, username: str, next_path: str) -> flask.Response:
    body = login_page(csrf=generate_csrf(), next_path=next_path, username=username, error=error)
    return flask.Response(body, status=status, mimetype="text/html")


def login_submit() -> flask.Response:
    form = flask.request.form
    username = (form.get("username") or "").strip().lower()[:32]
    password = form.get("password") or ""
    next_path = safe_next(form.get("next"), "")
    try:
        validate_csrf(form.get("csrf_token"))
    except (CSRFError, Exception):  # flask_wtf raises ValidationError subclasses
        return _again(400, "页面已过期，请重新登录", username, next_path)
    if not username or not password or len(password) > 256:
        return _again(400, "请输入用户名和密码", username, next_path)
    svc, st = app_services(), state()
    addr = principals.client_addr()
    locked = st.lockout.locked_for(username)
    if locked:
        _audit(
            AuditEvent("anonymous", username, "login_locked", outcome="refused", client_addr=addr)
        )
        return _again(
            429,
            f"登录失败次数过多，账号已临时锁定，请 {locked // 60 + 1} 分钟后再试",
            username,
            next_path,
        )
    with svc.pool.connection(timeout=pool_wait(svc.faults)) as conn:
        row = accounts.user_by_name(conn, username)
        ok = verify(row.password_hash if row else None, password) and bool(row and row.active)
        # The demo passwords are published (README): they open nothing outside demo mode.
        published = ok and not svc.settings.demo_mode and password in DEMO_PASSWORDS.values()
        ok = ok and not published
        scope = bounded_scope(svc.scope, row.jurisdiction) if row and ok else None
        if not ok or row is None or scope is None:
            failures = st.lockout.failed(username)
            audit.write(
                conn,
                AuditEvent(
                    "anonymous",
                    username,
                    "login_failure",
                    outcome="refused",
                    client_addr=addr,
                    detail={
                        "failures": failures,
                        "reason": "published demo password"
                        if published
                        else "outside deployment"
                        if ok
                        else "bad credentials",
                    },
                ),
                svc.clock.now(),
            )
            return _again(401, GENERIC_FAILURE, username, next_path)
        if needs_rehash(row.password_hash):
            accounts.update_user(conn, row.id, password_hash=hash_password(password))
            row = accounts.user_by_id(conn, row.id)
            assert row is not None
        accounts.record_login(conn, row.id, svc.clock.now())
        conn.commit()
    st.lockout.succeeded(username)
    principal = principals.load(svc, principals.user_session_id(row))
    if principal is None:
        return _again(401, GENERIC_FAILURE, username, next_path)
    _start_session(principal, timedelta(hours=svc.settings.session_hours))
    _audit(event_for(principal.viewer, "login"))
    return flask.redirect(next_path or home_path(row.role))


def logout() -> flask.Response:
    try:
        validate_csrf(flask.request.form.get("csrf_token"))
    except Exception:
        return flask.Response("400 页面已过期\n", status=400, mimetype="text/plain; charset=utf-8")
    if current_user.is_authenticated:
        _audit(event_for(current_user.viewer, "logout"))
    logout_user()
    flask.session.clear()
    return flask.redirect("/login?bye=1")


def wall_open(secret: str) -> flask.Response:
    svc = app_services()
    wall = walls.find(svc, secret)
    addr = principals.client_addr()
    if wall is None:
        _audit(
            AuditEvent(
                "anonymous",
                "",
                "wall_link_invalid",
                outcome="refused",
                client_addr=addr,
                detail={"prefix": secret[:11]},
            )
        )
        return flask.Response(invalid_wall_page(), status=404, mimetype="text/html")
    principal = principals.load(svc, principals.wall_session_id(wall))
    if principal is None:
        return flask.Response(invalid_wall_page(), status=404, mimetype="text/html")
    _start_session(principal, timedelta(days=svc.settings.wall_session_days))
    _audit(event_for(principal.viewer, "wall_open"))
    resp = flask.redirect(home_path(Role.WALL))
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


def register_views(server: flask.Flask) -> None:
    server.add_url_rule("/login", "gs_login_form", login_form, methods=["GET"])
    server.add_url_rule("/login", "gs_login_submit", login_submit, methods=["POST"])
    server.add_url_rule("/logout", "gs_logout", logout, methods=["POST"])
    server.add_url_rule("/wall/<secret>", "gs_wall_open", wall_open, methods=["GET"])
