"""Per-app state of the API, kept in ``app.extensions['gridscope_api']`` (never module-level):
the stage clocks (loaded lazily from the database and loaded again as soon as a calendar day or a
stage limit changes: ``queries.item_list.rules_version``), the route map and the generated
documents."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import flask
import psycopg
from werkzeug.routing import Map

from domain.clock.work_calendar import WorkCalendar
from domain.config import Settings
from queries.item_list import load_calendar_overrides, load_limits, rules_version
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
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clocks: Clocks | None = None
    _clocks_version: int = -1

    def clocks(self, conn: psycopg.Connection, settings: Settings) -> Clocks:
        """The stage limits and work calendar, loaded with ``conn`` again whenever their version
        moved (one sequence read a request: a calendar change applies to the very next ticket,
        whose due time the change's re-timing would otherwise miss)."""
        version = rules_version(conn)
        clocks = self._clocks
        if clocks is not None and version == self._clocks_version:
            return clocks
        with self._lock:
            if self._clocks is None or version != self._clocks_version:
                calendar = WorkCalendar(
                    tz=settings.timezone, overrides=load_calendar_overrides(conn)
                )
                self._clocks = Clocks(calendar, load_limits(conn), settings.tz)
                self._clocks_version = version
            return self._clocks


def current() -> ApiState:
    """The ApiState of the app handling the current request."""
    return flask.current_app.extensions[EXTENSION_KEY]
