"""What the wall feeds keep (queries/feed.py serves them): a panel request (``FeedSpec``), one
computed answer (``Entry``: the gzip body, its ETag, version and age), what to answer
(``Served``) and the per-process LRU of the last entry of each slot (``Memo``)."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from .cache import encode
from .scope import Scope

# A slot's entry lives this long in Redis by default: a day of last good answers.
KEEP_S = 24 * 3600
# The per-process memo: the panels every screen asks for (a few per jurisdiction and
# options), and a small shelf for short-lived slots (see Memo).
MEMO_ENTRIES = 512
MEMO_BYTES = 32 * 1024 * 1024
SHORT_ENTRIES = 48
SHORT_BYTES = 4 * 1024 * 1024
GZIP_LEVEL = 6

# compute(conn, now) -> the panel's display-ready data (JSON-serialisable), at ``now``.
Compute = Callable[[psycopg.Connection, datetime], Any]


@dataclass(frozen=True)
class FeedSpec:
    """One panel request: ``params`` are canonical (parsed options, access flags, ...) and,
    with ``panel`` and ``scope``, name the slot; ``compute`` runs in that scope. ``keep_s``:
    how long Redis keeps the slot's entry (it is also the last good answer during an outage;
    short for slots that a cursor makes many of, such as the worker delta's ``since``)."""

    panel: str
    scope: Scope
    params: Mapping[str, Any]
    period_s: int
    compute: Compute
    keep_s: int = KEEP_S
    # A slot whose entry may stand in, marked stale, while this one has none and cannot be
    # computed (the worker delta's full answer for a cursor seen for the first time during an
    # outage: a full answer is right for any cursor).
    fallback_params: Mapping[str, Any] | None = None

    @property
    def short_lived(self) -> bool:
        """A slot that a cursor makes many of (kept for less than the default in Redis)."""
        return self.keep_s < KEEP_S

    @property
    def min_age_s(self) -> float:
        """How long an entry is served even after the data version moved: an eighth of the
        period bounds the recomputations when the simulator or the API writes every second,
        and with the wall polling at 0.65 of the period (assets/30_wall.js) a write still
        reaches every screen within one period."""
        return max(1.0, self.period_s / 8)

    @property
    def max_age_s(self) -> float:
        """How long an entry of the current version is served: half a period, so that a
        screen polling once a period never holds data older than 1.5 periods (its stale mark
        comes at 2)."""
        return max(self.min_age_s, self.period_s / 2)


class Entry:
    """A slot's computed answer: ``gz`` is the gzip of the JSON body {"panel", "as_of_ms",
    "period_s", "version", "stale": false, "data"}; ``etag`` digests the slot and the data
    (not the time), so an unchanged recomputation still answers 304; ``born`` is when it was
    computed, on this process's monotonic clock."""

    __slots__ = ("_stale_gz", "as_of_ms", "born", "etag", "gz", "version")

    def __init__(self, version: int, as_of_ms: int, etag: str, gz: bytes, born: float):
        self.version, self.as_of_ms, self.etag, self.gz, self.born = (
            version,
            as_of_ms,
            etag,
            gz,
            born,
        )
        self._stale_gz: bytes | None = None

    def age_s(self) -> float:
        return time.monotonic() - self.born

    def acceptable(self, version: int, spec: FeedSpec) -> bool:
        """The recompute rule (module docstring): True when this entry may be served."""
        age = self.age_s()
        return (self.version >= version and age < spec.max_age_s) or age < spec.min_age_s

    def stale_gz(self) -> bytes:
        """The body with ``"stale": true`` (built once per entry, only during an outage)."""
        if self._stale_gz is None:
            body = gzip.decompress(self.gz).replace(b'"stale":false', b'"stale":true', 1)
            self._stale_gz = gzip.compress(body, GZIP_LEVEL, mtime=0)
        return self._stale_gz

    def to_redis(self) -> bytes:
        head = orjson.dumps({"v": self.version, "as_of": self.as_of_ms, "etag": self.etag})
        return head + b"\n" + self.gz

    @classmethod
    def from_redis(cls, raw: bytes, age_s: float) -> Entry | None:
        head, sep, gz = raw.partition(b"\n")
        try:
            meta = orjson.loads(head)
            entry = cls(int(meta["v"]), int(meta["as_of"]), str(meta["etag"]), gz, 0.0)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None
        entry.born = time.monotonic() - age_s
        return entry if sep else None


def build_entry(slot: str, spec: FeedSpec, version: int, now: datetime, data: Any) -> Entry:
    """The entry of ``data`` computed at ``now`` (its as-of) on data version ``version``."""
    payload = encode(data)
    etag = hashlib.blake2b(slot.encode() + b"\0" + payload, digest_size=12).hexdigest()
    as_of_ms = int(now.timestamp() * 1000)
    head = orjson.dumps(
        {
            "panel": spec.panel,
            "as_of_ms": as_of_ms,
            "period_s": spec.period_s,
            "version": version,
            "stale": False,
        }
    )
    body = head[:-1] + b',"data":' + payload + b"}"
    return Entry(
        version, as_of_ms, etag, gzip.compress(body, GZIP_LEVEL, mtime=0), time.monotonic()
    )


@dataclass(frozen=True)
class Served:
    """What to answer: ``entry`` None means nothing at all (503); ``stale`` means PostgreSQL
    did not answer and this is the last good entry; ``degraded`` names the dependencies that
    are away right now ("postgres", "redis") for the wall's banner."""

    entry: Entry | None
    stale: bool
    degraded: tuple[str, ...]

    @property
    def etag(self) -> str:
        if self.entry is None:
            return ""
        return f"{self.entry.etag}-stale" if self.stale else self.entry.etag

    @property
    def gz(self) -> bytes:
        if self.entry is None:
            return b""
        return self.entry.stale_gz() if self.stale else self.entry.gz


class _Lru:
    """slot -> entry, least recently used dropped first past ``max_entries`` or ``max_bytes``
    (the caller holds the Memo's lock)."""

    def __init__(self, max_entries: int, max_bytes: int):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.bytes = 0

    def get(self, slot: str) -> Entry | None:
        entry = self.entries.get(slot)
        if entry is not None:
            self.entries.move_to_end(slot)
        return entry

    def put(self, slot: str, entry: Entry) -> None:
        old = self.entries.pop(slot, None)
        if old is not None:
            self.bytes -= len(old.gz)
        self.entries[slot] = entry
        self.bytes += len(entry.gz)
        while len(self.entries) > 1 and (
            len(self.entries) > self.max_entries or self.bytes > self.max_bytes
        ):
            _, evicted = self.entries.popitem(last=False)
            self.bytes -= len(evicted.gz)


class Memo:
    """The per-process LRU of slot -> last entry, bounded in entries and bytes. Short-lived
    slots (a cursor's delta: one per data version, dead a period later) have a small shelf of
    their own, so that they neither push out the panels every screen asks for nor make the
    process grow to the main shelf's cap over the hours (the 200-screen soak, issue #10)."""

    def __init__(
        self,
        max_entries: int = MEMO_ENTRIES,
        max_bytes: int = MEMO_BYTES,
        short_entries: int = SHORT_ENTRIES,
        short_bytes: int = SHORT_BYTES,
    ):
        self._lock = threading.Lock()
        self._main = _Lru(max_entries, max_bytes)
        self._short = _Lru(short_entries, short_bytes)

    def get(self, slot: str) -> Entry | None:
        with self._lock:
            return self._main.get(slot) or self._short.get(slot)

    def put(self, slot: str, entry: Entry, short: bool = False) -> None:
        with self._lock:
            (self._short if short else self._main).put(slot, entry)

    def clear(self) -> None:
        with self._lock:
            for shelf in (self._main, self._short):
                shelf.entries.clear()
                shelf.bytes = 0

    def entries(self) -> list[Entry]:
        with self._lock:
            return [*self._main.entries.values(), *self._short.entries.values()]

    @property
    def bytes(self) -> int:
        return self._main.bytes + self._short.bytes

    def __len__(self) -> int:
        return len(self._main.entries) + len(self._short.entries)
