"""Worker GPS positions: the time series, the latest fix per worker, and its Redis copy.

PostgreSQL holds the truth (``worker_position``, ``worker_last_position``). The ingest path,
``record_positions``, also keeps the latest fix per worker in Redis (``PositionStore``) so that
the map's worker layer, refreshed every ``refresh_workers_s`` on every wall, does not read the
write-hot ``worker_last_position`` table. Order of writes: the database commits first, then
Redis is updated; a Redis failure is logged and never loses or rolls back the database write.

Redis layout (namespace = ``queries.cache.namespace_for(database_url)``, so two databases
sharing one Redis never mix):

- ``gs:v1:<ns>:pos:last`` — hash, field = staff id, value = ``"at_ms|lon|lat|duty|g1,g2"``:
  fix time (ms since the epoch, UTC), WGS84 lon/lat, 1/0 on duty, and the codes of the current
  grids whose polygon covers the fix (``ST_Covers``; usually one, two on a shared boundary,
  none outside the territory). A Lua script writes a field only when its fix is not older than
  the stored one, so concurrent writers can never move a worker backwards in time.
- ``gs:v1:<ns>:pos:primed`` — set once the hash holds every worker of ``worker_last_position``.
  Readers that find it missing (Redis restarted or flushed) read PostgreSQL instead and prime
  the hash again (``PositionStore.resync``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import redis

from .cache import KEY_PREFIX, namespace_for
from .scope import Scope

log = logging.getLogger(__name__)

# Moves the latest position of each worker in the batch (older fixes never overwrite newer
# ones) and returns the rows it moved, with the current grids that cover each fix, for Redis.
_UPSERT_LATEST_SQL = """
WITH f AS (
    SELECT DISTINCT ON (u.staff_id) u.staff_id, u.at, u.lon, u.lat,
           ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
      FROM unnest(%(staff)s::bigint[], %(at)s::timestamptz[], %(lon)s::float8[],
                  %(lat)s::float8[]) AS u(staff_id, at, lon, lat)
     ORDER BY u.staff_id, u.at DESC
), c AS (
    SELECT f.*, ARRAY(SELECT g.code FROM grid g
                       WHERE g.valid_to IS NULL AND ST_Covers(g.geom, f.geom)
                       ORDER BY g.code) AS grids
      FROM f
), up AS (
    INSERT INTO worker_last_position (staff_id, at, geom, grid_code, on_duty)
    SELECT c.staff_id, c.at, c.geom, c.grids[1], %(on_duty)s FROM c
    ON CONFLICT (staff_id) DO UPDATE SET at = EXCLUDED.at, geom = EXCLUDED.geom,
        grid_code = EXCLUDED.grid_code, on_duty = EXCLUDED.on_duty
    WHERE worker_last_position.at <= EXCLUDED.at
    RETURNING staff_id
)
SELECT c.staff_id, c.at, c.lon, c.lat, c.grids FROM c JOIN up ON up.staff_id = c.staff_id
"""

# Every latest position, for priming Redis (after a restart, a flush or a failed write).
_ALL_LATEST_SQL = """
SELECT p.staff_id, p.at, ST_X(p.geom), ST_Y(p.geom), p.on_duty,
       ARRAY(SELECT g.code FROM grid g
              WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.geom) ORDER BY g.code)
  FROM worker_last_position p
"""
_SOME_LATEST_SQL = """
SELECT p.staff_id, p.at, ST_X(p.geom), ST_Y(p.geom), p.on_duty,
       ARRAY(SELECT g.code FROM grid g
              WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.geom) ORDER BY g.code)
  FROM worker_last_position p
 WHERE p.staff_id = ANY(%(ids)s)
"""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class LatestFix:
    """A worker's latest fix: WGS84 lon/lat, UTC instant, duty flag, covering grid codes."""

    staff_id: int
    at: datetime
    lon: float
    lat: float
    on_duty: bool
    grids: tuple[str, ...]

    @property
    def at_ms(self) -> int:
        """The fix time in whole milliseconds since the epoch (integer arithmetic)."""
        return (self.at - _EPOCH) // _MS

    def encode(self) -> str:
        """The Redis hash value: ``at_ms|lon|lat|duty|g1,g2`` (at_ms first: the Lua script
        compares it)."""
        return f"{self.at_ms}|{self.lon!r}|{self.lat!r}|{int(self.on_duty)}|{','.join(self.grids)}"

    @classmethod
    def decode(cls, staff_id: int, raw: bytes | str) -> LatestFix:
        text = raw.decode() if isinstance(raw, bytes) else raw
        at_ms, lon, lat, duty, grids = text.split("|", 4)
        return cls(
            staff_id=staff_id,
            at=_EPOCH + int(at_ms) * _MS,
            lon=float(lon),
            lat=float(lat),
            on_duty=duty == "1",
            grids=tuple(grids.split(",")) if grids else (),
        )


# ARGV = (staff_id, at_ms, value) triples; writes a field unless the stored fix is newer.
_PUT_NEWER_LUA = """
local n = 0
for i = 1, #ARGV, 3 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local keep = false
  if old then
    local old_at = tonumber(string.match(old, '^(%d+)'))
    if old_at and old_at > tonumber(ARGV[i + 1]) then keep = true end
  end
  if not keep then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    n = n + 1
  end
end
return n
"""

# Triples per script call: keeps each call short (Redis is single-threaded).
_PUT_CHUNK = 2000


class PositionStore:
    """The latest fix per worker in Redis, bound to one database by ``namespace``.

    Methods raise ``redis.RedisError`` when Redis fails, except ``publish`` (the ingest path's
    entry point), which logs and remembers the failure instead. One store per process (the
    app's Services, the live simulator): ``dirty`` is per store and makes its next successful
    publish resync everything from PostgreSQL first.
    """

    def __init__(self, client: redis.Redis, namespace: str):
        self.client = client
        self.namespace = namespace
        self.hash_key = f"{KEY_PREFIX}{namespace}:pos:last"
        self.primed_key = f"{KEY_PREFIX}{namespace}:pos:primed"
        self.dirty = False
        self._put_newer = client.register_script(_PUT_NEWER_LUA)

    @classmethod
    def from_url(cls, redis_url: str, database_url: str) -> PositionStore:
        """A store on ``redis_url`` for the database at ``database_url`` (short timeouts: a dead
        Redis costs at most half a second per call)."""
        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, namespace_for(database_url))

    def put(self, fixes: Sequence[LatestFix]) -> int:
        """Store fixes that are not older than what Redis holds; returns the fields written."""
        written = 0
        for i in range(0, len(fixes), _PUT_CHUNK):
            args: list[str | int] = []
            for f in fixes[i : i + _PUT_CHUNK]:
                args += [f.staff_id, f.at_ms, f.encode()]
            written += int(self._put_newer(keys=[self.hash_key], args=args))
        return written

    def publish(self, conn: psycopg.Connection, fixes: Sequence[LatestFix]) -> bool:
        """``put`` for the ingest path, after the database commit: never raises on a Redis
        failure (logs a warning and marks the store dirty); a dirty store resyncs from
        PostgreSQL before its next write. True when Redis is up to date."""
        try:
            if self.dirty:
                self.resync(conn)
                self.dirty = False
                log.warning("Redis is back; worker positions resynced from PostgreSQL")
            else:
                self.put(fixes)
            return True
        except redis.RedisError as exc:
            if not self.dirty:
                log.warning(
                    "Redis unavailable (%s): %d latest worker position(s) stored in PostgreSQL"
                    " only; the map reads PostgreSQL until Redis is resynced",
                    exc,
                    len(fixes),
                )
            self.dirty = True
            # Readers must not trust a hash that missed writes: they fall back to PostgreSQL.
            try:
                self.client.delete(self.primed_key)
            except redis.RedisError:
                pass
            return False

    def read_all(self) -> dict[int, LatestFix] | None:
        """Every stored fix by staff id, or None when the hash is not primed (readers must then
        use PostgreSQL). One round trip (HGETALL + GET in a pipeline)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.primed_key)
        pipe.hgetall(self.hash_key)
        primed, raw = pipe.execute()
        if not primed:
            return None
        return {int(k): LatestFix.decode(int(k), v) for k, v in raw.items()}

    def resync(self, conn: psycopg.Connection) -> int:
        """Copy every latest position of PostgreSQL into Redis (never over a newer fix), then
        mark the hash primed. Returns the workers copied."""
        with conn.transaction(), conn.cursor() as cur:
            rows = cur.execute(_ALL_LATEST_SQL).fetchall()
        fixes = [
            LatestFix(sid, at, float(lon), float(lat), bool(duty), tuple(grids or ()))
            for sid, at, lon, lat, duty, grids in rows
        ]
        self.put(fixes)
        self.client.set(self.primed_key, b"1")
        return len(fixes)

    def clear(self) -> None:
        """Forget every stored fix of this database (tests, benchmarks)."""
        self.client.delete(self.hash_key, self.primed_key)


def record_positions(
    conn: psycopg.Connection,
    fixes: Iterable[tuple[int, datetime, float, float]],
    on_duty: bool = True,
    *,
    store: PositionStore | None = None,
) -> int:
    """Append WGS84 fixes (staff_id, at, lon, lat) and move each worker's latest position.

    The latest position also records the grid it lies in (NULL outside every grid). Older fixes
    never overwrite a newer latest position. After the commit, the moved latest positions are
    written to ``store`` (Redis) when given; a Redis failure is logged, never raised, and the
    database write stands. Returns the fixes stored. Takes no scope: the caller first checks
    the staff against its jurisdiction (the API with ``queries.api.staff_outside``).
    """
    fixes = list(fixes)
    if not fixes:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO worker_position (staff_id, at, geom, on_duty)"
            " VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)",
            [(s, at, lon, lat, on_duty) for s, at, lon, lat in fixes],
        )
        moved = cur.execute(
            _UPSERT_LATEST_SQL,
            {
                "on_duty": on_duty,
                "staff": [f[0] for f in fixes],
                "at": [f[1] for f in fixes],
                "lon": [f[2] for f in fixes],
                "lat": [f[3] for f in fixes],
            },
        ).fetchall()
    # No data-version bump: fixes arrive every few seconds and would invalidate every cached
    # screen and layer at once. Readers of positions key their caches on the refresh bucket
    # (counters, worker layer) or read the Redis store directly.
    conn.commit()
    if store is not None:
        store.publish(
            conn,
            [
                LatestFix(sid, at, float(lon), float(lat), on_duty, tuple(grids or ()))
                for sid, at, lon, lat, grids in moved
            ],
        )
    return len(fixes)


def latest_from_postgres(
    conn: psycopg.Connection, staff_ids: Sequence[int] | None = None
) -> Mapping[int, LatestFix]:
    """Latest fixes from ``worker_last_position`` (all, or only ``staff_ids``), with the grids
    covering each fix computed now; the fallback when Redis is down or not primed."""
    if staff_ids is None:
        rows = conn.execute(_ALL_LATEST_SQL).fetchall()
    else:
        rows = conn.execute(_SOME_LATEST_SQL, {"ids": list(staff_ids)}).fetchall()
    return {
        sid: LatestFix(sid, at, float(lon), float(lat), bool(duty), tuple(grids or ()))
        for sid, at, lon, lat, duty, grids in rows
    }


def workers_on_duty(conn: psycopg.Connection, scope: Scope) -> list[dict]:
    """Full- and part-time workers of the jurisdiction with one of their grids and its point
    on surface (lon/lat) and the worker's latest fix if any."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT DISTINCT ON (s.id) s.id AS staff_id, a.grid_code,"
            "  ST_X(g.anchor) AS home_lon,"
            "  ST_Y(g.anchor) AS home_lat,"
            "  ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat"
            " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
            " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
            " LEFT JOIN worker_last_position p ON p.staff_id = s.id"
            " WHERE s.active AND s.role IN ('fulltime_worker', 'parttime_worker')"
            "   AND a.grid_code LIKE %s"
            " ORDER BY s.id, a.grid_code",
            (scope.like,),
        )
        return cur.fetchall()
