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

Layout: docstring of ``queries.position_store``. Readers: ``queries.worker_view``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .position_store import PositionStore, epoch_ms
from .worker_layer import MAX_AGE, STALE_AFTER

_MS = timedelta(milliseconds=1)

# KEYS: seq, floor, log, at, chg, gchg, tick. ARGV: since, now_ms (0: no tick), stale_ms,
# max_age_ms. Returns {seq, floor, tick, changed ids or false}.
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
local ids = false
if since >= floor and since <= seq then
  ids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
end
return {seq, floor, tick or 0, ids}
"""


@dataclass(frozen=True)
class Changes:
    """The log read at one moment: ``seq`` now, ``floor`` (older cursors are unknown),
    ``tick_ms`` (the readers' latest "now", ms since the epoch; 0 before the first tick) and
    ``ids``: the staff ids changed since the cursor asked for, None when it was too old or
    unknown."""

    seq: int
    floor: int
    tick_ms: int
    ids: list[int] | None


def advance(
    store: PositionStore, since: int, now: datetime | None, *, grid_level: bool = False
) -> Changes:
    """Move the tick to ``now`` (if later; None: leave it) and read the workers changed since
    ``since``: every write (``grid_level`` False) or only writes and crossings that may change
    a per-grid count. One Redis call; raises redis.RedisError."""
    keys = [
        store.seq_key,
        store.floor_key,
        store.gchg_key if grid_level else store.chg_key,
        store.at_key,
        store.chg_key,
        store.gchg_key,
        store.tick_key,
    ]
    args = [
        int(since),
        epoch_ms(now) if now is not None else 0,
        STALE_AFTER // _MS,
        MAX_AGE // _MS,
    ]
    script = store.client.register_script(_ADVANCE_LUA)
    seq, floor, tick, ids = script(keys=keys, args=args)
    return Changes(
        int(seq),
        int(floor),
        int(tick),
        None if not isinstance(ids, list) else [int(i) for i in ids],
    )


def changed_since(
    store: PositionStore, since: int, *, grid_level: bool = False
) -> tuple[int, list[int] | None]:
    """(the current seq, the staff ids changed since ``since`` — None when ``since`` is too old
    or unknown: send everything). Reads only; see ``advance`` for the tick."""
    got = advance(store, since, None, grid_level=grid_level)
    return got.seq, got.ids
