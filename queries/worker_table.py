"""A view of points (``queries.worker_view_points``) as columns: one row per worker of the
view's roster that has had a fix, in ascending staff id, evaluated with numpy. No I/O.

Why columns: a refresh of a busy city re-evaluates thousands of workers every 15 s, and
anything done per worker in Python (parse a row, build a string, compare it) costs a few
microseconds each — tens of milliseconds a refresh. Here a refresh is a handful of array
operations over every row, and the view's whole state is one Redis string (``encode``).

A row holds what clients need to draw the worker and what the counts need: ``sid``, ``role``
(index in FIELD_ROLES), ``kind`` (P drawn, H hidden: fix older than MAX_AGE, T truncated:
over MAX_WORKERS, N no fix any more), ``status`` (index in STATUS_NAMES, -1 unless P or T),
``outside`` (1: no own grid covers the fix), ``x``/``y`` (the fix in the display datum as
integer steps of Q from the view's origin: the point clients hold), ``fs`` (the fix time
in whole seconds, rounded up), ``at`` (the fix time in ms) and ``duty`` (1: on duty): with
these two a row is judged again as time passes (``crossed``, ``judge``) without its fix.
The rules are those of ``worker_points.contribution``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from numpy.typing import NDArray

from domain.geo.display import needs_gcj02
from domain.geo.gcj02 import wgs84_to_gcj02

from .worker_layer import FIELD_ROLES, MAX_WORKERS, WorkerFix
from .worker_points import DRAWN, MAX_AGE_MS, STALE_MS, STATUS_NAMES, TOTALS, Q

# Row kinds (``Table.kind``).
N, P, H, T = 0, 1, 2, 3
_ROLE = {name: i for i, name in enumerate(FIELD_ROLES)}

_DTYPES: dict[str, str] = {
    "sid": "<i8",
    "role": "i1",
    "kind": "i1",
    "status": "i1",
    "outside": "i1",
    "x": "<i4",
    "y": "<i4",
    "fs": "<i8",
    "at": "<i8",
    "duty": "i1",
}
ROW_BYTES = sum(np.dtype(t).itemsize for t in _DTYPES.values())
# The columns a client sees change (what makes a row part of a delta).
_SHOWN = ("kind", "status", "role", "outside", "x", "y", "fs")


@dataclass(frozen=True)
class Table:
    """The rows of a view of points (module docstring), every column an array of one length,
    ``sid`` ascending."""

    sid: NDArray[np.int64]
    role: NDArray[np.int8]
    kind: NDArray[np.int8]
    status: NDArray[np.int8]
    outside: NDArray[np.int8]
    x: NDArray[np.int32]
    y: NDArray[np.int32]
    fs: NDArray[np.int64]
    at: NDArray[np.int64]
    duty: NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.sid)

    @classmethod
    def empty(cls) -> Table:
        return cls(**{k: np.zeros(0, dtype=t) for k, t in _DTYPES.items()})

    def encode(self) -> bytes:
        """The rows as one string: each column in turn, little-endian (``decode``)."""
        return b"".join(
            np.ascontiguousarray(getattr(self, k), dtype=t).tobytes() for k, t in _DTYPES.items()
        )

    @classmethod
    def decode(cls, raw: bytes) -> Table | None:
        """The rows of ``encode``'s string (writable copies); None when its length is not a
        whole number of rows."""
        n, rest = divmod(len(raw), ROW_BYTES)
        if rest:
            return None
        cols, offset = {}, 0
        for k, t in _DTYPES.items():
            cols[k] = np.frombuffer(raw, dtype=t, count=n, offset=offset).copy()
            offset += n * np.dtype(t).itemsize
        return cls(**cols)

    def totals(self) -> dict[str, int]:
        """The meta counts (TOTALS and DRAWN) of the rows: what ``Contribution.totals`` sums
        to over the workers."""
        drawn = self.kind == P
        by_status = np.bincount(self.status[drawn].astype(np.int64), minlength=3)
        out = dict.fromkeys((*TOTALS, DRAWN), 0)
        for i, name in enumerate(STATUS_NAMES):
            out[name] = int(by_status[i])
        out["outside"] = int(np.count_nonzero(self.outside[drawn]))
        out[DRAWN] = int(np.count_nonzero(drawn))
        out["hidden_old"] = int(np.count_nonzero(self.kind == H))
        out["truncated"] = int(np.count_nonzero(self.kind == T))
        return out

    def take(self, rows: NDArray[Any]) -> Table:
        """The rows selected by index or mask ``rows``."""
        return Table(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass(frozen=True)
class PointColumns:
    """Worker points as the delta feed sends them (``layers.workers_delta.columns``): staff
    ids ascending, x/y steps (from the origin, or with ``d`` 1 from the point the client
    holds), status, role, outside, fix seconds; ``removed``: staff ids no longer drawn."""

    ids: NDArray[np.int64]
    x: NDArray[np.int64]
    y: NDArray[np.int64]
    s: NDArray[np.int8]
    r: NDArray[np.int8]
    o: NDArray[np.int8]
    fs: NDArray[np.int64]
    d: NDArray[np.int8]
    removed: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.ids) + len(self.removed)


def drawn(table: Table) -> PointColumns:
    """Every drawn row of ``table`` as absolute points (a full answer)."""
    t = table.take(table.kind == P)
    zero = np.zeros(len(t), dtype=np.int8)
    return PointColumns(
        t.sid,
        t.x.astype(np.int64),
        t.y.astype(np.int64),
        t.status,
        t.role,
        t.outside,
        t.fs,
        zero,
        np.zeros(0, dtype=np.int64),
    )


def diff(old: Table, new: Table) -> PointColumns:
    """What a client holding ``old``'s points needs to hold ``new``'s: rows drawn in ``new``
    that are new or show something else (relative to the point held when one is), and rows
    drawn in ``old`` and not in ``new``."""
    same = len(old) == len(new) and np.array_equal(old.sid, new.sid)
    before = old if same else _aligned(old, new)
    held = before.kind == P
    now_p = new.kind == P
    moved = np.zeros(len(new), dtype=bool)
    for k in _SHOWN:
        moved |= getattr(before, k) != getattr(new, k)
    send = now_p & moved
    removed = new.sid[held & ~now_p]
    if not same:  # rows that left the roster
        left = (old.kind == P) & ~np.isin(old.sid, new.sid)
        removed = np.union1d(removed, old.sid[left])
    rel = held[send]
    return PointColumns(
        new.sid[send],
        new.x[send].astype(np.int64) - np.where(rel, before.x[send], 0),
        new.y[send].astype(np.int64) - np.where(rel, before.y[send], 0),
        new.status[send],
        new.role[send],
        new.outside[send],
        new.fs[send],
        rel.astype(np.int8),
        removed.astype(np.int64),
    )


def _aligned(old: Table, new: Table) -> Table:
    """``old``'s row of each of ``new``'s staff ids (kind N where it has none)."""
    pos, known = locate(old, new.sid)
    if not len(old):
        return replace(new, kind=np.full(len(new), N, dtype=np.int8))
    before = old.take(pos)
    return replace(before, kind=np.where(known, before.kind, N).astype(np.int8))


@dataclass(frozen=True)
class Fixes:
    """Position values of Redis (``LatestFix.encode``: ``at_ms|lon|lat|duty|g1,g2``) as
    columns; ``grids`` the raw covering grids, read only for the few rows that need them
    (``grid``)."""

    at_ms: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    duty: NDArray[np.bool_]
    grids: pa.Array | list[bytes]

    def grid(self, i: int) -> bytes:
        """The covering grids of row ``i`` ("g1,g2")."""
        got = self.grids[i]
        return got if isinstance(got, bytes) else got.as_py()


_FIELDS = ("at", "lon", "lat", "duty", "grids")
_READ = pa_csv.ReadOptions(column_names=list(_FIELDS), use_threads=False)
_PARSE = pa_csv.ParseOptions(delimiter="|", quote_char=False, double_quote=False)
_CONVERT = pa_csv.ConvertOptions(
    column_types={
        "at": pa.int64(),
        "lon": pa.float64(),
        "lat": pa.float64(),
        "duty": pa.int8(),
        "grids": pa.binary(),
    },
    strings_can_be_null=False,
    quoted_strings_can_be_null=False,
)


def parse_fixes(raw: Sequence[bytes]) -> Fixes:
    """The values ``raw`` as columns, parsed as one '|'-separated table by Arrow's CSV reader:
    C, and exact (the same doubles as ``float()``), at a fraction of the cost of splitting and
    converting thousands of values in Python. Raises ValueError naming a value that is not of
    five fields."""
    if not raw:
        zero = np.zeros(0, dtype=np.int64)
        return Fixes(zero, zero.astype(np.float64), zero.astype(np.float64), zero.astype(bool), [])
    try:
        t = pa_csv.read_csv(
            pa.py_buffer(b"\n".join(raw)),
            read_options=_READ,
            parse_options=_PARSE,
            convert_options=_CONVERT,
        )
    except pa.ArrowInvalid as exc:
        bad = next((v for v in raw if v.count(b"|") != 4 or b"\n" in v), raw[0])
        raise ValueError(
            f"position value {bad[:80]!r} is not at_ms|lon|lat|duty|grids ({exc})"
        ) from exc
    if t.num_rows != len(raw):  # an empty value reads as no row at all
        raise ValueError("a position value is empty")
    grids = t.column("grids").combine_chunks()
    return Fixes(
        t.column("at").to_numpy(),
        t.column("lon").to_numpy(),
        t.column("lat").to_numpy(),
        t.column("duty").to_numpy() == 1,
        grids,
    )


def outside_of(assigned: Sequence[str], grids: bytes) -> bool:
    """True when none of ``grids`` (a position value's "g1,g2") is one of ``assigned``."""
    return not set(assigned) & set(grids.decode().split(",") if grids else ())


def steps(
    lon: NDArray[np.float64], lat: NDArray[np.float64], origin: tuple[float, float], crs: str
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """WGS84 points as integer steps of Q from ``origin`` in the display datum of ``crs``
    (the rounding of ``worker_points.display_steps``: half to even)."""
    if needs_gcj02(crs) and len(lon):
        lon, lat = wgs84_to_gcj02(lon, lat)
    xs = np.rint((np.asarray(lon) - origin[0]) / Q).astype(np.int32)
    ys = np.rint((np.asarray(lat) - origin[1]) / Q).astype(np.int32)
    return xs, ys


def evaluate(
    table: Table,
    rows: NDArray[np.int64],
    fixes: Fixes,
    outside: NDArray[np.int8],
    now_ms: int,
    origin: tuple[float, float],
    crs: str,
) -> None:
    """Re-evaluate ``table``'s rows ``rows`` in place at ``now_ms`` with their ``fixes`` and
    ``outside`` flags, then apply the cap (``judge``)."""
    xs, ys = steps(fixes.lon, fixes.lat, origin, crs)
    # Kept for hidden rows too: a later crossing re-evaluates them without their roster.
    table.outside[rows] = outside
    table.x[rows] = xs
    table.y[rows] = ys
    table.fs[rows] = -(-fixes.at_ms // 1000)
    table.at[rows] = fixes.at_ms
    table.duty[rows] = fixes.duty
    judge(table, rows, now_ms)


def judge(table: Table, rows: NDArray[np.int64], now_ms: int) -> None:
    """The kind and status of ``table``'s rows ``rows`` (which hold a fix) at ``now_ms``
    from their fix time and duty flag, then the cap (``cap``), in place."""
    at = table.at[rows]
    hidden = at <= now_ms - MAX_AGE_MS
    status = np.where(now_ms - at > STALE_MS, 2, np.where(table.duty[rows] != 0, 0, 1))
    was_drawn = table.kind[rows] == P
    table.kind[rows] = np.where(hidden, H, P)
    table.status[rows] = np.where(hidden, -1, status)
    cap(table, rows[~was_drawn & ~hidden])


def crossed(table: Table, before_ms: int, now_ms: int) -> NDArray[np.int64]:
    """The rows holding a fix that turned stale or too old between ``before_ms`` and
    ``now_ms``: what time alone changes (``judge`` them at ``now_ms``)."""
    if now_ms == before_ms:
        return np.zeros(0, dtype=np.int64)
    at = table.at
    old = (at <= now_ms - MAX_AGE_MS) != (at <= before_ms - MAX_AGE_MS)
    stale = (now_ms - at > STALE_MS) != (before_ms - at > STALE_MS)
    return np.flatnonzero((table.kind != N) & (old | stale))


def cap(table: Table, joining: NDArray[np.int64]) -> None:
    """At most MAX_WORKERS rows drawn: of the rows ``joining`` (drawn now, not before), those
    past the room the others leave are truncated, by staff id (in place)."""
    if not len(joining):
        return
    joining = np.sort(joining)
    room = MAX_WORKERS - (int(np.count_nonzero(table.kind == P)) - len(joining))
    over = joining[max(room, 0) :]
    table.kind[over] = T


def with_rows(table: Table, sids: NDArray[np.int64], roles: NDArray[np.int8]) -> Table:
    """``table`` with new rows for ``sids`` (not in it; no fix yet: kind N), in staff id
    order."""
    add = Table(
        sid=sids.astype(np.int64),
        role=roles.astype(np.int8),
        kind=np.full(len(sids), N, dtype=np.int8),
        status=np.full(len(sids), -1, dtype=np.int8),
        outside=np.zeros(len(sids), dtype=np.int8),
        x=np.zeros(len(sids), dtype=np.int32),
        y=np.zeros(len(sids), dtype=np.int32),
        fs=np.zeros(len(sids), dtype=np.int64),
        at=np.zeros(len(sids), dtype=np.int64),
        duty=np.zeros(len(sids), dtype=np.int8),
    )
    joined = Table(
        **{
            f.name: np.concatenate([getattr(table, f.name), getattr(add, f.name)])
            for f in fields(table)
        }
    )
    return joined.take(np.argsort(joined.sid, kind="stable"))


def locate(table: Table, sids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(row index, found) of each of ``sids`` in ``table``: through a dense index when staff
    ids are small numbers (a lookup per id), else by binary search."""
    n = len(table)
    if not n or not len(sids):
        return np.zeros(len(sids), dtype=np.int64), np.zeros(len(sids), dtype=bool)
    lo, hi = int(table.sid[0]), int(table.sid[-1])
    if lo >= 0 and hi < 8 * n + 65_536:  # at most a few hundred kB
        index = np.full(hi + 2, -1, dtype=np.int64)
        index[table.sid] = np.arange(n)
        pos = index[np.clip(sids, -1, hi + 1)]  # -1 and hi + 1 hold -1: not found
        found = pos >= 0
        return np.where(found, pos, 0), found
    pos = np.searchsorted(table.sid, sids).clip(0, n - 1)
    return pos.astype(np.int64), table.sid[pos] == sids


def role_indexes(roles: Iterable[str]) -> NDArray[np.int8]:
    """Role codes as indexes in FIELD_ROLES (the ``r`` the feed sends)."""
    return np.fromiter((_ROLE[r] for r in roles), dtype=np.int8)


def table_of(
    workers: Sequence[WorkerFix], now_ms: int, origin: tuple[float, float], crs: str
) -> Table:
    """The rows of ``workers`` (in scope, of the chosen roles, with their fixes) evaluated at
    ``now_ms``: the whole table at once (the PostgreSQL fallback)."""
    ws = sorted(workers, key=lambda w: w.staff_id)
    sids = np.array([w.staff_id for w in ws], dtype=np.int64)
    table = with_rows(Table.empty(), sids, role_indexes(w.role for w in ws))
    fixes = Fixes(
        np.array([w.fix.at_ms for w in ws], dtype=np.int64),
        np.array([w.fix.lon for w in ws], dtype=np.float64),
        np.array([w.fix.lat for w in ws], dtype=np.float64),
        np.array([w.fix.on_duty for w in ws], dtype=bool),
        [],
    )
    outside = np.array([w.outside for w in ws], dtype=np.int8)
    evaluate(table, np.arange(len(table)), fixes, outside, now_ms, origin, crs)
    return table
