"""One incremental step of a worker view per grid (``queries.worker_view``): the workers of the
change log evaluated again, and what that changes in the view's points, worker rows and counts.
(A view of points has its own: ``queries.worker_view_points``.)

Reads Redis (the workers' fixes, their rows in the view, the points they touch) and, only for
grids the view has no anchor of yet, PostgreSQL; writes nothing (the view applies the result
in one transaction). Workers without a row are not the view's (its roster, read on each
build) and are skipped. Rows and counts are written only where a contribution changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import psycopg

from .position_store import epoch_ms, text
from .worker_layer import grid_anchors
from .worker_points import (
    NO_FIX,
    Contribution,
    Worker,
    add_to_grid,
    anchor_steps,
    contribution,
    decode_worker_row,
    encode_worker_row,
    grid_counts,
    grid_point,
)

if TYPE_CHECKING:  # the view imports this module: the type only, at check time
    from .worker_view import WorkerView

# Changed points {id: point string, None when removed}, worker rows {staff id: row}, and the
# increments of the counts.
Step = tuple[dict[str, str | None], dict[str, str], dict[str, int]]


def evaluate(
    view: WorkerView, conn: psycopg.Connection, meta: dict[str, str], ids: list[int], at: datetime
) -> Step:
    """The workers ``ids`` evaluated at ``at`` against ``view`` (whose meta is ``meta``)."""
    keys = [str(i) for i in ids]
    pipe = view.client.pipeline(transaction=False)
    pipe.hmget(view.store.hash_key, keys)
    pipe.hmget(view.k_w, keys)
    fixes, old_rows = pipe.execute()
    rows: dict[str, str] = {}
    olds: dict[int, Contribution | None] = {}
    workers: dict[int, Worker | None] = {}
    for sid, raw_fix, raw_row in zip(ids, fixes, old_rows, strict=True):
        if raw_row is None:  # not a worker of this view (the roster is read on each build)
            continue
        role, assigned, olds[sid] = decode_worker_row(text(raw_row))
        if raw_fix is None:  # gone from Redis (cleared): no longer drawn nor counted
            workers[sid] = None
            rows[str(sid)] = encode_worker_row(role, assigned, NO_FIX)
        else:
            workers[sid] = Worker.parse(sid, role, assigned, text(raw_fix))
    now_ms, origin = epoch_ms(at), (float(meta["lon0"]), float(meta["lat0"]))
    return _per_grid(view, conn, origin, olds, workers, rows, now_ms)


def _settle(
    olds: dict[int, Contribution | None],
    news: dict[int, Contribution | None],
    workers: dict[int, Worker | None],
    rows: dict[str, str],
) -> dict[str, int]:
    """Rows of the workers whose contribution changed, and the increments of the counts."""
    deltas: dict[str, int] = {}
    for sid, new in news.items():
        old = olds[sid]
        if new == old:
            continue
        w = workers[sid]
        if w is not None and new is not None:
            rows[str(sid)] = encode_worker_row(w.role, w.assigned, new)
        for c, sign in ((old, -1), (new, 1)):
            if c is not None:
                for k, v in c.totals().items():
                    deltas[k] = deltas.get(k, 0) + sign * v
    return deltas


def _per_grid(
    view: WorkerView,
    conn: psycopg.Connection,
    origin: tuple[float, float],
    olds: dict[int, Contribution | None],
    workers: dict[int, Worker | None],
    rows: dict[str, str],
    now_ms: int,
) -> Step:
    wanted = {g for w in workers.values() if w is not None for g in w.grids}
    wanted |= {c.pid for c in olds.values() if c is not None and c.kind == "p"}
    codes = sorted(c for c in wanted if view.scope.contains(c))
    pipe = view.client.pipeline(transaction=False)
    pipe.hmget(view.k_pts, codes)
    pipe.hmget(view.k_anc, codes)
    pts, anc = pipe.execute() if codes else ([], [])
    held = dict(zip(codes, pts, strict=True))
    cells = {c: grid_counts(text(raw)) for c, raw in held.items() if raw is not None}
    for code, raw in zip(codes, anc, strict=True):
        if code not in cells and raw is not None:
            x, y, name = text(raw).split("|", 2)
            cells[code] = ((int(x), int(y)), [0, 0, 0, 0], name)
    missing = [c for c in codes if c not in cells]
    if missing:
        found = anchor_steps(grid_anchors(conn, view.scope, missing), origin, view.crs)
        cells |= {c: (xy, [0, 0, 0, 0], name) for c, (name, xy) in found.items()}
        view.remember_anchors(found)
    anchored = set(cells)
    news = {
        sid: contribution(w, now_ms, view.scope, True, anchored) if w is not None else None
        for sid, w in workers.items()
    }
    deltas = _settle(olds, news, workers, rows)
    touched: set[str] = set()
    for sid, new in news.items():
        if new == olds[sid]:
            continue
        for c, sign in ((olds[sid], -1), (new, 1)):
            if c is not None and c.kind == "p" and c.pid in cells:
                add_to_grid(cells[c.pid][1], c, sign)
                touched.add(c.pid)
    changed: dict[str, str | None] = {}
    for code in touched:
        xy, counts, name = cells[code]
        point = grid_point(xy, counts, name) if sum(counts[:3]) > 0 else None
        before = held.get(code)
        if point != (text(before) if before is not None else None):
            changed[code] = point
    return changed, rows, deltas
