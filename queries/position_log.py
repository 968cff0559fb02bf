"""The fix log: every fix written to Redis (``PositionStore.put``) as a fixed-size binary
record appended to one string, so that a view of points (``queries.worker_view_points``)
reads the fixes written since its last sync in the call that takes its lock (one GETRANGE)
and decodes them with one ``numpy.frombuffer`` — not the staff ids from the change log, then
thousands of hash fields, then their text parsed.

Keys under ``gs:v1:<ns>:pos:`` (``queries.position_store``): ``flog``, the current generation,
and ``fprev``, the one before. A generation starts with a header of RECORD_BYTES (the seqs
of the writes that opened it and the generation before, 0 when there was none, as
``%020d%020d``: a name no other generation has in this timeline, and the proof that ``fprev``
is the generation just before) and holds records of RECORD dtype: staff id, fix time (ms),
WGS84 lon/lat (the same doubles as the hash's text), duty (1/0) and ``level`` (1: the write
may change what the map shows beyond the point — a new worker, other covering grids or duty,
a stale fix fresh again: the ``gchg`` of ``queries.worker_delta``). The put script writes a
record for each field it writes, in the same call, so the last record of a staff id is the
hash's value.

When a write would take ``flog`` past LOG_CAP bytes, ``flog`` becomes ``fprev`` (the old
``fprev`` is dropped) and a new generation starts: a reader positioned in either generation
reads on; one further back (idle for two generations: minutes at 5,000 workers) gets no
records and evaluates its workers afresh. A reader's position is (header, byte offset) of a
generation; anything it cannot find — no log, another timeline (a restored snapshot,
``clear``), a log evicted — reads as "unknown" (``LogSlice.data`` None), never as records of
another generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import redis
from numpy.typing import NDArray

# What Python packs for each fix (``pack``): the put script adds the level byte and padding.
_PACKED = np.dtype([("sid", "<i8"), ("at", "<i8"), ("lon", "<f8"), ("lat", "<f8"), ("duty", "i1")])
RECORD = np.dtype(
    [
        ("sid", "<i8"),
        ("at", "<i8"),
        ("lon", "<f8"),
        ("lat", "<f8"),
        ("duty", "i1"),
        ("level", "i1"),
        ("pad", "V6"),
    ]
)
RECORD_BYTES = RECORD.itemsize  # 40; also the header's length
PACKED_BYTES = _PACKED.itemsize  # 33
LOG_CAP = 4 * 1024 * 1024  # bytes per generation: ~100,000 fixes

# The put script's part (``queries.position_store``): ``log_record(i, level)`` is fix i's
# record (0-based) from ARGV[2] (``pack``); ``log_append(seq, records)`` appends them,
# opening a new generation when there is none or the current one would pass the cap (ARGV[3]).
# KEYS[8], KEYS[9]: flog, fprev.
PUT_LOG_LUA = """
local LEVEL = {[true] = '\\1\\0\\0\\0\\0\\0\\0', [false] = '\\0\\0\\0\\0\\0\\0\\0'}
local function log_record(i, level)
  local at = i * PACKED
  return string.sub(ARGV[2], at + 1, at + PACKED) .. LEVEL[level]
end
local function log_append(seq, records)
  if #records == 0 then return end
  local data = table.concat(records)
  local len = redis.call('STRLEN', KEYS[8])
  if len == 0 or len + #data > tonumber(ARGV[3]) then
    local prev = 0
    if len > 0 then
      prev = tonumber(redis.call('GETRANGE', KEYS[8], 0, 19))
      redis.call('RENAME', KEYS[8], KEYS[9])
    end
    redis.call('SET', KEYS[8], string.format('%020d%020d', seq, prev))
  end
  redis.call('APPEND', KEYS[8], data)
end
""".replace("PACKED", str(PACKED_BYTES))

# KEYS: a hash holding the reader's position (fields lgen, loff), flog, fprev. Returns {the
# current generation's header ('' without a log), its length, the records since the position
# (false when the position is unknown)}. A position in ``fprev`` reads its rest and all of
# ``flog``. Without a log every position is unknown: a log written and lost between two reads
# must not pass for no writes.
_READ_LUA = """
local R = RECORD
local gen = redis.call('HGET', KEYS[1], 'lgen')
local off = tonumber(redis.call('HGET', KEYS[1], 'loff') or '')
local head = redis.call('GETRANGE', KEYS[2], 0, R - 1)
local len = redis.call('STRLEN', KEYS[2])
local data = false
if gen and off then
  if gen == head and head ~= '' and off >= R and off <= len then
    data = redis.call('GETRANGE', KEYS[2], off, -1)
  elseif head ~= '' and gen == redis.call('GETRANGE', KEYS[3], 0, R - 1)
      and string.sub(head, 21, 40) == string.sub(gen, 1, 20)
      and off >= R and off <= redis.call('STRLEN', KEYS[3]) then
    data = redis.call('GETRANGE', KEYS[3], off, -1) .. redis.call('GETRANGE', KEYS[2], R, -1)
  end
end
return {head, len, data}
""".replace("RECORD", str(RECORD_BYTES))


def pack(fixes: Sequence[tuple[int, int, float, float, bool]]) -> bytes:
    """The packed part of the record of each fix (staff id, fix time ms, lon, lat, duty), in
    order: the put script's ARGV[2]."""
    return np.array(fixes, dtype=_PACKED).tobytes()


@dataclass(frozen=True)
class LogSlice:
    """A read of the log: the position after it (``gen``, ``off``: what a reader stores) and
    the records since the reader's position (None: unknown — read everything afresh)."""

    gen: bytes
    off: int
    data: bytes | None


def queue_read(pipe: redis.client.Pipeline, position_key: str, log_key: str, prev_key: str) -> None:
    """Queue the read of the records since the position held in ``position_key`` (a hash
    with fields lgen, loff); its reply: ``slice_of``."""
    # EVAL, not a registered script: see worker_delta.queue_advance.
    pipe.eval(_READ_LUA, 3, position_key, log_key, prev_key)


def slice_of(reply: list) -> LogSlice:
    head, length, data = reply
    return LogSlice(head or b"", int(length), data if isinstance(data, bytes) else None)


@dataclass(frozen=True)
class Latest:
    """The last record of each staff id in a slice, staff ids ascending; ``level`` is 1 when
    any of the id's records had it (a later write with the same grids does not undo a
    change of grids the reader has not seen)."""

    sid: NDArray[np.int64]
    at: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    duty: NDArray[np.bool_]
    level: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.sid)


def latest(data: bytes) -> Latest:
    """The records of ``data`` (``LogSlice.data``) reduced to the last one per staff id.
    Raises ValueError when it is not a whole number of records."""
    if len(data) % RECORD_BYTES:
        raise ValueError(f"fix log: {len(data)} bytes is not a whole number of records")
    recs = np.frombuffer(data, dtype=RECORD)
    # Columns first: taking rows of a packed record array costs ten times more.
    ids, level = recs["sid"].astype(np.int64), recs["level"] != 0
    top = int(ids.max()) if len(ids) else -1
    if int(ids.min(initial=0)) >= 0 and top < 8 * len(ids) + 65_536:  # a dense index
        index = np.full(top + 1, -1, dtype=np.int64)
        np.maximum.at(index, ids, np.arange(len(ids)))  # the last record of each id
        sids = np.flatnonzero(index >= 0)
        last = index[sids]
        flagged = np.zeros(top + 1, dtype=bool)
        flagged[ids[level]] = True
        any_level = flagged[sids]
    else:
        back = ids[::-1]  # np.unique keeps the first of equal ids: the last written
        sids, first = np.unique(back, return_index=True)
        last = len(ids) - 1 - first
        any_level = np.isin(sids, ids[level])
    return Latest(
        sids.astype(np.int64),
        recs["at"].astype(np.int64)[last],
        recs["lon"].astype(np.float64)[last],
        recs["lat"].astype(np.float64)[last],
        recs["duty"][last] != 0,
        any_level,
    )
