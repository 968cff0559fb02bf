"""The Redis query cache: one key function, one invalidation mechanism.

Keys carry the data version, a PostgreSQL sequence bumped after every committed write, so a write
makes every older entry unreachable at once (they then expire by TTL). Values are bytes. When
Redis is down, callers compute from PostgreSQL; the outage is logged once when it starts and
once when it ends (``FaultLog``) and the cache is used again as soon as Redis answers.

``cached_payload`` is the one read-side step every cached payload goes through (the screen, the
ticker, the map layers, the layer geometry): read the data version, build the key, compute under
``custom_plans`` on a pooled connection, serialise with orjson, cache the bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
import redis

from .db import custom_plans, one
from .faults import FaultLog
from .scope import Scope

if TYPE_CHECKING:  # services imports this module: the type only, at check time
    from .services import Services

log = logging.getLogger(__name__)

KEY_PREFIX = "gs:v1:"
# The shape of the cached payloads. Bump it whenever a payload's fields change, so that a server
# of one release never reads bytes another release cached for the same data version (a rolling
# upgrade shares one Redis). 2: queries return codes and the presentation names them (#8).
PAYLOAD_FORMAT = 2


def cache_key(
    name: str, version: int, params: dict[str, Any], scope: Scope, namespace: str = ""
) -> str:
    """The one cache-key function: database namespace, name, payload format, data version,
    canonical parameters, scope. The namespace keeps two databases sharing one Redis apart."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest()
    return f"{KEY_PREFIX}{namespace}:{name}:f{PAYLOAD_FORMAT}:{version}:{scope.key}:{digest}"


def namespace_for(database_url: str) -> str:
    """A short stable namespace for a database (host, port and name; never the password)."""
    from urllib.parse import urlsplit

    parts = urlsplit(database_url)
    ident = f"{parts.hostname}:{parts.port or 5432}{parts.path}"
    return hashlib.blake2b(ident.encode(), digest_size=6).hexdigest()


def data_version(conn: psycopg.Connection) -> int:
    """The current data version (0 before the first write)."""
    row = conn.execute(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM data_version"
    ).fetchone()
    return int(row[0]) if row else 0


# The advisory lock that orders concurrent bumps (setval is not atomic with its read).
_BUMP_LOCK = 0x67736476


def bump_data_version(conn: psycopg.Connection) -> int:
    """Bump after commit: readers that see the new version also see the committed rows.

    ``setval`` rather than ``nextval``: nextval WAL-logs 32 values ahead, so a streaming
    replica read a version up to 32 writes ahead of the primary's and then stood still while
    the next 32 writes happened: screens served from a replica never saw them (fault tier).
    setval logs the exact value; the advisory lock keeps concurrent bumps in order (800
    concurrent bumps gave 800 distinct values). Cost: about 0.5 ms a write instead of 0.06."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_BUMP_LOCK,))
        row = conn.execute(
            "SELECT setval('data_version', CASE WHEN is_called THEN last_value + 1"
            " ELSE last_value END) FROM data_version"
        ).fetchone()
    return int(one(row)[0])


def commit_and_bump(conn: psycopg.Connection) -> int:
    """Commit, then bump the data version outside any transaction (``nextval`` is not
    transactional, so wrapping it in one only cost the write path a second COMMIT)."""
    conn.commit()
    if conn.autocommit:
        return bump_data_version(conn)
    conn.autocommit = True
    try:
        return bump_data_version(conn)
    finally:
        conn.autocommit = False


class Cache:
    """Bytes in Redis under versioned keys, degrading to no cache while Redis is unreachable.

    An outage is reported to a ``FaultLog`` (the app's ``services.faults`` when given): one
    line when it starts, one with the count and length when Redis answers again, however many
    requests fail in between (a warning per request flooded the log, issue #10)."""

    # After a failure, do not try Redis again for this long (keeps a dead Redis off the hot path).
    RETRY_AFTER_S = 5.0
    FAULT_NAME = "redis"

    def __init__(
        self, client: redis.Redis, ttl_s: int, namespace: str = "", faults: FaultLog | None = None
    ):
        self._client = client
        self.namespace = namespace
        self._ttl = ttl_s
        self.faults = faults if faults is not None else FaultLog(log)
        self._retry_at = 0.0

    @classmethod
    def from_url(
        cls, url: str, ttl_s: int, namespace: str = "", faults: FaultLog | None = None
    ) -> Cache:
        client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, ttl_s, namespace, faults)

    def key(self, name: str, version: int, params: dict[str, Any], scope: Scope) -> str:
        """cache_key in this cache's namespace."""
        return cache_key(name, version, params, scope, self.namespace)

    @property
    def available(self) -> bool:
        return not self.faults.down(self.FAULT_NAME)

    def _failed(self, exc: Exception) -> None:
        # The retry time first: a reader that sees the outage open also sees when to retry.
        self._retry_at = time.monotonic() + self.RETRY_AFTER_S
        self.faults.failed(self.FAULT_NAME, exc)

    def _succeeded(self) -> None:
        self.faults.ok(self.FAULT_NAME)  # lock-free unless an outage is open

    def _skip(self) -> bool:
        return time.monotonic() < self._retry_at and not self.available

    def get(self, key: str) -> bytes | None:
        if self._skip():
            return None
        try:
            value = self._client.get(key)
        except redis.RedisError as exc:
            self._failed(exc)
            return None
        self._succeeded()
        return value if isinstance(value, bytes | None) else str(value).encode()

    def set(self, key: str, value: bytes, ttl_s: int | None = None) -> None:
        if self._skip():
            return
        try:
            self._client.set(key, value, ex=ttl_s or self._ttl)
        except redis.RedisError as exc:
            self._failed(exc)
            return
        self._succeeded()

    def get_or_compute(
        self, key: str, compute: Callable[[], bytes], ttl_s: int | None = None
    ) -> bytes:
        """The cached bytes under ``key``, or ``compute()`` stored there."""
        hit = self.get(key)
        if hit is not None:
            return hit
        value = compute()
        self.set(key, value, ttl_s)
        return value

    @property
    def client(self) -> redis.Redis:
        return self._client


# compute(conn, version) -> bytes, or a JSON-serialisable value that cached_payload encodes.
Compute = Callable[[psycopg.Connection, int], Any]


def encode(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (orjson; non-string keys as strings, anything else it
    does not know through ``str``); bytes pass through unchanged."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str)


def cached_payload(
    services: Services,
    name: str,
    params: dict[str, Any],
    compute: Compute,
    *,
    version: int | None = None,
    ttl_s: int | None = None,
) -> bytes:
    """The bytes cached under ``cache_key(name, version, params, services.scope)``, or
    ``compute(conn, version)`` run under ``custom_plans`` on a pooled connection, encoded
    (``encode``) and cached for ``ttl_s`` (default: the cache's TTL).

    ``version`` defaults to the data version read on that connection, so any committed write
    makes older entries unreachable. A caller whose bytes do not follow the data (the layer
    geometry: its params carry a geometry signature) passes its own format version; the cache
    is then read before any connection is taken. Works without Redis (the Cache degrades to
    computing every time)."""
    cache, scope = services.cache, services.scope
    if version is not None:
        key = cache.key(name, version, params, scope)
        hit = cache.get(key)
        if hit is not None:
            return hit
        with services.read_pool.connection() as conn, custom_plans(conn):
            value = encode(compute(conn, version))
        cache.set(key, value, ttl_s)
        return value
    with services.read_pool.connection() as conn:
        current = data_version(conn)
        key = cache.key(name, current, params, scope)

        def build() -> bytes:
            with custom_plans(conn):
                return encode(compute(conn, current))

        return cache.get_or_compute(key, build, ttl_s)
