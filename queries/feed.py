"""Wall feeds: one computation per (panel, scope, options) shared by every screen and every
server process, kept as ready gzip bytes (issue #10; the HTTP side is dashboard/feed_routes.py,
the panels dashboard/feeds.py).

    served = feed_state(services).serve(services, FeedSpec(panel, scope, params, period_s, fn))

A request is answered by the cheapest step that has an acceptable entry for its slot (panel,
scope, canonical params):

1. The data version is read at most every ``settings.version_poll_ms`` per process
   (``VersionWatch``), not per request: hundreds of screens cost one tiny query a second.
2. The per-process memo (``Memo``, LRU) holds each slot's last entry: served with no I/O.
3. Redis holds the same entry under the slot's key (``queries.cache.cache_key`` with version
   0: an entry carries its own version) with the expiry the spec fixes (``keep_s``), so that
   its PTTL tells every process on every node how old it is.
4. Else it is computed on ``services.read_pool``: once per process (the other threads wait for
   the first) and once across processes (a Redis ``SET NX`` lock; a process that lost it polls
   the slot for up to ``LOCK_WAIT_S``, then computes itself).

Recompute rule: an entry is acceptable while it is of the current data version and younger
than half the panel's period (overdue counts and ages move without any write; a screen polling
once a period then never holds data older than 1.5 periods, and its stale mark comes at 2), or
while it is younger than ``max(1 s, period / 8)`` whatever the version. The live simulator
bumps the version every second: without that floor every scope would be recomputed every
second. A refresher thread per process recomputes
watched slots ahead of the screens, so requests rarely wait on a computation; with the wall
polling at 0.65 of the period a write reaches every screen within one period
(docs/architecture.md).

When PostgreSQL does not answer (the version read or the computation fails) the slot's last
entry is served marked stale, or nothing (the route answers 503) when there is none; the outage
is logged once (``services.faults``). Redis down: each process computes for itself.

What is kept (request, entry, memo) is in queries/feed_entry.py.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import redis

from .cache import data_version
from .db import custom_plans, serial_plans
from .feed_entry import MEMO_BYTES, MEMO_ENTRIES, Entry, FeedSpec, Memo, Served, build_entry
from .geo import unit_of
from .replicas import read_connection
from .scope import Scope
from .transient import POSTGRES, TRANSIENT_DB_ERRORS, fault_name
from .version_watch import VersionWatch

if TYPE_CHECKING:  # services imports this module: the type only, at check time
    from .services import Services

__all__ = ["Entry", "FeedSpec", "FeedState", "Served", "feed_state"]

log = logging.getLogger(__name__)


LOCK_TTL_MS = 5000  # the cross-process compute lock frees itself after this
LOCK_WAIT_S = 1.0  # a process that lost the lock polls the slot this long, then computes
# ... or only this long when it already has an entry to serve (stale) instead.
LOCK_WAIT_WITH_ENTRY_S = 0.25
# After a failed computation a slot is not tried again for this long: its last entry is served
# stale. Without it, under a lock every poll started a computation that waited the whole
# statement timeout, and the threads ran out (/healthz slowed to 1.8 s in the fault tier).
RETRY_FAILED_S = 2.0
# The refresher: how often it looks at the slots screens asked for, and for how many of a
# slot's periods it keeps refreshing one nobody asked for again.
REFRESH_TICK_S = 0.5
WATCH_PERIODS = 3
LOCK_POLL_S = 0.05
REDIS_RETRY_S = 5.0  # after a Redis failure, leave it alone this long
REDIS_LOOK_S = 0.5  # see FeedState._may_look
MAX_LOOKED = 4096
UNIT_TTL_S = 60.0  # how long "unit X exists in scope S" is remembered
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_DOWN = object()  # a Redis call that could not be made


class _Flight:
    __slots__ = ("done", "entry")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.entry: Entry | None = None


class FeedState:
    """The feed machinery of one app (one per process): version watch, memo, in-process
    single flight, remembered unit checks and a count of computations (tests, benchmarks).
    Thread-safe."""

    def __init__(self, *, memo_entries: int = MEMO_ENTRIES, memo_bytes: int = MEMO_BYTES):
        self.memo = Memo(memo_entries, memo_bytes)
        self.watch = VersionWatch()
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._units: OrderedDict[tuple[str, str], tuple[bool, float]] = OrderedDict()
        self._redis_retry_at = 0.0
        self._failed_at: dict[str, float] = {}
        self._looked: dict[str, float] = {}  # slot -> when a request last read it in Redis
        self._watched: dict[str, tuple[Services, FeedSpec, float]] = {}
        self._refresher: threading.Thread | None = None
        self._stop = threading.Event()
        self.computes = 0

    # -- serving ---------------------------------------------------------------------------

    def serve(self, services: Services, spec: FeedSpec) -> Served:
        """The answer to ``spec`` (see the module docstring for the order of the steps)."""
        slot = _slot(services, spec, spec.params)
        version = self.watch.current(services)
        entry = self.memo.get(slot)
        if version is not None and entry is not None and entry.acceptable(version, spec):
            return self._served(services, entry, False)
        remote = self._redis_get(services, slot, spec) if self._may_look(slot, entry) else None
        if remote is not None and (entry is None or remote.born > entry.born):
            if entry is None or remote.etag != entry.etag or remote.version > entry.version:
                self.memo.put(slot, remote, spec.short_lived)
                entry = remote
        if version is None:
            return self._served(services, entry or self._stand_in(services, spec), True)
        self._watch(services, slot, spec)
        if entry is not None and entry.acceptable(version, spec):
            return self._served(services, entry, False)
        if entry is not None and entry.age_s() < 2 * spec.period_s:
            # The refresher recomputes it in the background (within REFRESH_TICK_S): no
            # request waits on a computation that only makes a good entry newer. Waiting here
            # gave the wall its p95 (1.5 s on the counters of the large city, bench wall).
            return self._served(services, entry, False)
        failed_at = self._failed_at.get(slot)
        if entry is not None and failed_at is not None:
            if time.monotonic() - failed_at < RETRY_FAILED_S:
                return self._served(services, entry, True)
        fresh = self._compute_once(services, slot, spec, version, entry is not None)
        if fresh is None:
            with self._lock:
                self._failed_at[slot] = time.monotonic()
                while len(self._failed_at) > 4096:
                    self._failed_at.pop(next(iter(self._failed_at)))
            return self._served(services, entry or self._stand_in(services, spec), True)
        if failed_at is not None:
            with self._lock:
                self._failed_at.pop(slot, None)
        return self._served(services, fresh, False)

    def peek(self, services: Services, spec: FeedSpec) -> Served | None:
        """What ``serve`` would answer when it needs no I/O: the memo's entry if the rule
        accepts it, or (the slot watched, its Redis look not due) the entry the refresher is
        about to replace, as ``serve`` answers it; else None, and the request goes the long
        way (dashboard/feed_lane.py)."""
        version = self.watch.current(services)
        if version is None:
            return None
        slot = _slot(services, spec, spec.params)
        entry = self.memo.get(slot)
        if entry is None:
            return None
        if not entry.acceptable(version, spec):
            if entry.age_s() >= 2 * spec.period_s or slot not in self._watched:
                return None
            with self._lock:
                if time.monotonic() - self._looked.get(slot, float("-inf")) >= REDIS_LOOK_S:
                    return None
            self._watch(services, slot, spec)
        return self._served(services, entry, False)

    def _may_look(self, slot: str, entry: Entry | None) -> bool:
        """Whether a request should read the slot's entry from Redis: always without an entry
        here, else at most every REDIS_LOOK_S per slot and process. Between a version move
        and the refresher's recomputation every request used to read the whole entry from
        Redis (a quarter of the server's time at 500 screens, issue #10) only to serve the one
        it had; another process's newer entry now reaches this one within REDIS_LOOK_S."""
        if entry is None:
            return True
        now = time.monotonic()
        with self._lock:
            if now - self._looked.get(slot, float("-inf")) < REDIS_LOOK_S:
                return False
            self._looked[slot] = now
            while len(self._looked) > MAX_LOOKED:
                self._looked.pop(next(iter(self._looked)))
        return True

    def _stand_in(self, services: Services, spec: FeedSpec) -> Entry | None:
        """The entry of ``spec.fallback_params``'s slot, if any (memo, then Redis)."""
        if spec.fallback_params is None:
            return None
        slot = _slot(services, spec, spec.fallback_params)
        return self.memo.get(slot) or self._redis_get(services, slot, spec)

    # -- refreshing ahead of the screens ----------------------------------------------------

    def _watch(self, services: Services, slot: str, spec: FeedSpec) -> None:
        """Remember that a screen asked for ``slot`` (with the Services and spec to recompute
        it), and start this process's refresher on first use."""
        self._watched[slot] = (services, spec, time.monotonic())
        if self._refresher is None:
            with self._lock:
                if self._refresher is None:
                    self._refresher = threading.Thread(
                        target=self._refresh_loop, name="gridscope-feeds", daemon=True
                    )
                    self._refresher.start()

    def close(self) -> None:
        """Stop the refresher (Services.close: the app's pools are going away)."""
        self._stop.set()
        self._watched.clear()

    def _refresh_loop(self) -> None:
        while not self._stop.wait(REFRESH_TICK_S):
            try:
                self.refresh_due()
            except Exception:  # the loop must outlive any one slot; requests still compute
                log.exception("feed refresher")

    def refresh_due(self) -> int:
        """Recompute every watched slot whose entry the recompute rule no longer accepts
        (single flight across processes as for requests); forget slots nobody asked for in
        WATCH_PERIODS periods. The number of slots recomputed."""
        done = 0
        now = time.monotonic()
        for slot, (services, spec, asked) in list(self._watched.items()):
            if now - asked > WATCH_PERIODS * spec.period_s or services.pool.closed:
                self._watched.pop(slot, None)
                continue
            version = self.watch.current(services)
            if version is None:
                continue
            entry = self.memo.get(slot) or self._redis_get(services, slot, spec)
            if entry is not None and entry.acceptable(version, spec):
                self.memo.put(slot, entry, spec.short_lived)
                continue
            failed_at = self._failed_at.get(slot)
            if failed_at is not None and now - failed_at < RETRY_FAILED_S:
                continue
            if self._compute_once(services, slot, spec, version, entry is not None):
                done += 1
            elif services.faults.down(POSTGRES):
                # Forget it until a screen asks again (its poll re-watches it): an app whose
                # database went away for good (a finished test) stops trying at once.
                self._failed_at[slot] = time.monotonic()
                self._watched.pop(slot, None)
        return done

    def degraded(self, services: Services) -> tuple[str, ...]:
        """The dependencies this process finds away right now."""
        out = []
        if services.faults.down(POSTGRES):
            out.append("postgres")
        if services.faults.down("redis") or not services.cache.available:
            out.append("redis")
        return tuple(out)

    def _served(self, services: Services, entry: Entry | None, stale: bool) -> Served:
        return Served(entry, stale and entry is not None, self.degraded(services))

    # -- computing once ----------------------------------------------------------------------

    def _compute_once(
        self, services: Services, slot: str, spec: FeedSpec, version: int, have_entry: bool
    ) -> Entry | None:
        with self._lock:
            flight = self._flights.get(slot)
            leader = flight is None
            if flight is None:
                flight = self._flights[slot] = _Flight()
        if not leader:
            # Bounded: the leader's work is bounded by the pool wait, the lock wait and the
            # statement timeout; a follower that can serve the last entry waits far less.
            flight.done.wait(LOCK_WAIT_WITH_ENTRY_S if have_entry else None)
            return flight.entry
        entry = None
        try:
            entry = self._compute_shared(services, slot, spec, version, have_entry)
        finally:
            flight.entry = entry
            with self._lock:
                self._flights.pop(slot, None)
            flight.done.set()
        return entry

    def _compute_shared(
        self, services: Services, slot: str, spec: FeedSpec, version: int, have_entry: bool
    ) -> Entry | None:
        lock_key, token = f"{slot}:lock", secrets.token_hex(8)
        got = self._redis(services, lambda c: c.set(lock_key, token, nx=True, px=LOCK_TTL_MS))
        if got is None:  # another process computes this slot: wait for its entry a little
            deadline = time.monotonic() + (LOCK_WAIT_WITH_ENTRY_S if have_entry else LOCK_WAIT_S)
            while time.monotonic() < deadline:
                time.sleep(LOCK_POLL_S)
                other = self._redis_get(services, slot, spec)
                if other is not None and other.acceptable(version, spec):
                    self.memo.put(slot, other, spec.short_lived)
                    return other
            if have_entry:
                return None  # the other process is still at it: keep the last entry
        try:
            entry = self._compute(services, slot, spec, version)
            if entry is not None:
                keep_ms = spec.keep_s * 1000
                self._redis(services, lambda c: c.set(slot, entry.to_redis(), px=keep_ms))
            return entry
        finally:
            if got is True:
                self._redis(services, lambda c: c.eval(_UNLOCK, 1, lock_key, token))

    def _compute(
        self, services: Services, slot: str, spec: FeedSpec, at_least: int
    ) -> Entry | None:
        name = POSTGRES
        try:
            with read_connection(services, at_least=at_least) as conn, custom_plans(conn):
                serial_plans(conn)
                version = data_version(conn)
                now = services.clock.now()
                data = spec.compute(conn, now)
        except TRANSIENT_DB_ERRORS as exc:
            services.faults.failed(fault_name(exc), exc)
            return None
        services.faults.ok(name)
        entry = build_entry(slot, spec, version, now, data)
        with self._lock:
            self.computes += 1
        self.memo.put(slot, entry, spec.short_lived)
        return entry

    # -- Redis -----------------------------------------------------------------------------

    def _redis(self, services: Services, call: Callable[[redis.Redis], Any]) -> Any:
        """``call(client)``, or _DOWN while Redis is away (one fault line per outage)."""
        if time.monotonic() < self._redis_retry_at:
            return _DOWN
        try:
            out = call(services.cache.client)
        except redis.RedisError as exc:
            self._redis_retry_at = time.monotonic() + REDIS_RETRY_S
            services.faults.failed("redis", exc)
            return _DOWN
        services.faults.ok("redis")
        return out

    def _redis_get(self, services: Services, slot: str, spec: FeedSpec) -> Entry | None:
        def read(client: redis.Redis) -> list:
            pipe = client.pipeline(transaction=False)
            pipe.get(slot)
            pipe.pttl(slot)
            return pipe.execute()

        got = self._redis(services, read)
        if got is _DOWN or got[0] is None:
            return None
        raw, pttl = got
        keep_ms = spec.keep_s * 1000
        age_ms = keep_ms - pttl if isinstance(pttl, int) and pttl > 0 else keep_ms
        return Entry.from_redis(raw, max(0, age_ms) / 1000)

    # -- units -----------------------------------------------------------------------------

    def unit_exists(self, services: Services, scope: Scope, code: str) -> bool | None:
        """True when ``code`` names a current unit inside ``scope`` (remembered UNIT_TTL_S);
        None when the database does not answer."""
        key = (scope.key, code)
        with self._lock:
            hit = self._units.get(key)
        if hit is not None and time.monotonic() - hit[1] < UNIT_TTL_S:
            return hit[0]
        try:
            with services.read_pool.connection() as conn:
                exists = unit_of(conn, scope, code) is not None
        except TRANSIENT_DB_ERRORS as exc:
            services.faults.failed(POSTGRES, exc)
            return None
        with self._lock:
            self._units[key] = (exists, time.monotonic())
            self._units.move_to_end(key)
            while len(self._units) > 4096:
                self._units.popitem(last=False)
        return exists


def _slot(services: Services, spec: FeedSpec, params: Mapping[str, Any]) -> str:
    """The cache key of ``spec``'s panel and scope with ``params`` (version 0: an entry
    carries its own version)."""
    return services.cache.key(f"feed-{spec.panel}", 0, dict(params), spec.scope)


def feed_state(services: Services) -> FeedState:
    """The app's FeedState (one per app; for_viewer's copies of Services share it)."""
    return services.feeds
