"""Per-app state of the API, kept in ``app.extensions['gridscope_api']`` (never module-level):
the stage clocks (loaded lazily from the database, refreshed after a minute so that edits of
stage limits and calendar days reach the API), the route map and the generated documents."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import flask
import psycopg
from werkzeug.routing import Map

from domain.clock.work_calendar import WorkCalendar
from domain.config import Settings
from queries.item_list import load_calendar_overrides, load_limits
from queries.positions import PositionStore
from queries.tickets import Clocks

EXTENSION_KEY = "gridscope_api"


@dataclass
class ApiState:
    """What the API keeps per app: the route map (for JSON 404/405), the OpenAPI document and
    docs page, and the stage clocks."""

    routes: Map
    positions: PositionStore  # the Redis copy of the latest fixes, read by the worker layer
    openapi: dict[str, Any]
    openapi_json: bytes
    docs_html: bytes
    max_body: int
    clocks_ttl_s: float = 60.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clocks: Clocks | None = None
    _clocks_at: float = 0.0

    def clocks(self, conn: psycopg.Connection, settings: Settings) -> Clocks:
        """The stage limits and work calendar, loaded with ``conn`` at most once a minute."""
        clocks = self._clocks
        if clocks is not None and time.monotonic() - self._clocks_at < self.clocks_ttl_s:
            return clocks
        with self._lock:
            if self._clocks is None or time.monotonic() - self._clocks_at >= self.clocks_ttl_s:
                calendar = WorkCalendar(
                    tz=settings.timezone, overrides=load_calendar_overrides(conn)
                )
                self._clocks = Clocks(calendar, load_limits(conn), settings.tz)
                self._clocks_at = time.monotonic()
            return self._clocks


def current() -> ApiState:
    """The ApiState of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]
