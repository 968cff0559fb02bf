"""Helpers shared by the benchmarks: a scratch database, the app's Services and median timing.

Benchmarks measure a live system, so their Services run on the system clock."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from domain.clock.now import SystemClock
from domain.config import Settings

BASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gridscope")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def bench_settings(dbname: str) -> Settings:
    url = urlunsplit(urlsplit(BASE_URL)._replace(path=f"/{dbname}"))
    return Settings(database_url=url, redis_url=REDIS_URL)


def bench_services(settings: Settings, namespace: str | None = None, ttl_s: int | None = None):
    """The app's ``queries.services.Services`` for ``settings`` (pool open, whole jurisdiction
    of the settings, system clock); ``namespace`` isolates the cache (default: the database's)."""
    from queries.cache import Cache, namespace_for
    from queries.db import make_pool
    from queries.scope import Scope
    from queries.services import Services

    pool = make_pool(settings)
    pool.open(wait=True)
    cache = Cache.from_url(
        settings.redis_url,
        ttl_s or settings.cache_ttl_s,
        namespace if namespace is not None else namespace_for(settings.database_url),
    )
    return Services(
        settings=settings,
        pool=pool,
        cache=cache,
        scope=Scope(settings.jurisdiction),
        clock=SystemClock(),
    )


def recreate_database(dbname: str) -> Settings:
    """Drop and create ``dbname`` on the configured server, migrated; returns its settings."""
    from queries.migrate import upgrade

    admin = urlunsplit(urlsplit(BASE_URL)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    settings = bench_settings(dbname)
    upgrade(settings)
    return settings


def database_exists(dbname: str) -> bool:
    admin = urlunsplit(urlsplit(BASE_URL)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
            is not None
        )


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def p95_ms(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))] * 1000.0
