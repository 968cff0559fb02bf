"""Per-app resources (settings, connection pool, cache, jurisdiction), reached from callbacks
through the Flask app so that nothing is module-level mutable state."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import flask
from psycopg_pool import ConnectionPool

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

    def close(self) -> None:
        self.pool.close()


def current() -> Services:
    """The Services of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]
