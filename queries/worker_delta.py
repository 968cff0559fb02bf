"""The change log of worker positions in Redis: which workers changed since a seq.

Every position write (``PositionStore.put``, the ingest path's ``record_positions``) moves the
namespace's ``seq`` by one and scores each written staff id with it in two sorted sets: ``chg``
(every write: a precise point moved) and ``gchg`` (writes that may change what a per-grid count
shows: a new worker, other covering grids, other duty flag, a stale fix that is fresh again).
A sorted set holds each staff id once, with the seq of its last change, so it never grows past
the number of workers and needs no trimming: ``ZRANGEBYSCORE (since, +inf]`` is the set of
workers changed since ``since``. A priming (``PositionStore.resync``) makes the seq jump and
sets ``floor``: a cursor below it is too old (its changes were not all logged), one above the
seq is unknown (a restored snapshot) — both mean "send everything".

Time changes the map without any write: a fix turns stale ten minutes after it was taken and
disappears after MAX_AGE. ``advance`` moves the namespace's ``tick`` (the readers' "now", never
backwards) and logs, as changes of their own, the workers whose fix crossed one of those ages
between the previous tick and the new one (``at`` scores each staff id by its fix time).

Layout: docstring of ``queries.position_store``. Readers: ``queries.worker_view`` and
``queries.worker_view_points``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import redis
from numpy.typing import NDArray

from .position_store import PositionStore, epoch_ms
from .worker_layer import MAX_AGE, STALE_AFTER

_MS = timedelta(milliseconds=1)

# KEYS: seq, floor, log, at, chg, gchg, tick [, a hash whose field "seq" is the cursor]. ARGV:
# since (ignored with the hash: a missing field reads as -1, i.e. unknown), now_ms (0: no
# tick), stale_ms, max_age_ms, "1" to read gchg too, "0" to read no ids at all. Returns {seq,
# floor, tick, changed ids or false, gchg ids or false, since}, ids joined by commas: one bulk
# reply, parsed in one C call (without ids: "" for a cursor in range). Thousands of ids cost a
# millisecond in Lua (each becomes a Lua string).
_ADVANCE_LUA = """
local function zadd_all(key, score, ids)
  for i = 1, #ids, 500 do
    local args = {}
    for j = i, math.min(i + 499, #ids) do
      args[#args + 1] = score
      args[#args + 1] = ids[j]
    end
    redis.call('ZADD', key, unpack(args))
  end
end
local now = tonumber(ARGV[2])
local tick = tonumber(redis.call('GET', KEYS[7]) or '')
if now > 0 and (tick == nil or now > tick) then
  if tick ~= nil then
    local crossed, seen = {}, {}
    for _, age in ipairs({tonumber(ARGV[3]), tonumber(ARGV[4])}) do
      local lo = string.format('%d', tick - age)
      local hi = string.format('%d', now - age)
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], lo, hi)) do
        if not seen[id] then
          seen[id] = true
          crossed[#crossed + 1] = id
        end
      end
    end
    if #crossed > 0 then
      local seq = redis.call('INCR', KEYS[1])
      zadd_all(KEYS[5], seq, crossed)
      zadd_all(KEYS[6], seq, crossed)
    end
  end
  tick = now
  redis.call('SET', KEYS[7], string.format('%d', now))
end
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[1])
if KEYS[8] then since = tonumber(redis.call('HGET', KEYS[8], 'seq') or '-1') or -1 end
local ids, level = false, false
if since >= floor and since <= seq and ARGV[6] == '0' then
  ids = ''
elseif since >= floor and since <= seq then
  local after = '(' .. string.format('%d', since)
  ids = table.concat(redis.call('ZRANGEBYSCORE', KEYS[3], after, '+inf'), ',')
  if ARGV[5] == '1' then
    level = table.concat(redis.call('ZRANGEBYSCORE', KEYS[6], after, '+inf'), ',')
  end
end
return {seq, floor, tick or 0, ids, level, since}
"""


@dataclass(frozen=True)
class Changes:
    """The log read at one moment: ``seq`` now, ``floor`` (older cursors are unknown),
    ``tick_ms`` (the readers' latest "now", ms since the epoch; 0 before the first tick),
    ``since`` (the cursor read from), ``text``: the staff ids changed since then as Redis
    sent them (comma-separated, in the log's order), None when ``since`` was too old or
    unknown, and (asked for with ``level``) ``level``: the staff ids with a write since then
    that may change a per-grid count (``gchg``: other covering grids or duty flag, a new
    worker, a stale fix fresh again, a crossing)."""

    seq: int
    floor: int
    tick_ms: int
    since: int
    text: bytes | None
    level: NDArray[np.int64] | None = None

    @property
    def changed(self) -> NDArray[np.int64] | None:
        """The changed staff ids as an array."""
        return _ids(self.text)

    @property
    def ids(self) -> list[int] | None:
        """The changed staff ids as a list."""
        got = _ids(self.text)
        return None if got is None else got.tolist()


def advance(
    store: PositionStore,
    since: int,
    now: datetime | None,
    *,
    grid_level: bool = False,
    level: bool = False,
) -> Changes:
    """Move the tick to ``now`` (if later; None: leave it) and read the workers changed since
    ``since``: every write (``grid_level`` False) or only writes and crossings that may change
    a per-grid count; with ``level``, the latter too (``Changes.level``). One Redis call;
    raises redis.RedisError."""
    pipe = store.client.pipeline(transaction=False)
    queue_advance(pipe, store, since, now, grid_level=grid_level, level=level)
    return changes_of(pipe.execute()[0])


def queue_advance(
    pipe: redis.client.Pipeline,
    store: PositionStore,
    since: int | str,
    now: datetime | None,
    *,
    grid_level: bool = False,
    level: bool = False,
    ids: bool = True,
) -> None:
    """Queue ``advance`` on ``pipe`` (its reply: ``changes_of``); ``since`` a cursor, or the
    key of a hash whose field "seq" holds it (a view's meta, read in the same call). Without
    ``ids`` the reply's ids are b"" for a cursor in range (a view of points reads the fix
    log instead: ``queries.position_log``)."""
    keys = [
        store.seq_key,
        store.floor_key,
        store.gchg_key if grid_level else store.chg_key,
        store.at_key,
        store.chg_key,
        store.gchg_key,
        store.tick_key,
    ]
    if isinstance(since, str):
        keys.append(since)
    args = [
        since if isinstance(since, int) else -1,
        epoch_ms(now) if now is not None else 0,
        STALE_AFTER // _MS,
        MAX_AGE // _MS,
        int(level),
        int(ids),
    ]
    # EVAL, not a registered script: a pipeline checks its scripts with a round trip of its
    # own on every execute, and Redis caches the compiled body by its hash anyway.
    pipe.eval(_ADVANCE_LUA, len(keys), *keys, *args)


def changes_of(reply: list) -> Changes:
    """The Changes of an advance's reply."""
    seq, floor, tick, ids, lvl, since = reply
    text = ids if isinstance(ids, bytes) else None
    return Changes(int(seq), int(floor), int(tick), int(since), text, _ids(lvl))


def _ids(raw: bytes | int | None) -> NDArray[np.int64] | None:
    """Staff ids joined by commas (a Lua false arrives as None) as an array."""
    if not isinstance(raw, bytes):
        return None
    if not raw:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(raw, dtype=np.int64, sep=",")


def changed_since(
    store: PositionStore, since: int, *, grid_level: bool = False
) -> tuple[int, list[int] | None]:
    """(the current seq, the staff ids changed since ``since`` — None when ``since`` is too old
    or unknown: send everything). Reads only; see ``advance`` for the tick."""
    got = advance(store, since, None, grid_level=grid_level)
    return got.seq, got.ids
