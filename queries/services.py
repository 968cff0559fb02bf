"""Per-app resources (settings, connection pool, cache, jurisdiction, clock), reached from
callbacks and API views through the Flask app so that nothing is module-level mutable state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import flask
from psycopg_pool import ConnectionPool

from domain.clock.now import Clock, SystemClock
from domain.config import Settings
from queries.cache import Cache
from queries.scope import Scope

log = logging.getLogger(__name__)

EXTENSION_KEY = "gridscope"


@dataclass
class Services:
    settings: Settings
    pool: ConnectionPool
    cache: Cache
    scope: Scope
    clock: Clock = field(default_factory=SystemClock)

    def close(self) -> None:
        self.pool.close()


def current() -> Services:
    """The Services of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]
