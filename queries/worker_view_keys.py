"""The names and lifetimes of a worker view's Redis keys and its updater lock
(``queries.worker_view``), shared by its per-grid and points halves
(``queries.worker_view_points``)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis

from .position_store import PositionStore
from .scope import Scope

# 2: a view of points keeps its rows as columns in one string (``queries.worker_table``).
# 3: its rows hold their fix time and duty, and it reads the fix log (``queries.position_log``).
VIEW_FORMAT = 3
VIEW_TTL_MS = 3600 * 1000  # an unused view goes away after an hour
REFRESH_AFTER = timedelta(minutes=5)  # the roster is read again this often
REFRESH_AFTER_MS = REFRESH_AFTER // timedelta(milliseconds=1)


def view_prefix(
    store: PositionStore, scope: Scope, roles: tuple[str, ...], per_grid: bool, basemap_crs: str
) -> str:
    """The key prefix ``gs:v1:<ns>:pos:view:<digest>:`` of the view of ``scope``, ``roles``,
    per grid or points, in the display datum of ``basemap_crs`` (the format included: a new
    format is a new view)."""
    name = f"{VIEW_FORMAT}|{scope.key}|{','.join(roles)}|{int(per_grid)}|{basemap_crs}"
    digest = hashlib.blake2b(name.encode(), digest_size=10).hexdigest()
    return store.key(f"view:{digest}:")


LOCK_MS = 10_000  # an updater that dies leaves the view to others after this long
LOCK_WAIT_S = 1.0  # how long a sync waits for another updater before leaving the view as is

_UNLOCK_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end"


class ViewLock:
    """One updater of a view at a time, across processes: ``key`` holds a random token for
    LOCK_MS at most; only its holder deletes it. Taking and releasing ride on the
    transactions the updater sends anyway (``take_with``, ``release_with``): no round trip of
    their own."""

    def __init__(self, client: redis.Redis, key: str):
        self.client, self.key = client, key
        self.token = secrets.token_hex(8)
        self.held = False

    def take_with(self, queue: Callable[[redis.client.Pipeline], None]) -> list[Any] | None:
        """Take the lock (waiting up to LOCK_WAIT_S) in one transaction with the commands
        ``queue`` adds to it: their replies, or None when another updater kept the lock.
        (The commands run on every attempt: they must only read, or be safe to repeat.)"""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            pipe = self.client.pipeline(transaction=True)
            pipe.set(self.key, self.token, nx=True, px=LOCK_MS)
            queue(pipe)
            self.held = True  # until known otherwise: a failure must not leave it taken
            try:
                taken, *replies = pipe.execute()
            except BaseException:
                with contextlib.suppress(redis.RedisError):
                    self.release()
                raise
            if taken:
                return replies
            self.held = False
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def release_with(self, pipe: redis.client.Pipeline) -> list[Any]:
        """Execute ``pipe`` (the holder's writes) with the lock's release at its end: the
        replies of the writes."""
        # EVAL, not a registered script: see worker_delta.queue_advance.
        pipe.eval(_UNLOCK_LUA, 1, self.key, self.token)
        *replies, _ = pipe.execute()
        self.held = False
        return replies

    def release(self) -> None:
        """Release the lock if this holder still has it (after a failure or a sync with
        nothing to write)."""
        if self.held:
            self.client.eval(_UNLOCK_LUA, 1, self.key, self.token)
            self.held = False
