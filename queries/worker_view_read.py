"""Reading a worker view (``queries.worker_view``): what a client at a cursor lacks.

A view per grid keeps its points and a change log (``pts``, ``chg``) and is read in one Lua
call. (A view of points is read by ``queries.worker_view_points``: a client at the current
cursor gets nothing, any other every drawn worker — most clients ask with the previous cursor
and are answered by the step the sync just took.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .worker_points import TOTALS
from .worker_table import PointColumns

if TYPE_CHECKING:  # the view imports this module: the type only, at check time
    from .worker_view import WorkerView

# KEYS: meta, pts, chg, tot. ARGV: since. Returns {} without a view, else {meta (flat), tot
# (flat), size, full (1/0), ids, values}: every point when full, else the points changed since
# ``since`` (a false value: removed).
_READ_LUA = """
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return {} end
local m = {}
for i = 1, #meta, 2 do m[meta[i]] = meta[i + 1] end
local since, cur, floor = tonumber(ARGV[1]), tonumber(m['cur']), tonumber(m['floor'])
local tot = redis.call('HGETALL', KEYS[4])
local size = redis.call('HLEN', KEYS[2])
if since <= 0 or since < floor or since > cur then
  return {meta, tot, size, 1, redis.call('HGETALL', KEYS[2]), {}}
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], '+inf')
local vals = {}
for i = 1, #ids, 500 do
  local part = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 499, #ids)))
  for j = 1, #part do vals[#vals + 1] = part[j] end
end
return {meta, tot, size, 0, ids, vals}
"""


@dataclass(frozen=True)
class ViewRead:
    """What a client at cursor ``since`` needs: ``full`` (everything: drop what you hold),
    ``cursor`` (the next ``since``), ``as_of_ms``, ``origin`` (display datum), the points —
    per grid ``points`` {grid code: point string, or None when removed}, one per worker
    ``table`` (columns) —, ``totals`` (TOTALS) and ``size`` (points held)."""

    full: bool
    cursor: int
    as_of_ms: int
    origin: tuple[float, float]
    points: dict[str, str | None]
    totals: dict[str, int]
    size: int
    table: PointColumns | None = None


@dataclass(frozen=True)
class Step:
    """What a sync did: ``read`` answers a client at cursor ``since`` (None: any cursor, a
    full answer after a build)."""

    since: int | None
    read: ViewRead

    def answers(self, since: int) -> bool:
        """True when ``read`` is the answer for a client at ``since``."""
        return self.since is None or self.since == since


def read_grids(view: WorkerView, since: int) -> ViewRead | None:
    """The grid points a client at cursor ``since`` lacks (all when ``since`` is 0, too old
    or unknown), atomically; None when there is no view."""
    script = view.client.register_script(_READ_LUA)
    got = script(keys=[view.k_meta, view.k_pts, view.k_chg, view.k_tot], args=[int(since)])
    if not got:
        return None
    meta, tot, size, full, ids, vals = got
    m = _pairs(meta)
    if full:
        points = {k.decode(): v.decode() for k, v in _pairs(ids).items()}
    else:
        points = {k.decode(): v.decode() if v else None for k, v in zip(ids, vals, strict=True)}
    totals = {k.decode(): int(v) for k, v in _pairs(tot).items()}
    return ViewRead(
        bool(full),
        int(m[b"cur"]),
        int(m[b"as_of"]),
        (float(m[b"lon0"]), float(m[b"lat0"])),
        points,
        {k: totals.get(k, 0) for k in TOTALS},
        int(size),
    )


def view_read(
    full: bool,
    cur: int,
    meta: dict[str, str],
    origin: tuple[float, float],
    points: dict[str, str | None],
    totals: dict[str, int],
    size: int,
    table: PointColumns | None = None,
) -> ViewRead:
    """A ViewRead with the meta counts of ``totals`` and the as-of of ``meta``."""
    counts = {k: totals.get(k, 0) for k in TOTALS}
    return ViewRead(full, cur, int(meta["as_of"]), origin, points, counts, size, table)


def _pairs(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=True))
