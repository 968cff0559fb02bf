"""A view of points (``queries.worker_view``, callers who may read tracks): one point per worker,
its rows kept as columns (``queries.worker_table``) in one Redis string.

Keys under the view's prefix (``queries.worker_view_keys``):

- ``meta`` — hash: fmt, seq, cur, floor, as_of, built, lon0/lat0 (as a view per grid), rows
  (the roster's size), n (the table's rows), lgen/loff (its position in the fix log,
  ``queries.position_log``);
- ``w`` — hash, staff id → "role|a1,a2": the roster (active field staff of the roles in
  scope, with or without a fix) as of the last build, written by builds only. The fix log
  names workers of the whole database; one without a row here is not the view's;
- ``st`` — string: the table (``Table.encode``), a row per worker of the roster that has
  had a fix.

A sync reads the table and the fix log since its position in the transaction that takes the
lock, re-evaluates the rows of the workers with a new fix (and those whose fix time alone
turned stale or too old: ``worker_table.crossed``) in a few array operations and writes the
table back (a few hundred kB: far cheaper than a Redis field and a Python string per
worker). The flag "outside its own grids" needs the roster and the covering grids, so it is
recomputed only for workers with a level write (``gchg``: every change of covering grids, a
first fix), whose roster rows and position values the same transaction looks up; any other
fix keeps the flag the table holds. A worker of the log without a row is not the view's,
unless it is new to the table, and then its write is a level one (a new worker). A position
the log no longer holds (an idle view, a log evicted) reads the roster and every fix afresh,
as every REFRESH_AFTER does: clients get the difference, not everything. A client at the
cursor before a sync gets what changed (``worker_table.diff``); any other cursor but the
current one gets every drawn point.

Nothing is kept in the process: a sync reads the table and writes it back under the view's
lock (``worker_view_keys.ViewLock``, taken and released in the transactions it sends anyway),
so any number of processes share one view and every cursor names one state of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import hiredis
import numpy as np
import psycopg
import redis

from .position_log import Latest, LogSlice, latest, queue_read, slice_of
from .position_store import distrust, epoch_ms, from_epoch_ms, newest_in_postgres, text
from .worker_delta import changes_of, queue_advance
from .worker_layer import MAX_WORKERS, roster_in_scope, scope_corner
from .worker_points import DRAWN, origin_of
from .worker_table import (
    Fixes,
    Table,
    crossed,
    diff,
    drawn,
    evaluate,
    judge,
    locate,
    outside_of,
    parse_fixes,
    role_indexes,
    with_rows,
)
from .worker_view_keys import REFRESH_AFTER_MS, VIEW_FORMAT, VIEW_TTL_MS, ViewLock
from .worker_view_read import Step, ViewRead, view_read

if TYPE_CHECKING:  # the view imports this module: the type only, at check time
    from datetime import datetime

    from .worker_view import WorkerView

log = logging.getLogger(__name__)

# KEYS: a view's meta, gchg, the positions' hash, the view's roster. ARGV: the most workers to
# look up. The workers with a write since the view's seq that may change more than their
# point (``gchg``: other covering grids, a first fix, ...), with the position value and
# roster row of each: {ids, values, rows}; false when there are more (the sync reads those
# itself: a thousand lookups keep Redis busy for a while) or the view has no seq.
_LEVEL_LUA = """
local since = redis.call('HGET', KEYS[1], 'seq')
if not since then return false end
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, '+inf')
if #ids > tonumber(ARGV[1]) then return false end
if #ids == 0 then return {{}, {}, {}} end
return {ids, redis.call('HMGET', KEYS[3], unpack(ids)), redis.call('HMGET', KEYS[4], unpack(ids))}
"""
_LEVEL_MAX = 1000


def sync_points(
    view: WorkerView, conn: psycopg.Connection, now: datetime, *, verify: bool = True
) -> Step | None:
    """``WorkerView.sync`` for a view of points (the positions verified): the lock, the view,
    the tick and the fixes written since the view's last sync (``queries.position_log``) in
    one transaction; the roster rows and covering grids of the few workers that need them
    in a second call (only when there are any); the table, the view's position in the log
    and the lock's release in a third. None when there was nothing to do, another updater
    kept the lock, or the positions are being primed. ``verify``: check the positions
    (``PositionStore.verify``) with the view's transaction, priming them first if need be."""
    lock = ViewLock(view.client, view.k_lock)
    newest = newest_in_postgres(conn) if verify else None  # first: see newest_in_postgres

    def reads(pipe: redis.client.Pipeline) -> None:
        pipe.mget(view.store.primed_key, view.store.mark_key)
        pipe.hgetall(view.k_meta)
        pipe.hlen(view.k_w)
        pipe.get(view.k_st)
        queue_advance(pipe, view.store, view.k_meta, now, ids=False)
        queue_read(pipe, view.k_meta, view.store.log_key, view.store.prev_log_key)
        keys = (view.k_meta, view.store.gchg_key, view.store.hash_key, view.k_w)
        pipe.eval(_LEVEL_LUA, len(keys), *keys, _LEVEL_MAX)

    got = lock.take_with(reads)
    if got is None:
        return None
    marks, raw, rows, st, reply, read, level = got
    if verify and distrust(newest, *marks) is not None:
        lock.release()
        if not view.store.trusts(conn, newest, *marks):
            return None
        return sync_points(view, conn, now, verify=False)
    try:
        meta = {text(k): text(v) for k, v in raw.items()}
        table = Table.decode(st) if st is not None else None
        valid = (
            meta.get("fmt") == str(VIEW_FORMAT)
            and table is not None
            and rows == int(meta.get("rows", -1))
            and len(table) == int(meta.get("n", -1))
        )
        changes = changes_of(reply)
        tail = slice_of(read)
        at = from_epoch_ms(changes.tick_ms)
        if not valid or table is None or changes.text is None or changes.since > changes.seq:
            return _build(view, lock, conn, at, changes.seq, tail, None, None)
        # A position the log no longer holds (an idle view, an evicted log): read afresh.
        if epoch_ms(at) - int(meta["built"]) >= REFRESH_AFTER_MS or tail.data is None:
            return _build(view, lock, conn, at, changes.seq, tail, meta, table)
        if tail.data or changes.since != changes.seq or epoch_ms(at) != int(meta["as_of"]):
            return _update(
                view, lock, meta, table, changes.seq, tail, latest(tail.data), _looked(level), at
            )
        return None
    finally:
        lock.release()  # when no write released it


def read_points(view: WorkerView, since: int) -> ViewRead | None:
    """Nothing for a client at the current cursor, every drawn point for any other; None
    when there is no view."""
    pipe = view.client.pipeline(transaction=True)
    pipe.hgetall(view.k_meta)
    pipe.get(view.k_st)
    raw_meta, st = pipe.execute()
    table = Table.decode(st) if st is not None else None
    if not raw_meta or table is None:
        return None
    meta = {text(k): text(v) for k, v in raw_meta.items()}
    cur, origin = int(meta["cur"]), (float(meta["lon0"]), float(meta["lat0"]))
    totals = table.totals()
    if 0 < since == cur:
        none = drawn(table.take(np.zeros(0, dtype=np.int64)))
        return view_read(False, cur, meta, origin, {}, totals, totals[DRAWN], none)
    return view_read(True, cur, meta, origin, {}, totals, totals[DRAWN], drawn(table))


def _build(
    view: WorkerView,
    lock: ViewLock,
    conn: psycopg.Connection,
    at: datetime,
    seq: int,
    tail: LogSlice,
    meta: dict[str, str] | None,
    old: Table | None,
) -> Step | None:
    """Every worker of the roster evaluated afresh; ``meta`` and ``old`` given: compared
    with the view (a refresh), else a new view whose floor jumps past every cursor handed
    out before. ``tail``: the end of the fix log when the view's transaction read it; fixes
    written since (read here too) are read again by the next sync: the last record of a
    worker is its value in the hash."""
    pipe = view.client.pipeline(transaction=False)
    pipe.get(view.store.primed_key)
    pipe.hgetall(view.store.hash_key)
    primed, held = pipe.execute()
    if not primed:  # another process is priming the positions: keep the view as it is
        return None
    roster = roster_in_scope(conn, view.scope, at, view.roles)
    with_fix = sorted(sid for sid in roster if str(sid).encode() in held)
    values = [held[str(sid).encode()] for sid in with_fix]
    fixes = parse_fixes(values)
    if meta is not None:
        origin = (float(meta["lon0"]), float(meta["lat0"]))
    else:
        corner = scope_corner(conn, view.scope)
        lonlat = (
            [corner] if corner else list(zip(fixes.lon.tolist(), fixes.lat.tolist(), strict=True))
        )
        origin = origin_of(lonlat, view.crs)
    sids = np.array(with_fix, dtype=np.int64)
    table = with_rows(Table.empty(), sids, role_indexes(roster[s][0] for s in with_fix))
    outside = np.array(
        [outside_of(roster[s][1], fixes.grid(i)) for i, s in enumerate(with_fix)],
        dtype=np.int8,
    )
    evaluate(table, np.arange(len(table)), fixes, outside, epoch_ms(at), origin, view.crs)
    totals = table.totals()
    if totals["truncated"]:
        log.warning("worker view: %d workers over the cap of %d", totals["truncated"], MAX_WORKERS)
    rows = {str(sid): f"{role}|{','.join(assigned)}" for sid, (role, assigned) in roster.items()}
    pipe = view.client.pipeline(transaction=True)
    if meta is None or old is None:
        secs, micros = view.client.time()
        prev = int(view.client.hget(view.k_meta, "cur") or 0)
        before, cur = None, max(prev + 1, secs * 1000 + micros // 1000)
        floor, cols = cur, drawn(table)
        pipe.delete(*view.keys)
    else:
        before, floor = int(meta["cur"]), int(meta["floor"])
        cols = diff(old, table)
        cur = before + (1 if len(cols) else 0)
        pipe.delete(view.k_w)
    items = list(rows.items())
    for i in range(0, len(items), 1000):
        pipe.hset(view.k_w, mapping=dict(items[i : i + 1000]))
    pipe.set(view.k_st, table.encode())
    mark = epoch_ms(at)
    pipe.hset(
        view.k_meta,
        mapping={
            "fmt": VIEW_FORMAT,
            "seq": seq,
            "cur": cur,
            "floor": floor,
            "as_of": mark,
            "built": mark,
            "lon0": repr(origin[0]),
            "lat0": repr(origin[1]),
            "rows": len(rows),
            "n": len(table),
            "lgen": tail.gen,
            "loff": tail.off,
        },
    )
    _expire(view, pipe)
    lock.release_with(pipe)
    got = ViewRead(before is None, cur, mark, origin, {}, totals, totals[DRAWN], cols)
    return Step(before, got)


def _update(
    view: WorkerView,
    lock: ViewLock,
    meta: dict[str, str],
    table: Table,
    seq: int,
    tail: LogSlice,
    recs: Latest,
    looked: dict[int, tuple[bytes | None, bytes | None]],
    at: datetime,
) -> Step:
    """Re-evaluate the rows of the workers with a fix in ``recs`` (``tail``: the log since the
    view's position) and the rows time alone changed, at ``at``; store the table and return what
    changed. ``looked``: (position value, roster row) of workers with a level write, as
    the view's transaction read them (``_LEVEL_LUA``)."""
    now_ms = epoch_ms(at)
    pos, found = locate(table, recs.sid)
    # A worker with a level write (``position_log``) may have other covering grids (its
    # outside flag) or be new to the table (its first fix): the roster rows and grids of
    # those are read. Any other worker without a row is not the view's.
    ask = recs.sid[recs.level].tolist()
    known = dict(looked)
    missing = [sid for sid in ask if sid not in known]
    if missing:  # more than the transaction looked up
        fields = [str(i).encode() for i in missing]
        values, rows = _hmget(view.client, [(view.store.hash_key, fields), (view.k_w, fields)])
        known |= zip(missing, zip(values, rows, strict=True), strict=True)
    roster: dict[int, tuple[str, tuple[str, ...]]] = {}
    grids: dict[int, bytes] = {}
    for sid in ask:
        value, row = known[sid]
        if row and value is not None:
            roster[sid], grids[sid] = _roster_row(row), value.split(b"|", 4)[4]
    joining = [sid for sid in recs.sid[~found & recs.level].tolist() if sid in roster]
    if joining:
        new = with_rows(
            table, np.array(joining, dtype=np.int64), role_indexes(roster[s][0] for s in joining)
        )
        pos, found = locate(new, recs.sid)
    else:
        new = Table(**{k: v.copy() for k, v in vars(table).items()})
    fixed = np.flatnonzero(found)
    rows_at = pos[fixed]
    outside = new.outside[rows_at].copy()
    if roster:
        sids = recs.sid[fixed]
        for j in np.flatnonzero(np.isin(sids, np.fromiter(roster, dtype=np.int64))).tolist():
            sid = int(sids[j])
            outside[j] = outside_of(roster[sid][1], grids[sid])
    fixes = Fixes(recs.at[fixed], recs.lon[fixed], recs.lat[fixed], recs.duty[fixed], [])
    origin = (float(meta["lon0"]), float(meta["lat0"]))
    # Rows time alone changed first: one hidden as too old makes room under the cap.
    aged = np.zeros(len(new), dtype=bool)
    aged[crossed(new, int(meta["as_of"]), now_ms)] = True
    aged[rows_at] = False  # evaluated below with their new fix
    judge(new, np.flatnonzero(aged), now_ms)
    evaluate(new, rows_at, fixes, outside, now_ms, origin, view.crs)
    cols = diff(table, new)
    before = int(meta["cur"])
    cur = before + (1 if len(cols) else 0)
    pipe = view.client.pipeline(transaction=True)
    pipe.set(view.k_st, new.encode(), px=VIEW_TTL_MS)
    pipe.hset(
        view.k_meta,
        mapping={
            "seq": seq,
            "cur": cur,
            "as_of": now_ms,
            "n": len(new),
            "lgen": tail.gen,
            "loff": tail.off,
        },
    )
    pipe.pexpire(view.k_meta, VIEW_TTL_MS)
    pipe.pexpire(view.k_w, VIEW_TTL_MS)
    lock.release_with(pipe)
    totals = new.totals()
    return Step(before, ViewRead(False, cur, now_ms, origin, {}, totals, totals[DRAWN], cols))


def _hmget(
    client: redis.Redis, requests: list[tuple[str, list[bytes]]]
) -> list[list[bytes | None]]:
    """HMGET of each (key, fields) of ``requests``, in one round trip. Thousands of fields
    are packed by hiredis in one call each and sent on a connection of the pool: redis-py's
    own packing looks at every argument in Python first, which costs more than Redis takes
    to answer."""
    asked = [(b"HMGET", key.encode(), *fields) for key, fields in requests if fields]
    got: list[list[bytes | None]] = []
    if asked:
        packed = [hiredis.pack_command(command) for command in asked]  # type: ignore[arg-type]
        pool = client.connection_pool
        try:
            conn = pool.get_connection()
        except TypeError:  # redis-py before 5.3 wants the command's name
            conn = pool.get_connection("HMGET")
        try:
            conn.send_packed_command(packed)
            got = [conn.read_response() for _ in asked]
        except BaseException:
            conn.disconnect()  # a reply half read must not reach the next user
            raise
        finally:
            pool.release(conn)
    replies = iter(got)
    out = [next(replies) if fields else [] for _, fields in requests]
    for (key, fields), reply in zip(requests, out, strict=True):
        if not isinstance(reply, list) or len(reply) != len(fields):
            raise redis.ResponseError(f"HMGET {key}: unexpected reply {type(reply).__name__}")
    return out


def _looked(reply: list | None) -> dict[int, tuple[bytes | None, bytes | None]]:
    """{staff id: (position value, roster row)} of ``_LEVEL_LUA``'s reply."""
    if not reply:
        return {}
    ids, values, rows = reply
    return {int(i): vr for i, vr in zip(ids, zip(values, rows, strict=True), strict=True)}


def _roster_row(raw: bytes | str) -> tuple[str, tuple[str, ...]]:
    """(role, assigned grid codes) of a ``w`` row."""
    role, assigned = text(raw).split("|", 1)
    return role, tuple(assigned.split(",")) if assigned else ()


def _expire(view: WorkerView, pipe: redis.client.Pipeline) -> None:
    for k in (view.k_meta, view.k_w, view.k_st):
        pipe.pexpire(k, VIEW_TTL_MS)
