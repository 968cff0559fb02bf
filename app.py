"""The app factory: `create_app(settings)` builds one Dash app with its own pool and cache.

gunicorn runs `app:server()` (see `gridscope serve`); each worker builds its own app after the
fork, so connections are never shared between processes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dash
from flask_compress import Compress

from domain.clock.now import Clock, clock_for
from domain.config import Settings, load_settings
from gridscope import outage
from gridscope.api import register as register_api
from gridscope.auth import register as register_auth
from queries.cache import Cache, namespace_for
from queries.db import make_pool
from queries.explore.columns import ColumnStore
from queries.faults import FaultLog
from queries.replicas import make_read_pool
from queries.scope import Scope
from queries.services import EXTENSION_KEY, Services

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("gridscope")


def create_app(
    settings: Settings | None = None, *, check_database: bool = True, clock: Clock | None = None
) -> dash.Dash:
    """A new Dash app bound to ``settings``.

    It builds whether or not PostgreSQL answers: the schema check (``check_database``: refuse
    a database at another revision) and the session key kept in the database wait for the
    first successful connection, and until then requests needing the database get 503
    (``gridscope.outage``). A worker that exits at boot makes gunicorn's master shut down for
    good (issue #10), so a boot must never depend on the database.

    ``clock`` is where the app's "now" comes from (default: setting ``fixed_now``, else the
    system clock)."""
    settings = settings or load_settings()
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "dashboard" / "pages"),
        assets_folder=str(ROOT / "assets"),
        serve_locally=True,  # no CDN: command centres run on intranets without internet
        title=settings.title,
        update_title=None,
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    pool = make_pool(settings)
    pool.open(wait=False)
    faults = FaultLog()  # one per app: the cache and every request report outages to it
    # Reads fall back to the primary while no replica answers (queries.replicas).
    replica_pool = make_read_pool(settings, primary=pool, faults=faults)
    if replica_pool is not None:
        replica_pool.open(wait=False)
    services = Services(
        settings=settings,
        pool=pool,
        cache=Cache.from_url(
            settings.redis_url,
            settings.cache_ttl_s,
            namespace_for(settings.database_url),
            faults=faults,
        ),
        scope=Scope(settings.jurisdiction),
        clock=clock or clock_for(settings.fixed_now),
        replica_pool=replica_pool,
        faults=faults,
        explore_columns=(
            ColumnStore(days=settings.explore_columns_days)
            if settings.explore_columns_days
            else None
        ),
    )
    server = app.server
    server.extensions[EXTENSION_KEY] = services
    Compress(server)
    # Before the access gate: its hook must run first (the gate reads sessions, whose key may
    # come from the database).
    outage.install(
        server,
        services,
        check_database=check_database,
        set_secret_key=None
        if settings.secret_key.get_secret_value()
        else lambda key: server.config.update(SECRET_KEY=key),
    )
    register_auth(server, services)
    from dashboard.layout import root_layout
    from dashboard.routes import register_routes

    app.layout = root_layout
    register_routes(app.server)
    register_api(app.server)
    _register_component_paths(app)
    return app


def _register_component_paths(app: dash.Dash) -> None:
    """Render the index once so that Dash registers its component-suite paths now.

    Dash registers them while rendering a page; under gunicorn a browser's script request can
    reach a worker that has not rendered one yet and get a 500 ("dash is not a registered
    library"). Rendering at build time makes every worker ready before its first request."""
    with app.server.test_request_context("/"):
        app.server.preprocess_request()
        app.index()


def server():
    """WSGI entry point for gunicorn: `gunicorn 'app:server()'`."""
    return create_app().server
