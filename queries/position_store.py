"""The Redis copy of the latest fix per worker (``PositionStore``) and its change log, written
by the ingest path (``queries.positions.record_positions``) after PostgreSQL commits.

Redis layout (namespace = ``queries.cache.namespace_for(database_url)``, so two databases
sharing one Redis never mix), all under ``gs:v1:<ns>:pos:``:

- ``last`` — hash, field = staff id, value = ``"at_ms|lon|lat|duty|g1,g2"``: fix time (ms
  since the epoch, UTC), WGS84 lon/lat, 1/0 on duty, and the codes of the current grids whose
  polygon covers the fix (``ST_Covers``; usually one, two on a shared boundary, none outside
  the territory). A Lua script writes a field only when its fix is not older than the stored
  one, so concurrent writers can never move a worker backwards in time.
- ``mark`` — the newest fix time (ms) Redis has been told about. The ingest path raises it
  before PostgreSQL commits (``announce``) and ``put`` after; priming sets it from PostgreSQL.
  A reader whose ``worker_last_position`` holds a newer fix than the mark (PostgreSQL read
  first, the mark after: the order that makes the announcement race-free) knows Redis missed
  writes (restored from a snapshot, a write lost between the commit and Redis) and primes the
  hash again (``verify``) — so a restored snapshot is never taken for the newest positions.
  The ``primed`` flag alone cannot say that: a snapshot restores it with the old positions.
- ``primed`` — set once the hash holds every worker of ``worker_last_position``. Readers that
  find it missing (Redis restarted or flushed) prime the hash again (``prime``).
- ``seq``, ``chg``, ``gchg``, ``at``, ``floor``, ``tick`` — the change log behind the map's
  delta feed, written by the same script as ``last``: ``seq`` moves by one per write, ``chg``
  (sorted set, staff id scored by the seq of its last write) and ``gchg`` (the same for writes
  that may change a per-grid count), ``at`` (staff id scored by fix time, for the moments a
  fix turns stale), ``floor`` (the seq of the last priming: older cursors are unknown),
  ``tick`` (the feed's last "now"). Read by ``queries.worker_delta``.
- ``flog``, ``fprev`` — the fix log of views of points (``queries.position_log``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import redis

from .cache import KEY_PREFIX, namespace_for
from .db import one
from .faults import FaultLog
from .position_log import LOG_CAP, PUT_LOG_LUA, pack
from .screen.kpis import ONLINE_WINDOW

log = logging.getLogger(__name__)

# Every latest position, for priming Redis (after a restart, a flush or a failed write).
ALL_LATEST_SQL = """
SELECT p.staff_id, p.at, ST_X(p.geom), ST_Y(p.geom), p.on_duty,
       ARRAY(SELECT g.code FROM grid g
              WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.geom) ORDER BY g.code)
  FROM worker_last_position p
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def epoch_ms(at: datetime) -> int:
    """An aware instant in whole milliseconds since the epoch (integer arithmetic)."""
    return (at - _EPOCH) // _MS


def text(value: bytes | str) -> str:
    """A Redis reply (bytes from a client without ``decode_responses``) as text."""
    return value.decode() if isinstance(value, bytes) else value


def from_epoch_ms(ms: int) -> datetime:
    """The UTC instant ``ms`` milliseconds after the epoch (the inverse of epoch_ms)."""
    return _EPOCH + int(ms) * _MS


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
        return epoch_ms(self.at)

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


# Writes fixes that are not older than the stored ones and keeps the indexes the map's delta
# feed reads (queries/worker_delta.py) and the fix log (queries/position_log.py). KEYS: last,
# at, chg, gchg, seq, mark, tick, flog, fprev. ARGV[1] = the stale window in ms, ARGV[2] the
# fixes' packed records, ARGV[3] the log's cap, then (staff_id, at_ms, value) triples. A
# written field gets the next seq (one per call) in chg, and a record in the log; in gchg too
# (the record's level) when what a per-grid count shows may change: new worker, other covering
# grids, other duty flag, or a fix that was stale at the last tick (or no tick yet). The mark
# (newest fix time ever announced) only moves forward.
_PUT_NEWER_LUA = (
    PUT_LOG_LUA
    + """
local stale = tonumber(ARGV[1])
local tick = tonumber(redis.call('GET', KEYS[7]) or '')
local mark = tonumber(redis.call('GET', KEYS[6]) or '0')
local seq = nil
local records = {}
local pat = '^(%d+)|[^|]*|[^|]*|(%d)|(.*)$'
for i = 4, #ARGV, 3 do
  local sid, at, val = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if at > mark then mark = at end
  local old = redis.call('HGET', KEYS[1], sid)
  local keep, level = false, true
  if old then
    local oat, oduty, ogrids = string.match(old, pat)
    oat = tonumber(oat)
    if oat and oat > at then
      keep = true
    elseif oat then
      local _, nduty, ngrids = string.match(val, pat)
      level = oduty ~= nduty or ogrids ~= ngrids or tick == nil or oat <= tick - stale
    end
  end
  if not keep then
    if not seq then seq = redis.call('INCR', KEYS[5]) end
    redis.call('HSET', KEYS[1], sid, val)
    redis.call('ZADD', KEYS[2], string.format('%d', at), sid)
    redis.call('ZADD', KEYS[3], seq, sid)
    if level then redis.call('ZADD', KEYS[4], seq, sid) end
    records[#records + 1] = log_record((i - 4) / 3, level)
  end
end
if seq then log_append(seq, records) end
redis.call('SET', KEYS[6], string.format('%d', mark))
return #records
"""
)

# Raises the mark to ARGV[1] (ms) unless it is higher already.
_ANNOUNCE_LUA = """
local mark = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > mark then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""

# Before a resync: the seq jumps past every value it could have had before (Redis' clock in ms;
# fewer than 1,000 writes a second since the last jump keep it below that) and becomes the floor
# of the change log. A snapshot restores an older seq, and cursors handed out since must never
# name a later state: after the jump they are all below the floor, so clients start afresh.
_JUMP_LUA = """
local t = redis.call('TIME')
local clock = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if clock > seq then seq = clock end
seq = seq + 1
redis.call('SET', KEYS[1], string.format('%d', seq))
redis.call('SET', KEYS[2], string.format('%d', seq))
return seq
"""

# Fixes per script call: keeps each call short (Redis is single-threaded).
_PUT_CHUNK = 2000
_STALE_MS = ONLINE_WINDOW // _MS
_PG_MARK_SQL = "SELECT max(at) FROM worker_last_position"


class PositionStore:
    """The latest fix per worker in Redis, bound to one database by ``namespace``.

    Methods raise ``redis.RedisError`` when Redis fails, except ``publish`` and ``announce``
    (the ingest path's entry points), which log and remember the failure instead. One store per
    process (the app's Services, the live simulator): ``dirty`` is per store and makes its next
    successful publish resync everything from PostgreSQL first. ``faults`` (the app's FaultLog)
    reports Redis failures once per outage; without it a dirty store logs once per outage.
    """

    def __init__(self, client: redis.Redis, namespace: str, faults: FaultLog | None = None):
        self.client = client
        self.namespace = namespace
        self.faults = faults
        self.prefix = f"{KEY_PREFIX}{namespace}:pos:"
        self.hash_key = self.key("last")
        self.primed_key = self.key("primed")
        self.mark_key = self.key("mark")
        self.seq_key = self.key("seq")
        self.floor_key = self.key("floor")
        self.at_key = self.key("at")
        self.chg_key = self.key("chg")
        self.gchg_key = self.key("gchg")
        self.tick_key = self.key("tick")
        self.log_key, self.prev_log_key = self.key("flog"), self.key("fprev")
        self.dirty = False
        self._put_newer = client.register_script(_PUT_NEWER_LUA)
        self._announce = client.register_script(_ANNOUNCE_LUA)
        self._jump = client.register_script(_JUMP_LUA)

    def key(self, name: str) -> str:
        """The Redis key ``name`` of this store's namespace: ``gs:v1:<ns>:pos:<name>``."""
        return self.prefix + name

    @classmethod
    def from_url(
        cls, redis_url: str, database_url: str, faults: FaultLog | None = None
    ) -> PositionStore:
        """A store on ``redis_url`` for the database at ``database_url`` (short timeouts: a dead
        Redis costs at most half a second per call)."""
        client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return cls(client, namespace_for(database_url), faults)

    def put(self, fixes: Sequence[LatestFix]) -> int:
        """Store fixes that are not older than what Redis holds; returns the fields written.
        Each call that writes moves the seq and logs the written staff ids (module docstring)."""
        written = 0
        names = ("last", "at", "chg", "gchg", "seq", "mark", "tick", "flog", "fprev")
        keys = [self.key(name) for name in names]  # _PUT_NEWER_LUA's KEYS
        for i in range(0, len(fixes), _PUT_CHUNK):
            part = fixes[i : i + _PUT_CHUNK]
            records = pack([(f.staff_id, f.at_ms, f.lon, f.lat, f.on_duty) for f in part])
            args: list[str | int | bytes] = [_STALE_MS, records, LOG_CAP]
            for f in part:
                args += [f.staff_id, f.at_ms, f.encode()]
            written += int(self._put_newer(keys=keys, args=args))
        return written

    def announce(self, newest_ms: int) -> bool:
        """Raise the mark to ``newest_ms`` before the database commits the fixes it covers, so
        that a reader comparing marks between that commit and ``publish`` does not mistake the
        moment for a lost write. Never raises: a failure marks the store dirty (False); a
        dirty store does not try (its readers prime from PostgreSQL, its next publish
        resyncs), so a dead Redis never holds a transaction open for a socket timeout."""
        if self.dirty:
            return False
        try:
            self._announce(keys=[self.mark_key], args=[int(newest_ms)])
            return True
        except redis.RedisError as exc:
            self._failed(exc, "the mark of the next fixes was not announced")
            return False

    def publish(self, conn: psycopg.Connection, fixes: Sequence[LatestFix]) -> bool:
        """``put`` for the ingest path, after the database commit: never raises on a Redis
        failure (logs once and marks the store dirty); a dirty store resyncs from PostgreSQL
        before its next write. True when Redis is up to date."""
        try:
            if self.dirty:
                self.resync(conn)
                self.dirty = False
                if self.faults is None or not self.faults.ok("redis"):
                    log.warning("Redis is back; worker positions resynced from PostgreSQL")
            else:
                self.put(fixes)
            return True
        except redis.RedisError as exc:
            self._failed(exc, f"{len(fixes)} latest worker position(s) stored in PostgreSQL only")
            return False

    def _failed(self, exc: redis.RedisError, what: str) -> None:
        if self.faults is not None:
            self.faults.failed("redis", exc)
        elif not self.dirty:
            log.warning(
                "Redis unavailable (%s): %s; the map reads PostgreSQL until Redis is resynced",
                exc,
                what,
            )
        self.dirty = True
        # Readers must not trust a hash that missed writes: they fall back to PostgreSQL.
        try:
            self.client.delete(self.primed_key)
        except redis.RedisError:
            pass

    def read_all(self, conn: psycopg.Connection | None = None) -> dict[int, LatestFix] | None:
        """Every stored fix by staff id, or None when Redis cannot be used (readers then use
        PostgreSQL): not primed, or (given ``conn``) older than PostgreSQL and another process
        is priming it. With ``conn``, a hash that is not primed or whose mark is older than
        PostgreSQL's newest fix (a snapshot restored, a lost write) is primed again first
        (``verify``). One Redis round trip and one index probe when all is well."""
        # PostgreSQL first, then Redis: see newest_in_postgres.
        newest = newest_in_postgres(conn) if conn is not None else None
        pipe = self.client.pipeline(transaction=False)
        pipe.get(self.primed_key)
        pipe.get(self.mark_key)
        pipe.hgetall(self.hash_key)
        primed, mark, raw = pipe.execute()
        if conn is not None:
            problem = distrust(newest, primed, mark)
            if problem is not None:
                if self.prime(conn, problem or None) is None:
                    return None
                primed, raw = True, self.client.hgetall(self.hash_key)
        if not primed:
            return None
        return {int(k): LatestFix.decode(int(k), v) for k, v in raw.items()}

    def verify(self, conn: psycopg.Connection) -> bool:
        """True when the hash may be read: primed, and its mark not older than the newest fix
        in ``worker_last_position``. Otherwise it is primed again here (under a lock; False
        when another process holds it), and a hash older than PostgreSQL is logged once, by
        the process that primes it."""
        newest = newest_in_postgres(conn)  # first: see newest_in_postgres
        return self.trusts(conn, newest, *self.client.mget(self.primed_key, self.mark_key))

    def trusts(
        self, conn: psycopg.Connection, newest: datetime | None, primed: Any, mark: Any
    ) -> bool:
        """``verify`` of ``newest_in_postgres``, then the primed flag and mark, read already."""
        problem = distrust(newest, primed, mark)
        return problem is None or self.prime(conn, problem or None) is not None

    def prime(self, conn: psycopg.Connection, problem: str | None) -> int | None:
        """``resync`` under a short Redis lock (one priming at a time across processes);
        the fixes copied, or None when another process holds the lock. ``problem`` (why the
        hash could not be trusted) is logged as a warning, else the priming as info."""
        lock = self.key("prime-lock")
        token = secrets.token_hex(8)
        if not self.client.set(lock, token, nx=True, ex=30):
            return None
        try:
            n = self.resync(conn)
        finally:
            if self.client.get(lock) == token.encode():
                self.client.delete(lock)
        if problem:
            log.warning("worker positions in Redis were %s; re-primed %d fixes", problem, n)
        else:
            log.info("worker positions: primed Redis with %d latest fixes", n)
        return n

    def resync(self, conn: psycopg.Connection) -> int:
        """Copy every latest position of PostgreSQL into Redis (never over a newer fix), then
        mark the hash primed. The seq jumps first (``_JUMP_LUA``): every delta cursor handed
        out before is then too old. Returns the workers copied."""
        with conn.transaction(), conn.cursor() as cur:
            rows = cur.execute(ALL_LATEST_SQL).fetchall()
        fixes = [
            LatestFix(sid, at, float(lon), float(lat), bool(duty), tuple(grids or ()))
            for sid, at, lon, lat, duty, grids in rows
        ]
        self._jump(keys=[self.seq_key, self.floor_key])
        self.put(fixes)
        self.client.set(self.primed_key, b"1")
        return len(fixes)

    def clear(self) -> None:
        """Forget every stored fix and index of this database (tests, benchmarks)."""
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        for i in range(0, len(keys), 1000):
            self.client.delete(*keys[i : i + 1000])


def newest_in_postgres(conn: psycopg.Connection) -> datetime | None:
    """The newest fix of ``worker_last_position``. Read BEFORE the mark: a writer raises the
    mark before its commit (``announce``), so any row this read sees had its mark raised
    already, and a mark read afterwards covers it. The other order raced every writer: a
    commit landing between the mark read and this query (a busy simulator commits every
    second) looked like a lost write and re-primed every fix (issue #10)."""
    return one(conn.execute(_PG_MARK_SQL).fetchone())[0]


def distrust(
    newest: datetime | None, primed: bytes | str | None, mark: bytes | str | None
) -> str | None:
    """None when the hash may be read, else why not ("" when it is not primed). ``newest``
    (``newest_in_postgres``) must have been read before ``primed`` and ``mark``."""
    if not primed:
        return ""
    if newest is None or (mark is not None and epoch_ms(newest) <= int(mark)):
        return None
    stored = (_EPOCH + int(mark) * _MS).isoformat() if mark is not None else "none"
    return (
        f"older than PostgreSQL (newest fix in Redis {stored}, in PostgreSQL"
        f" {newest.isoformat()}): restored from a snapshot, or a write was lost"
    )
