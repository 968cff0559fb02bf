"""A view of points (``queries.worker_view``, callers who may read tracks): one point per worker,
its rows kept as columns (``queries.worker_table``) in one Redis string.

Keys under the view's prefix (``queries.worker_view_keys``):

- ``meta`` — hash: fmt, seq, cur, floor, as_of, built, lon0/lat0 (as a view per grid), rows
  (the roster's size) and n (the table's rows);
- ``w`` — hash, staff id → "role|a1,a2": the roster (active field staff of the roles in
  scope, with or without a fix) as of the last build, written by builds only. The change
  log names workers of the whole database; one without a row here is not the view's;
- ``st`` — string: the table (``Table.encode``), a row per worker of the roster that has
  had a fix.

A sync reads the table, re-evaluates the rows of the workers in the change log in a few array
operations and writes the table back (a few hundred kB: far cheaper than a Redis field and a
Python string per worker). The flag "outside its own grids" needs the roster, so it is
recomputed only for workers whose covering grids may have changed (``gchg``, whose writes
include every change of covering grids) and for workers new to the table; any other fix
keeps the flag the table holds. Fixes are read for the table's workers only: a worker of the
change log without a row is not the view's, unless it is new to the table, and then its
write is in ``gchg`` too (a new worker) — a view of one community reads its own workers'
fixes, not the city's. Every REFRESH_AFTER the roster is read again and every row
evaluated afresh; clients get the difference, not everything. A client at the cursor before
a sync gets what changed (``worker_table.diff``); any other cursor but the current one gets
every drawn point.

Nothing is kept in the process: a sync reads the table and writes it back under the view's
lock (``worker_view_keys.ViewLock``, taken and released in the transactions it sends anyway),
so any number of processes share one view and every cursor names one state of it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

import hiredis
import numpy as np
import psycopg
import redis
from numpy.typing import NDArray

from .position_store import epoch_ms, from_epoch_ms, text
from .worker_delta import Changes, changes_of, logged, queue_advance, queue_log
from .worker_layer import MAX_WORKERS, roster_in_scope, scope_corner
from .worker_points import DRAWN, origin_of
from .worker_table import (
    Fixes,
    Table,
    diff,
    drawn,
    evaluate,
    forget,
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


def sync_points(view: WorkerView, conn: psycopg.Connection, now: datetime) -> Step | None:
    """``WorkerView.sync`` for a view of points (the positions verified): the lock, the view
    and the tick in one transaction, the change log since the view's cursor in a second
    call, the fixes in a third, the table and the lock's release in a fourth. None when
    there was nothing to do, another updater kept the lock, or the positions are being
    primed."""
    lock = ViewLock(view.client, view.k_lock)

    def reads(pipe: redis.client.Pipeline) -> None:
        pipe.hgetall(view.k_meta)
        pipe.hlen(view.k_w)
        pipe.get(view.k_st)
        queue_advance(pipe, view.store, view.k_meta, now, ids=False)

    got = lock.take_with(reads)
    if got is None:
        return None
    raw, rows, st, reply = got
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
        at = from_epoch_ms(changes.tick_ms)
        if not valid or table is None or changes.text is None or changes.since > changes.seq:
            return _build(view, lock, conn, at, changes.seq, None, None)
        if epoch_ms(at) - int(meta["built"]) >= REFRESH_AFTER_MS:
            return _build(view, lock, conn, at, changes.seq, meta, table)
        if changes.since != changes.seq:
            pipe = view.client.pipeline(transaction=False)
            queue_log(pipe, view.store, changes.since)
            changes, fields = logged(changes, pipe.execute())
            return _update(view, lock, meta, table, changes, fields, at)
        if epoch_ms(at) != int(meta["as_of"]):
            return _update(view, lock, meta, table, changes, [], at)
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
    meta: dict[str, str] | None,
    old: Table | None,
) -> Step | None:
    """Every worker of the roster evaluated afresh; ``meta`` and ``old`` given: compared
    with the view (a refresh), else a new view whose floor jumps past every cursor handed
    out before."""
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
    changes: Changes,
    fields: list[bytes],
    at: datetime,
) -> Step:
    """Re-evaluate the rows of the workers in ``changes`` (``fields``: their ids as Redis
    sent them) at ``at``, store the table and return what changed."""
    ids = changes.changed if changes.changed is not None else np.zeros(0, dtype=np.int64)
    pos, found = locate(table, ids)
    level = np.isin(ids, changes.level if changes.level is not None else [])
    # A worker without a row is either not the view's or new to the table: its first fix
    # (``gchg`` logs every new worker). Rows of the roster are read for those, and for
    # workers whose covering grids may have changed.
    joins = ~found & level
    wanted = found | joins
    if not wanted.all():
        fields = [fields[i] for i in np.flatnonzero(wanted).tolist()]
    need = ids[level]
    values, rows = _hmget(
        view.client,
        [(view.store.hash_key, fields), (view.k_w, [str(i).encode() for i in need.tolist()])],
    )
    roster = {sid: _roster_row(raw) for sid, raw in zip(need.tolist(), rows, strict=True) if raw}
    ids = ids[wanted]
    joining = [sid for sid in ids[~found[wanted]].tolist() if sid in roster]
    if joining:
        table = with_rows(
            table, np.array(joining, dtype=np.int64), role_indexes(roster[s][0] for s in joining)
        )
    pos, found = locate(table, ids) if joining else (pos[wanted], found[wanted])
    present = (
        np.array([v is not None for v in values], dtype=bool)
        if None in values
        else np.ones(len(values), dtype=bool)
    )
    fixed = np.flatnonzero(found & present)
    # Every value of a row in ``fixed`` is present (``present``).
    picked = values if len(fixed) == len(values) else [values[i] for i in fixed.tolist()]
    fixes = parse_fixes(cast("list[bytes]", picked))
    outside = _outside(table, pos[fixed], ids[fixed], fixes, roster)
    new = Table(**{k: v.copy() for k, v in vars(table).items()})
    origin = (float(meta["lon0"]), float(meta["lat0"]))
    evaluate(new, pos[fixed], fixes, outside, epoch_ms(at), origin, view.crs)
    forget(new, pos[np.flatnonzero(found & ~present)])
    cols = diff(table, new)
    before = int(meta["cur"])
    cur = before + (1 if len(cols) else 0)
    mark = epoch_ms(at)
    pipe = view.client.pipeline(transaction=True)
    pipe.set(view.k_st, new.encode(), px=VIEW_TTL_MS)
    pipe.hset(
        view.k_meta,
        mapping={"seq": changes.seq, "cur": cur, "as_of": mark, "n": len(new)},
    )
    pipe.pexpire(view.k_meta, VIEW_TTL_MS)
    pipe.pexpire(view.k_w, VIEW_TTL_MS)
    lock.release_with(pipe)
    totals = new.totals()
    return Step(before, ViewRead(False, cur, mark, origin, {}, totals, totals[DRAWN], cols))


def _outside(
    table: Table,
    rows: NDArray[np.int64],
    sids: NDArray[np.int64],
    fixes: Fixes,
    roster: dict[int, tuple[str, tuple[str, ...]]],
) -> NDArray[np.int8]:
    """The outside flag of each fix: the table's, or recomputed where ``roster`` (workers
    new to the table or whose covering grids may have changed) has the worker's grids."""
    out = table.outside[rows].copy()
    if roster:
        for j in np.flatnonzero(np.isin(sids, np.fromiter(roster, dtype=np.int64))).tolist():
            out[j] = outside_of(roster[int(sids[j])][1], fixes.grid(j))
    return out


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


def _roster_row(raw: bytes | str) -> tuple[str, tuple[str, ...]]:
    """(role, assigned grid codes) of a ``w`` row."""
    role, assigned = text(raw).split("|", 1)
    return role, tuple(assigned.split(",")) if assigned else ()


def _expire(view: WorkerView, pipe: redis.client.Pipeline) -> None:
    for k in (view.k_meta, view.k_w, view.k_st):
        pipe.pexpire(k, VIEW_TTL_MS)
