"""The read side's connections: streaming replicas named by ``settings.database_read_url``.

Screen, map, analytics and feed reads take ``Services.read_pool``; writes always take the
primary's ``Services.pool``."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from domain.config import Settings

from .db import make_pool


def make_read_pool(settings: Settings) -> ConnectionPool | None:
    """A pool over the configured replicas, or None when reads go to the primary."""
    urls = settings.read_urls
    if not urls:
        return None
    return make_pool(settings, url=urls[0], name="gridscope-read")
