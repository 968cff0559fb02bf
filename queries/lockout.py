"""Sign-in lockout kept in Redis: failed attempts per account name, counted in a window; at
``limit`` failures the name is locked until the window (``lock_s``) runs out.

Keys: ``gs:<namespace>:lock:<username>`` (an integer with a TTL). Redis down: attempts are not
counted (the sign-in itself still needs the password; argon2 makes guessing slow) and the
failure is logged, so a command centre is never locked out by its cache.
"""

from __future__ import annotations

import logging

import redis

from .cache import KEY_PREFIX

log = logging.getLogger(__name__)


class Lockout:
    def __init__(self, client: redis.Redis, namespace: str, limit: int, lock_s: int):
        self.client = client
        self.namespace = namespace
        self.limit = limit
        self.lock_s = lock_s

    def _key(self, username: str) -> str:
        return f"{KEY_PREFIX}{self.namespace}:lock:{username[:64]}"

    def locked_for(self, username: str) -> int:
        """Seconds the name stays locked (0 when it is not locked)."""
        try:
            pipe = self.client.pipeline()
            pipe.get(self._key(username))
            pipe.ttl(self._key(username))
            count, ttl = pipe.execute()
        except redis.RedisError as exc:
            log.warning("lockout: redis unavailable (%s); not enforced", exc)
            return 0
        if count is not None and int(count) >= self.limit:
            return max(1, int(ttl))
        return 0

    def failed(self, username: str) -> int:
        """Count a failed attempt; returns the failures in the current window."""
        try:
            pipe = self.client.pipeline()
            pipe.incr(self._key(username))
            pipe.expire(self._key(username), self.lock_s, nx=True)
            count, _ = pipe.execute()
            return int(count)
        except redis.RedisError as exc:
            log.warning("lockout: redis unavailable (%s); failure not counted", exc)
            return 0

    def succeeded(self, username: str) -> None:
        try:
            self.client.delete(self._key(username))
        except redis.RedisError as exc:
            log.warning("lockout: redis unavailable (%s)", exc)
