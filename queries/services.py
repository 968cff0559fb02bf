"""Per-app resources (settings, connection pool, cache, clock), reached from callbacks and API
views through the Flask app so that nothing is module-level mutable state, and bound per request
to the caller (``Viewer``) whose jurisdiction every query of the request takes.

    current()        # the request's Services: the app's, with the caller's scope and viewer
    app_services()   # the app's own (deployment scope): for health checks and sign-in only

Fail closed: a request that reached data code without a signed-in caller gets ``NOWHERE`` as
its scope, which matches no code, so a route the access gate forgot shows nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import flask
from psycopg_pool import ConnectionPool

from domain.clock.now import Clock, SystemClock
from domain.config import Settings
from queries.cache import Cache
from queries.explore.columns import ColumnStore
from queries.faults import FaultLog
from queries.feed import FeedState
from queries.replicas import ReadPools
from queries.scope import NOWHERE, Scope
from queries.viewer import Viewer

log = logging.getLogger(__name__)

EXTENSION_KEY = "gridscope"


@dataclass
class Services:
    settings: Settings
    pool: ConnectionPool
    cache: Cache
    scope: Scope
    clock: Clock = field(default_factory=SystemClock)
    viewer: Viewer | None = None
    # Streaming replicas for the read side (settings.database_read_url); None: read the primary.
    replica_pool: ReadPools | None = None
    faults: FaultLog = field(default_factory=FaultLog)
    # The wall feeds' per-process state (version watch, memo); shared by for_viewer's copies.
    feeds: FeedState = field(default_factory=FeedState)
    # The workbench's in-memory ticket columns (settings.explore_columns_days; None: off).
    explore_columns: ColumnStore | None = None

    @property
    def read_pool(self) -> ReadPools | ConnectionPool:
        """Where read-only work (screen, map, analytics, feeds) takes its connections: the
        replica pool when one is configured, else the primary's pool. Writes use ``pool``."""
        return self.replica_pool if self.replica_pool is not None else self.pool

    def close(self) -> None:
        self.feeds.close()
        if self.explore_columns is not None:
            self.explore_columns.close()
        self.pool.close()
        if self.replica_pool is not None:
            self.replica_pool.close()

    def for_viewer(self, viewer: Viewer) -> Services:
        """These services bound to ``viewer``: its scope (already inside the deployment's)."""
        return replace(self, scope=viewer.scope, viewer=viewer)


_G_KEY = "gs_services"


def app_services() -> Services:
    """The Services of the app handling the current request, unbound (deployment scope)."""
    return flask.current_app.extensions[EXTENSION_KEY]


def app_faults() -> FaultLog | None:
    """The FaultLog of the app serving the current request; None outside one (tests,
    benchmarks, the CLI), where callers log failures themselves."""
    if not flask.has_app_context():
        return None
    svc = flask.current_app.extensions.get(EXTENSION_KEY)
    return getattr(svc, "faults", None)


def bind(viewer: Viewer) -> Services:
    """Bind the current request to ``viewer`` (called by the access gate once per request)."""
    svc = app_services().for_viewer(viewer)
    setattr(flask.g, _G_KEY, svc)
    return svc


def current() -> Services:
    """The Services of the current request: bound to its caller, or scope NOWHERE when no
    caller is signed in (nothing matches; the access gate should have refused already)."""
    svc = flask.g.get(_G_KEY) if flask.has_app_context() else None
    if svc is not None:
        return svc
    return replace(app_services(), scope=NOWHERE, viewer=None)


def viewer() -> Viewer | None:
    """The caller of the current request, or None."""
    return current().viewer
