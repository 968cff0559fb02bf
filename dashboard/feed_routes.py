"""``GET /feed/<panel>``: the wall's data as ready gzip JSON shared by every screen of a
jurisdiction (the feed contract, issue #10; machinery in queries/feed.py, panels in
dashboard/feeds.py).

- Needs a session (the access gate 401s without one) and the panel's permission (403):
  ``may_open("/screen")``, or ``may_mount(<layer>)`` for ``layer-<id>``.
- ``?unit=CODE`` narrows to a unit inside the caller's jurisdiction (404 outside or unknown);
  other parameters are the panel's options (400 for an unknown name or a value outside the
  allowlist; an unknown panel is 404). Never a 500 for what the browser sent.
- 200: the gzip body (``Content-Encoding: gzip`` when accepted), ``ETag``, ``X-Data-Version``,
  ``X-As-Of`` (epoch ms of the data), ``X-Server-Time`` (the app clock, for the wall's clock
  offset), ``X-Feed-Degraded`` (dependencies away: "postgres", "redis"), ``Cache-Control:
  no-cache, private``. ``If-None-Match`` equal: 304 with the same headers and no body (the
  wall takes the as-of from ``X-As-Of``: an unchanged recomputation is still fresh).
- PostgreSQL away: the last good entry with ``"stale": true`` (200), or 503 + Retry-After
  ``{"ok": false, "error"}`` when there is none.
"""

from __future__ import annotations

import gzip

import flask
from werkzeug.datastructures import Headers, MultiDict

from queries import services as services_mod
from queries.feed import Served, feed_state
from queries.transient import RETRY_AFTER_S

from .feeds import PANELS, BadFeedRequest, UnknownUnit, feed_spec

# A wall sends a handful of short parameters: anything longer is not a wall.
MAX_ARGS = 8
MAX_VALUE = 120


def _text(status: int, message: str) -> flask.Response:
    resp = flask.Response(f"{status} {message}\n", status=status, mimetype="text/plain")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def parse_args(args: MultiDict[str, str]) -> dict[str, str] | flask.Response:
    """The request's parameters, one value each, or the 400 that refuses them."""
    if len(args) > MAX_ARGS:
        return _text(400, "too many parameters")
    out = {}
    for name in args:
        values = args.getlist(name)
        if len(values) != 1:
            return _text(400, f"parameter {name[:40]!r} given {len(values)} times")
        if len(name) > 40 or len(values[0]) > MAX_VALUE:
            return _text(400, f"parameter {name[:40]!r} is too long")
        out[name] = values[0]
    return out


def _headers(resp: flask.Response, served: Served, now_ms: int) -> None:
    entry = served.entry
    assert entry is not None
    resp.headers["ETag"] = f'"{served.etag}"'
    resp.headers["X-Data-Version"] = str(entry.version)
    resp.headers["X-As-Of"] = str(entry.as_of_ms)
    resp.headers["X-Server-Time"] = str(now_ms)
    resp.headers["X-Feed-Degraded"] = ",".join(served.degraded)
    if served.stale:
        resp.headers["X-Feed-Stale"] = "1"
    resp.headers["Cache-Control"] = "no-cache, private"
    resp.headers["Vary"] = "Accept-Encoding"


def respond(served: Served, now_ms: int, headers: Headers | None = None) -> flask.Response:
    """The HTTP answer for ``served`` to a request with ``headers`` (the current request's by
    default): 304, 200 or 503."""
    headers = flask.request.headers if headers is None else headers
    if served.entry is None:
        resp = flask.jsonify(ok=False, error="数据库暂不可用，暂无可显示的数据")
        resp.status_code = 503
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Feed-Degraded"] = ",".join(served.degraded)
        resp.headers["X-Server-Time"] = str(now_ms)
        return resp
    if f'"{served.etag}"' in headers.get("If-None-Match", ""):
        resp = flask.Response(status=304)
    elif "gzip" in headers.get("Accept-Encoding", ""):
        resp = flask.Response(served.gz, mimetype="application/json")
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = flask.Response(gzip.decompress(served.gz), mimetype="application/json")
    _headers(resp, served, now_ms)
    return resp


def feed(panel: str) -> flask.Response:
    """``GET /feed/<panel>`` (see the module docstring)."""
    svc = services_mod.current()
    viewer = svc.viewer
    if viewer is None:  # the gate refuses these first; fail closed all the same
        return _text(401, "not signed in")
    spec_of = PANELS.get(panel)
    if spec_of is None:
        return _text(404, f"no feed {panel[:40]!r} (feeds: {', '.join(PANELS)})")
    if not spec_of.allowed(viewer):
        return _text(403, "无权访问此数据")
    args = parse_args(flask.request.args)
    if isinstance(args, flask.Response):
        return args
    state = feed_state(svc)
    try:
        spec = feed_spec(spec_of, svc, args, state)
    except BadFeedRequest as exc:
        return _text(400, str(exc))
    except UnknownUnit as exc:
        return _text(404, str(exc))
    served = state.serve(svc, spec)
    return respond(served, int(svc.clock.now().timestamp() * 1000))


def register(server: flask.Flask) -> None:
    """Add ``/feed/<panel>`` to the Flask server of a Dash app."""
    server.add_url_rule("/feed/<panel>", "feed", feed, methods=["GET"])
