"""The fast lane of a wall's feed polls (issue #10).

At 500 screens a server answers ~270 feed polls a second, nearly all of them the same few
ready entries. Flask's request machinery around each (request context, session, login
manager, rate limiter, before- and after-request hooks) cost several times the answer itself.
This WSGI middleware answers ``GET /feed/<panel>`` before Flask when everything the answer
needs is already in this process:

- the session cookie's signature and age hold (Flask's own serializer, key and salt), and its
  ``exp`` is in the future (the same checks as ``gridscope.auth._load_principal``);
- the principal was verified for that session and may be reused for a feed poll
  (``principals.reusable``: recent, and the auth generation has not moved);
- the viewer may read the panel, the parameters parse (``feed_routes.parse_args`` and
  ``feeds.feed_spec``, the route's own functions), and the memo holds an entry that ``serve``
  would return as it is (``FeedState.peek``).

Anything else (no cookie, a principal to verify, a 400/403/404, an entry to compute or read
from Redis, an outage) goes on to Flask, where the same code decides it. Answers carry the
headers Flask's would (the security headers hook itself, and ``Vary: Cookie`` as Flask's
session adds), so a screen cannot tell which path served it; tests/db/test_feed_lane.py checks
both paths side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import flask
from itsdangerous import BadSignature
from werkzeug.wrappers import Request

from gridscope.auth import principals
from gridscope.auth.headers import HEADERS_KEY
from queries import services as services_mod
from queries.feed import feed_state

from .feed_routes import parse_args, respond
from .feeds import PANELS, BadFeedRequest, UnknownUnit, feed_spec

log = logging.getLogger(__name__)

PREFIX = "/feed/"
# Flask-Login's key for the session id in the session cookie.
USER_ID_KEY = "_user_id"


class FeedLane:
    """WSGI middleware in front of ``server.wsgi_app`` (see the module docstring)."""

    def __init__(self, server: flask.Flask, app: Callable[..., Iterable[bytes]]):
        self.server, self.app = server, app
        self.answered = 0  # how many polls the lane answered (tests, benchmarks)
        self._failed: set[str] = set()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").startswith(
            PREFIX
        ):
            resp = self._answer(environ)
            if resp is not None:
                self.answered += 1
                return resp(environ, start_response)
        return self.app(environ, start_response)

    def _answer(self, environ: dict[str, Any]) -> flask.Response | None:
        with self.server.app_context():
            try:
                return self._try(Request(environ))
            except Exception as exc:  # the route answers it: log the lane's fault once
                kind = type(exc).__name__
                if kind not in self._failed:
                    self._failed.add(kind)
                    log.warning("feed lane gave up on a request (%s)", kind, exc_info=True)
                return None

    def _try(self, req: Request) -> flask.Response | None:
        server = self.server
        cookie = req.cookies.get(server.config["SESSION_COOKIE_NAME"])
        serializer = server.session_interface.get_signing_serializer(server)  # type: ignore[attr-defined]
        if not cookie or serializer is None:
            return None
        try:
            data = serializer.loads(
                cookie, max_age=int(server.permanent_session_lifetime.total_seconds())
            )
        except BadSignature:
            return None
        svc = services_mod.app_services()
        session_id, exp = data.get(USER_ID_KEY), data.get("exp")
        if not isinstance(session_id, str) or not isinstance(exp, int):
            return None
        if exp < svc.clock.now().timestamp():
            return None
        principal = principals.reusable(svc, session_id)
        if principal is None:
            return None
        panel = req.path[len(PREFIX) :]
        spec_of = PANELS.get(panel)
        if spec_of is None or not spec_of.allowed(principal.viewer):
            return None
        args = parse_args(req.args)
        if isinstance(args, flask.Response):
            return None
        bound = svc.for_viewer(principal.viewer)
        state = feed_state(bound)
        try:
            spec = feed_spec(spec_of, bound, args, state)
        except (BadFeedRequest, UnknownUnit):
            return None
        served = state.peek(bound, spec)
        if served is None:
            return None
        resp = respond(served, int(svc.clock.now().timestamp() * 1000), req.headers)
        resp.vary.add("Cookie")  # as Flask's session interface adds once the session is read
        add_headers = server.extensions.get(HEADERS_KEY)
        return add_headers(resp) if add_headers is not None else resp


def install(server: flask.Flask) -> FeedLane:
    """Put the lane in front of ``server``'s WSGI app; returns it."""
    lane = FeedLane(server, server.wsgi_app)
    server.wsgi_app = lane  # type: ignore[method-assign]
    return lane
