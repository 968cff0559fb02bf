"""The map's worker layer kept ready in Redis for one (scope, roles, per-grid or points, display
datum): its points and counts, updated from the positions' change log (``queries.worker_delta``)
so that a refresh costs the workers that changed, not all of them.

A view of points (callers who may read tracks) keeps its rows as columns
(``queries.worker_view_points``); this module keeps a view per grid and what both share: the
keys, the lock and the check of the positions. Keys of a view per grid under
``gs:v1:<ns>:pos:view:<digest>:`` (``queries.worker_view_keys``):

- ``meta`` — hash: fmt, seq (positions seq the view has consumed), cur (its own cursor, the
  ``seq`` of the delta feed), floor (cursors below it are unknown: send everything), as_of
  (ms: the "now" its statuses hold for), built (ms: when the roster was last read), lon0/lat0
  (the origin of quantised coordinates);
- ``pts`` — hash, grid code → point string (``queries.worker_points``);
- ``chg`` — sorted set, point id → the cursor of its last change (removed points stay, so a
  client learns of the removal);
- ``w`` — hash, staff id → its roster and contribution (``worker_points.encode_worker_row``),
  for every worker of the view's roster (active field staff of the roles in scope, with or
  without a fix): what to take back out of the counts when it changes; the change log names
  workers of the whole database, and a worker without a row is not this view's;
- ``tot`` — hash of the meta counts (``worker_points.TOTALS``);
- ``anc`` — hash, grid code → "x|y|name": anchors met so far;
- ``lock`` — one updater at a time.

A view is built from every position (and the roster from PostgreSQL) when it is missing or the
positions were primed again since (then its cursor jumps past every cursor handed out before, so
no client keeps a state from another timeline); every REFRESH_AFTER it is rebuilt the same way
but compared with what it held, so roster changes (assignments, staff joining or leaving; only
imports make them) reach the map within that time without resending it all; in between, each
sync re-evaluates only the workers in the change log that may move a count. Time never goes
back for a view: it is evaluated at the namespace's tick (the latest "now" any reader
brought). Every key expires an hour after the view was last brought up to date.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import psycopg
import redis

from .position_store import PositionStore, epoch_ms, from_epoch_ms, text
from .scope import Scope
from .worker_delta import changes_of, queue_advance
from .worker_layer import WorkerFix, grid_anchors, roster_in_scope, scope_corner
from .worker_points import (
    DRAWN,
    NO_FIX,
    anchor_steps,
    encode_worker_row,
    evaluate_all,
    origin_of,
)
from .worker_view_keys import REFRESH_AFTER, VIEW_FORMAT, VIEW_TTL_MS, ViewLock, view_prefix
from .worker_view_points import read_points, sync_points
from .worker_view_read import Step, ViewRead, read_grids, view_read
from .worker_view_update import evaluate

_MS = timedelta(milliseconds=1)


class WorkerView:
    """One view (module docstring) on ``store``'s Redis; raises redis.RedisError."""

    def __init__(
        self,
        store: PositionStore,
        scope: Scope,
        roles: tuple[str, ...],
        per_grid: bool,
        basemap_crs: str,
    ):
        self.store, self.client = store, store.client
        self.scope, self.roles, self.per_grid, self.crs = scope, roles, per_grid, basemap_crs
        base = view_prefix(store, scope, roles, per_grid, basemap_crs)
        self.k_meta, self.k_pts, self.k_chg = base + "meta", base + "pts", base + "chg"
        self.k_w, self.k_tot, self.k_lock = base + "w", base + "tot", base + "lock"
        self.k_anc, self.k_st = base + "anc", base + "st"
        # The keys the view holds: per grid, or of points (``worker_view_points``).
        self.keys = (
            (self.k_meta, self.k_pts, self.k_chg, self.k_w, self.k_tot, self.k_anc)
            if per_grid
            else (self.k_meta, self.k_w, self.k_st)
        )

    # ---- reading ---------------------------------------------------------------------------

    def read(self, since: int) -> ViewRead | None:
        """The points a client at cursor ``since`` lacks (all when ``since`` is 0, too old or
        unknown), atomically; None when there is no view."""
        return read_grids(self, since) if self.per_grid else read_points(self, since)

    # ---- bringing it to now ----------------------------------------------------------------

    def sync(self, conn: psycopg.Connection, now: datetime) -> Step | None:
        """Bring the view to ``now`` (or the namespace's later tick). Returns the step taken
        when it was an incremental one (what a client at the view's previous cursor needs:
        the common case, answered without reading the view again), else None. The view is
        left as it is when the positions are being primed by another process, or another
        updater held it longer than LOCK_WAIT_S."""
        if not self.per_grid:
            return sync_points(self, conn, now)  # verifies with its first transaction
        if not self.store.verify(conn):
            return None
        lock = ViewLock(self.client, self.k_lock)

        def reads(pipe: redis.client.Pipeline) -> None:
            pipe.hgetall(self.k_meta)
            pipe.hlen(self.k_w)
            pipe.hget(self.k_tot, DRAWN)
            pipe.exists(self.k_pts, self.k_chg)
            queue_advance(pipe, self.store, self.k_meta, now, grid_level=True)

        got = lock.take_with(reads)
        if got is None:
            return None
        try:
            return self._sync(conn, lock, *got)
        finally:
            lock.release()  # when no write released it

    def _sync(
        self,
        conn: psycopg.Connection,
        lock: ViewLock,
        raw: dict[bytes, bytes],
        rows: int,
        drawn: bytes | None,
        grids: int,
        reply: list[Any],
    ) -> Step | None:
        meta = {text(k): text(v) for k, v in raw.items()}
        valid = meta.get("fmt") == str(VIEW_FORMAT) and self._whole(meta, rows, drawn, grids)
        changes = changes_of(reply)
        at = from_epoch_ms(changes.tick_ms)
        ids = changes.ids
        if not valid or ids is None or changes.since > changes.seq:
            return self._build(conn, lock, at, changes.seq, None)
        if epoch_ms(at) - int(meta["built"]) >= REFRESH_AFTER // _MS:
            return self._build(conn, lock, at, changes.seq, meta)
        if ids or epoch_ms(at) != int(meta["as_of"]) or changes.since != changes.seq:
            return self._update(conn, lock, meta, ids, at, changes.seq)
        return None

    def _whole(self, meta: dict[str, str], rows: int, drawn: bytes | None, grids: int) -> bool:
        """False when Redis dropped one of the view's keys and not the others (an eviction
        policy that picks keys with an expiry): rows are only ever added by a build, and a
        view drawing workers holds points and their log."""
        if drawn is None or rows != int(meta.get("rows", -1)):
            return False
        return int(drawn) == 0 or grids == 2

    def _build(
        self,
        conn: psycopg.Connection,
        lock: ViewLock,
        at: datetime,
        seq: int,
        meta: dict[str, str] | None,
    ) -> Step | None:
        """Every worker evaluated afresh; ``meta`` given: compared with the view (a refresh),
        else a new view whose floor jumps past every cursor handed out before."""
        fixes = self.store.read_all(conn)
        if fixes is None:  # another process is priming the positions: keep the view as it is
            return None
        roster = roster_in_scope(conn, self.scope, at, self.roles)
        if meta is not None:
            origin = (float(meta["lon0"]), float(meta["lat0"]))
        else:
            corner = scope_corner(conn, self.scope)
            origin = origin_of(
                [corner] if corner else [(f.lon, f.lat) for f in fixes.values()], self.crs
            )
        workers = [
            WorkerFix(sid, r, a, fixes[sid]) for sid, (r, a) in roster.items() if sid in fixes
        ]
        anchors = grid_anchors(conn, self.scope, {g for w in workers for g in w.fix.grids})
        contribs, points, totals = evaluate_all(workers, at, self.scope, anchors, origin, self.crs)
        # Every worker of the roster has a row: the change log names workers of the whole
        # database, and a step evaluates only those the view holds.
        rows = {str(sid): encode_worker_row(r, a, NO_FIX) for sid, (r, a) in roster.items()}
        rows |= {
            str(w.staff_id): encode_worker_row(w.role, w.assigned, contribs[w.staff_id])
            for w in workers
        }
        step = self._write_all(lock, meta, seq, at, origin, points, rows, totals)
        if anchors:
            self.remember_anchors(anchor_steps(anchors, origin, self.crs))
        return step

    def remember_anchors(self, anchors: Mapping[str, tuple[str, tuple[int, int]]]) -> None:
        """Keep grid anchors {code: (name, steps)} for later steps (``anc``: "x|y|name"): a
        worker walking into an empty grid then costs no query."""
        mapping = {c: f"{xy[0]}|{xy[1]}|{name}" for c, (name, xy) in anchors.items()}
        pipe = self.client.pipeline(transaction=False)
        for part in _chunks(list(mapping.items())):
            pipe.hset(self.k_anc, mapping=dict(part))
        pipe.pexpire(self.k_anc, VIEW_TTL_MS)
        pipe.execute()

    def _write_all(
        self,
        lock: ViewLock,
        meta: dict[str, str] | None,
        seq: int,
        at: datetime,
        origin: tuple[float, float],
        points: dict[str, str],
        rows: dict[str, str],
        totals: dict[str, int],
    ) -> Step:
        pipe = self.client.pipeline(transaction=True)
        before = None
        if meta is None:
            secs, micros = self.client.time()
            old = int(self.client.hget(self.k_meta, "cur") or 0)
            cur = floor = max(old + 1, secs * 1000 + micros // 1000)
            pipe.delete(*self.keys)
            changed: dict[str, str | None] = dict(points)
        else:
            held = self.client.hgetall(self.k_pts)
            old_pts = {text(k): text(v) for k, v in held.items()}
            changed = {k: v for k, v in points.items() if old_pts.get(k) != v}
            changed |= {k: None for k in old_pts if k not in points}
            before, floor = int(meta["cur"]), int(meta["floor"])
            cur = before + (1 if changed else 0)
            pipe.delete(self.k_w, self.k_tot)
        self._apply(pipe, changed, rows, totals, cur, replace=True)
        pipe.hset(
            self.k_meta,
            mapping={
                "fmt": VIEW_FORMAT,
                "seq": seq,
                "cur": cur,
                "floor": floor,
                "as_of": epoch_ms(at),
                "built": epoch_ms(at),
                "lon0": repr(origin[0]),
                "lat0": repr(origin[1]),
                "rows": len(rows),
            },
        )
        self._expire(pipe)
        lock.release_with(pipe)
        view = {"as_of": str(epoch_ms(at))}
        n = len(points)
        if before is None:
            return Step(None, view_read(True, cur, view, origin, dict(points), totals, n))
        return Step(before, view_read(False, cur, view, origin, changed, totals, n))

    def _apply(
        self,
        pipe: redis.client.Pipeline,
        changed: Mapping[str, str | None],
        rows: Mapping[str, str],
        totals: Mapping[str, int],
        cur: int,
        *,
        replace: bool,
    ) -> None:
        """Queue the writes of changed points (None: removed), worker rows and totals (the
        values when ``replace``, else increments)."""
        kept = {k: v for k, v in changed.items() if v is not None}
        gone = [k for k, v in changed.items() if v is None]
        for part in _chunks(list(kept.items())):
            pipe.hset(self.k_pts, mapping=dict(part))
        for part in _chunks(gone):
            pipe.hdel(self.k_pts, *part)
        for part in _chunks(list(changed)):
            pipe.zadd(self.k_chg, dict.fromkeys(part, cur))
        for part in _chunks(list(rows.items())):
            pipe.hset(self.k_w, mapping=dict(part))
        if replace:
            mapping: dict[Any, Any] = dict(totals)
            pipe.hset(self.k_tot, mapping=mapping)
        else:
            for k, v in totals.items():
                if v:
                    pipe.hincrby(self.k_tot, k, v)

    def _expire(self, pipe: redis.client.Pipeline) -> None:
        for k in self.keys:
            pipe.pexpire(k, VIEW_TTL_MS)

    def _update(
        self,
        conn: psycopg.Connection,
        lock: ViewLock,
        meta: dict[str, str],
        ids: list[int],
        at: datetime,
        seq: int,
    ) -> Step:
        """Re-evaluate the workers ``ids`` at ``at``, store what changed and return it."""
        changed, rows, deltas = evaluate(self, conn, meta, ids, at) if ids else ({}, {}, {})
        before = int(meta["cur"])
        cur = before + (1 if changed else 0)
        pipe = self.client.pipeline(transaction=True)
        self._apply(pipe, changed, rows, deltas, cur, replace=False)
        pipe.hset(self.k_meta, mapping={"seq": seq, "cur": cur, "as_of": epoch_ms(at)})
        self._expire(pipe)
        pipe.hgetall(self.k_tot)
        pipe.hlen(self.k_pts)
        *_, tot, size = lock.release_with(pipe)
        totals = {text(k): int(v) for k, v in tot.items()}
        origin = (float(meta["lon0"]), float(meta["lat0"]))
        view = {"as_of": str(epoch_ms(at))}
        return Step(before, view_read(False, cur, view, origin, changed, totals, int(size)))


def _chunks(items: list, size: int = 1000) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]
