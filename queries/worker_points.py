"""What one worker adds to the map's worker layer counted per grid, and the grid points in the
compact form of the delta feed (``queries.worker_view``, ``layers.workers.delta_payload``).
No I/O. (One point per worker, for callers who may read tracks, is ``queries.worker_table``:
the same rules over columns.)

A worker (active field staff of the chosen roles, in scope) contributes a ``Contribution``:
counted in the point of the grid holding its fix, counted as "elsewhere" (no grid of the
scope covers the fix) or hidden (fix older than MAX_AGE). Points are strings, so that Redis
can hold and compare them as they are: a grid is
``"x|y|s|n|online|off_duty|stale|outside|name"`` — its anchor as integer steps of ``Q``
degrees from the view's origin in the display datum, the best status in it, the number of
workers and the counts by status; the grid's name last (it may hold "|").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from domain.geo.display import needs_gcj02
from domain.geo.gcj02 import wgs84_to_gcj02

from .position_store import epoch_ms
from .scope import Scope
from .worker_layer import MAX_AGE, STALE_AFTER, WorkerFix

# Degrees per step of a quantised coordinate: about 1.1 m north-south, 0.95 m east-west at
# Jiaxing; the error of a decoded point is at most half a step in each axis.
Q = 1e-5
STATUS_NAMES: tuple[str, ...] = ("online", "off_duty", "stale")
TOTALS: tuple[str, ...] = (
    "online",
    "off_duty",
    "stale",
    "outside",
    "elsewhere",
    "hidden_old",
    "truncated",
)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one worker adds: ``kind`` 'p' (in point ``pid``), 'e' (elsewhere), 'h' (hidden:
    fix older than MAX_AGE), 't' (truncated) or 'n' (no fix: nothing); ``status`` an index in
    STATUS_NAMES (-1 when hidden or without a fix); ``outside`` when no own grid covers the
    fix."""

    kind: str
    pid: str
    status: int
    outside: bool

    def totals(self) -> dict[str, int]:
        """This worker's share of the layer's meta counts (TOTALS)."""
        if self.kind == "n":
            return {}
        if self.kind == "h":
            return {"hidden_old": 1}
        if self.kind == "t":
            return {"truncated": 1}
        out = {STATUS_NAMES[self.status]: 1, "outside": int(self.outside)}
        out["elsewhere" if self.kind == "e" else DRAWN] = 1
        return out


# The count of workers drawn ('p'), kept with the totals (not one of them).
DRAWN = "_drawn"
# A worker of the view's roster without a fix (yet).
NO_FIX = Contribution("n", "", -1, False)


@dataclass(frozen=True, slots=True)
class Worker:
    """A worker of a view with its fix, in plain numbers (no datetimes: the incremental path
    evaluates thousands of them per refresh)."""

    sid: int
    role: str
    assigned: tuple[str, ...]
    at_ms: int
    lon: float
    lat: float
    duty: bool
    grids: tuple[str, ...]

    @classmethod
    def of(cls, w: WorkerFix) -> Worker:
        f = w.fix
        return cls(w.staff_id, w.role, w.assigned, f.at_ms, f.lon, f.lat, f.on_duty, f.grids)

    @classmethod
    def parse(cls, sid: int, role: str, assigned: tuple[str, ...], raw: str) -> Worker:
        """From a position value of Redis (``LatestFix.encode``)."""
        at_ms, lon, lat, duty, grids = raw.split("|", 4)
        covering = tuple(grids.split(",")) if grids else ()
        return cls(sid, role, assigned, int(at_ms), float(lon), float(lat), duty == "1", covering)


STALE_MS = STALE_AFTER // timedelta(milliseconds=1)
MAX_AGE_MS = MAX_AGE // timedelta(milliseconds=1)


def contribution(
    w: Worker, now_ms: int, scope: Scope, per_grid: bool, has_anchor: set[str] | None
) -> Contribution:
    """What worker ``w`` (in scope, of the chosen roles) adds at ``now_ms`` (the rules of
    queries.worker_layer: status_of, MAX_AGE, grid_of); ``per_grid`` counts it in a grid of
    ``scope`` that ``has_anchor`` lists (else 'elsewhere')."""
    if w.at_ms <= now_ms - MAX_AGE_MS:
        return Contribution("h", "", -1, False)
    status = 2 if now_ms - w.at_ms > STALE_MS else 0 if w.duty else 1
    outside = not set(w.assigned) & set(w.grids)
    if not per_grid:
        return Contribution("p", str(w.sid), status, outside)
    inside = [g for g in w.grids if scope.contains(g)]
    own = [g for g in inside if g in w.assigned]
    code = (own or inside)[0] if inside else None
    if code is None or has_anchor is None or code not in has_anchor:
        return Contribution("e", "", status, outside)
    return Contribution("p", code, status, outside)


def encode_worker_row(role: str, assigned: Sequence[str], c: Contribution) -> str:
    """A worker's entry in a view per grid: roster and contribution,
    ``role|a1,a2|kind|pid|s|o``."""
    return f"{role}|{','.join(assigned)}|{c.kind}|{c.pid}|{c.status}|{int(c.outside)}"


def decode_worker_row(raw: str) -> tuple[str, tuple[str, ...], Contribution]:
    """The inverse of encode_worker_row: (role, assigned, contribution)."""
    role, assigned, kind, pid, status, outside = raw.split("|", 5)
    return (
        role,
        tuple(assigned.split(",")) if assigned else (),
        Contribution(kind, pid, int(status), outside == "1"),
    )


def display_steps(
    lonlat: Sequence[tuple[float, float]], origin: tuple[float, float], basemap_crs: str
) -> list[tuple[int, int]]:
    """WGS84 points as integer steps of Q from ``origin`` (display datum) in the display datum
    of ``basemap_crs`` (GCJ-02 shifted in one vectorised call)."""
    if not lonlat:
        return []
    lon0, lat0 = origin
    if not needs_gcj02(basemap_crs):
        # round() and np.rint both round half to even: the same steps either way.
        return [(round((x - lon0) / Q), round((y - lat0) / Q)) for x, y in lonlat]
    arr = np.asarray(lonlat, dtype=float)
    lon, lat = wgs84_to_gcj02(arr[:, 0], arr[:, 1])
    xs = np.rint((np.asarray(lon) - lon0) / Q).astype(np.int64)
    ys = np.rint((np.asarray(lat) - lat0) / Q).astype(np.int64)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def origin_of(lonlat: Iterable[tuple[float, float]], basemap_crs: str) -> tuple[float, float]:
    """A stable origin for a view: the south-west corner of ``lonlat`` (WGS84) in the display
    datum, floored to 0.01 degree; (0, 0) for no points."""
    pts = list(lonlat)
    if not pts:
        return (0.0, 0.0)
    lon, lat = min(p[0] for p in pts), min(p[1] for p in pts)
    if needs_gcj02(basemap_crs):
        glon, glat = wgs84_to_gcj02(lon, lat)
        lon, lat = float(glon), float(glat)
    return (math.floor(lon * 100) / 100, math.floor(lat * 100) / 100)


def grid_point(xy: tuple[int, int], counts: Sequence[int], name: str) -> str:
    """A grid's point string from its anchor steps and [online, off_duty, stale, outside]."""
    online, off, stale, outside = counts
    best = 0 if online else 1 if off else 2
    n = online + off + stale
    return f"{xy[0]}|{xy[1]}|{best}|{n}|{online}|{off}|{stale}|{outside}|{name}"


def grid_counts(point: str) -> tuple[tuple[int, int], list[int], str]:
    """(anchor steps, [online, off_duty, stale, outside], name) of a grid's point string."""
    x, y, _s, _n, online, off, stale, outside, name = point.split("|", 8)
    return (int(x), int(y)), [int(online), int(off), int(stale), int(outside)], name


def add_to_grid(counts: list[int], c: Contribution, sign: int) -> None:
    """Count worker ``c`` into (sign 1) or out of (sign -1) a grid's counts."""
    counts[c.status] += sign
    counts[3] += sign * int(c.outside)


def grid_points(
    contribs: Iterable[Contribution], anchors: Mapping[str, tuple[str, tuple[int, int]]]
) -> dict[str, str]:
    """{grid code: point string} of the grids holding workers counted per grid ('p'), at
    ``anchors`` {code: (name, anchor steps)}."""
    counts: dict[str, list[int]] = {}
    for c in contribs:
        if c.kind == "p":
            add_to_grid(counts.setdefault(c.pid, [0, 0, 0, 0]), c, 1)
    return {
        code: grid_point(anchors[code][1], n, anchors[code][0])
        for code, n in sorted(counts.items())
    }


def anchor_steps(
    anchors: Mapping[str, tuple[str, float, float]],
    origin: tuple[float, float],
    basemap_crs: str,
) -> dict[str, tuple[str, tuple[int, int]]]:
    """{code: (name, anchor steps)} of ``anchors`` {code: (name, lon, lat)} (WGS84)."""
    codes = list(anchors)
    steps = display_steps([anchors[c][1:] for c in codes], origin, basemap_crs)
    return {c: (anchors[c][0], xy) for c, xy in zip(codes, steps, strict=True)}


def evaluate_all(
    workers: Sequence[WorkerFix],
    now: datetime,
    scope: Scope,
    anchors: Mapping[str, tuple[str, float, float]],
    origin: tuple[float, float],
    basemap_crs: str,
) -> tuple[dict[int, Contribution], dict[str, str], dict[str, int]]:
    """(contributions by staff id, grid points, totals) of every worker in ``workers`` (in
    scope, of the chosen roles) at ``now``, counted per grid at ``anchors``
    (grid_anchors)."""
    now_ms, anchored = epoch_ms(now), set(anchors)
    contribs = {
        w.staff_id: contribution(Worker.of(w), now_ms, scope, True, anchored) for w in workers
    }
    points = grid_points(contribs.values(), anchor_steps(anchors, origin, basemap_crs))
    totals = dict.fromkeys((*TOTALS, DRAWN), 0)
    for c in contribs.values():
        for k, v in c.totals().items():
            totals[k] += v
    return contribs, points, totals
