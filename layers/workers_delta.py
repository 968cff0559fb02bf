"""The worker layer (layers/workers.py) as the wall feed's compact delta (``/feed/workers``,
issue #10): columnar arrays, coordinates as integer steps, only the points changed since the
client's cursor. ``delta_payload`` is re-exported by layers/workers.py.

The body's ``data`` (the feed contract, docs/architecture.md):

    {"full": bool, "since": int, "seq": int, "origin": [lon0, lat0], "q": 1e-5,
     "as_of_ms": int, "ids": [...], "x": [int], "y": [int], "s": [int], "n": [int],
     "removed": [...], "meta": {...}, "note": str}

- ``full``: drop every point held and take these (``since`` was 0, too old or unknown);
  otherwise replace the points listed and delete ``removed``. ``seq`` is the next ``since``.
- Coordinates: ``lon = origin[0] + x * q``, ``lat = origin[1] + y * q``, degrees in the display
  datum (GCJ-02 when ``basemap_crs`` is "gcj02"), at most q/2 from the exact point per axis.
- ``s``: status index into ``meta.status_names`` (online, off_duty, stale); ``n``: workers per
  point.
- Callers who may read tracks (``access.read_tracks``): one point per worker, ``ids`` staff ids
  in ascending order written as steps (``"ids_delta": true``: each id minus the previous one,
  the first as it is; plain ids gzip to three times the bytes), and ``r`` (role index into
  ``meta.roles``, [[code, name]]), ``o`` (1: outside all of its own grids), ``t`` (age of the
  fix in seconds at ``as_of_ms``; negative for a fix stamped after it — shown as 0), ``d``
  (1: this point's ``x``, ``y`` are steps from the position the client holds for it, not from
  ``origin`` — only in a delta, only for a point the client has; a worker walks a few metres
  between refreshes and small numbers halve the gzipped bytes of a delta).
- Everyone else: one point per grid at its anchor, ``ids`` grid codes, with ``name`` (the
  grid's name) and the counts ``online``, ``off_duty``, ``stale``, ``outside`` — no staff id,
  role or age, exactly what the full payload (layers.workers.workers_per_grid) shows.
- ``meta``: the counts of the whole layer (online, off_duty, stale, outside, hidden_old,
  truncated, and per grid: elsewhere), per_grid, source ("redis"/"postgres"), points (how many
  the client should now hold), status_names, roles; full answers also carry ``hideout`` and
  ``legend`` (what the map's layer JS draws with).

assets/25_workers_delta.js (``gridscope.workersDelta.apply``) turns these into the same GeoJSON
FeatureCollection as the full payload, for the layer JS in assets/20_layers.js.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import psycopg
import redis

from domain.config import Settings
from queries.faults import FaultLog
from queries.position_store import PositionStore, epoch_ms
from queries.scope import Scope
from queries.worker_layer import FIELD_ROLES, grid_anchors, scope_corner, workers_from_postgres
from queries.worker_points import DRAWN, STATUS_NAMES, Q, evaluate_all, origin_of
from queries.worker_table import drawn, table_of
from queries.worker_view import WorkerView
from queries.worker_view_read import ViewRead

from .base import Access, LayerOption, Options
from .labels import role_name

log = logging.getLogger(__name__)


def delta_payload(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access,
    redis_client: redis.Redis | None,
    namespace: str,
    since: int,
    *,
    faults: FaultLog | None = None,
    role_option: LayerOption,
    style: dict[str, Any],
) -> dict[str, Any]:
    """The contract's ``data`` (module docstring) for the caller's ``scope`` and ``access`` at
    ``now`` (floored to the second): the points changed since cursor ``since``. Positions
    come from the Redis view (queries.worker_view), brought up to date first; with no Redis
    client, or Redis failing (reported once per outage through ``faults``), a full answer is
    computed from PostgreSQL with ``seq`` 0 (the next request asks for everything again).
    ``options`` are the layer's data options (``role``), parsed through ``role_option``;
    ``style`` is {"hideout", "legend"} for full answers."""
    role = role_option.parse(options.get("role"))
    roles = FIELD_ROLES if role == "all" else (role,)
    per_grid = not access.read_tracks
    at = now.replace(microsecond=0)
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        since = 0
    got: ViewRead | None = None
    source = "postgres"
    if redis_client is not None:
        store = PositionStore(redis_client, namespace, faults)
        view = WorkerView(store, scope, tuple(roles), per_grid, settings.basemap_crs)
        try:
            step = view.sync(conn, at)
            got = step.read if step is not None and step.answers(since) else view.read(since)
            source = "redis"
            if faults is not None:
                faults.ok("redis")
        except redis.RedisError as exc:
            got = None
            if faults is not None:
                faults.failed("redis", exc)
            else:
                log.warning("worker delta: Redis unavailable (%s); reading PostgreSQL", exc)
    if got is None:
        got = _from_postgres(conn, scope, roles, at, per_grid, settings.basemap_crs)
        source = "postgres"
    data = columns(got, since, per_grid, source)
    if data["full"]:
        data |= style
    return data


def _from_postgres(
    conn: psycopg.Connection,
    scope: Scope,
    roles: Sequence[str],
    at: datetime,
    per_grid: bool,
    basemap_crs: str,
) -> ViewRead:
    """Every point, computed from worker_last_position (the fallback without Redis)."""
    workers, hidden = workers_from_postgres(conn, scope, at, roles)
    corner = scope_corner(conn, scope)
    origin = origin_of(
        [corner] if corner else [(w.fix.lon, w.fix.lat) for w in workers], basemap_crs
    )
    if not per_grid:
        table = table_of(workers, epoch_ms(at), origin, basemap_crs)
        totals = table.totals()
        totals["hidden_old"] += hidden
        return ViewRead(True, 0, epoch_ms(at), origin, {}, totals, totals[DRAWN], drawn(table))
    anchors = grid_anchors(conn, scope, {g for w in workers for g in w.fix.grids})
    _, points, totals = evaluate_all(workers, at, scope, anchors, origin, basemap_crs)
    totals["hidden_old"] += hidden
    sent: dict[str, str | None] = dict(points)
    return ViewRead(True, 0, epoch_ms(at), origin, sent, totals, len(points))


def columns(got: ViewRead, since: int, per_grid: bool, source: str) -> dict[str, Any]:
    """The contract's ``data`` of a view read (module docstring)."""
    present = {k: v for k, v in got.points.items() if v is not None}
    gone = [k for k, v in got.points.items() if v is None]
    as_of_s = got.as_of_ms // 1000
    out: dict[str, Any] = {
        "full": got.full,
        "since": since,
        "seq": got.cursor,
        "origin": [got.origin[0], got.origin[1]],
        "q": Q,
        "as_of_ms": got.as_of_ms,
    }
    if per_grid:
        ids = sorted(present)
        cols: dict[str, list[Any]] = {
            k: [] for k in ("x", "y", "s", "n", "online", "off_duty", "stale", "outside", "name")
        }
        for code in ids:
            parts = present[code].split("|", 8)
            for key, value in zip(cols, parts, strict=True):
                cols[key].append(value if key == "name" else int(value))
        removed: list[Any] = sorted(gone)
        out["ids"] = ids
    else:
        t = got.table
        if t is None:
            raise ValueError("a read of a view of points carries its points as columns")
        cols = {
            "x": t.x.tolist(),
            "y": t.y.tolist(),
            "s": t.s.tolist(),
            "n": [1] * len(t.ids),
            "r": t.r.tolist(),
            "o": t.o.tolist(),
            "t": (as_of_s - t.fs).tolist(),
            "d": t.d.tolist(),
        }
        removed = t.removed.tolist()
        # Ascending staff ids as steps from the previous one: a third of the bytes otherwise.
        out["ids"] = np.diff(t.ids, prepend=0).tolist()
        out["ids_delta"] = True
    out |= cols
    out["removed"] = removed
    meta: dict[str, Any] = {
        **{k: v for k, v in got.totals.items() if per_grid or k != "elsewhere"},
        "per_grid": per_grid,
        "source": source,
        "points": got.size,
        "status_names": list(STATUS_NAMES),
        "roles": [[r, role_name(r)] for r in FIELD_ROLES],
    }
    out["meta"] = meta
    out["note"] = note(meta)
    return out


def note(meta: dict[str, Any]) -> str:
    """The layer's one-line summary under the legend."""
    return f"在线 {meta['online']} 人 · 越界 {meta['outside']} 人 · 无定位 {meta['stale']} 人" + (
        "（按网格汇总）" if meta.get("per_grid") else ""
    )
