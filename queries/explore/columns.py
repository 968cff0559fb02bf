"""The workbench's column store: the tickets of the last ``days`` days as numpy columns, kept
in each server process and caught up with the writes since, so that counts and facets over a
city's year take a few vectorised passes instead of a row-by-row PostgreSQL aggregate.

Why: on the large demo (5 M tickets a year) one GROUPING SETS statement over a year takes
20–30 s of PostgreSQL time whatever the indexes, because every ticket must be hashed into a
dozen facets; numpy does the same counts in well under a second (``bench/explore.py`` prints
both). PostgreSQL stays the source of truth: the store is loaded from it, catches up from it
(rows whose ``updated_at`` moved since the last look, index ``ticket_updated_at``) and is thrown
away and reloaded when the data is replaced wholesale (a demo load: ``gridscope_meta`` changes).
Filters the store does not carry (a drawn box or polygon, a micro-grid, a period older than the
store) are answered by the SQL path (``queries.explore.summary``), and a test holds the two to
the same numbers.

Memory: about 75 bytes per ticket (≈ 370 MB for the large demo's year) per server process.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

log = logging.getLogger(__name__)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
NULL_T = np.iinfo(np.int32).min
# Rows written a little before the last look can commit after it (transactions overlap).
CATCH_UP_SLACK = timedelta(minutes=5)
# Categorical columns and their SQL. Their values are dictionary-encoded per store.
CATEGORICAL = ("grid", "cat", "state", "stage", "source", "urgency", "dept", "stype")
_SELECT = (
    "SELECT t.id,"
    " floor(extract(epoch FROM t.created_at - %(epoch)s))::bigint AS created,"
    " floor(extract(epoch FROM t.closed_at - %(epoch)s))::bigint AS closed,"
    " floor(extract(epoch FROM t.stage_due_at - %(epoch)s))::bigint AS due,"
    # Ceiling for the warning instant: "warn <= now" holds on whole seconds exactly when it
    # holds on the instant; floors serve "due < now" and the period bounds the same way.
    " ceil(extract(epoch FROM t.stage_warn_at - %(epoch)s))::bigint AS warn,"
    " t.grid_code AS grid, t.category_code AS cat, t.state, t.stage, t.source, t.urgency,"
    " t.lead_department_id::text AS dept, t.source_type AS stype, t.supervision AS sup,"
    " CASE WHEN t.closed_on_time THEN 1 WHEN NOT t.closed_on_time THEN 0 ELSE -1 END AS cot,"
    " (t.rework_count > 0)::int AS reworked, (t.return_count > 0)::int AS returned,"
    # Shortest exact text of each double (PostgreSQL 12+): the store's box and polygon tests
    # see the very coordinates PostGIS tests.
    " ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat"
    " FROM ticket t WHERE {where}"
)
# In the SELECT's column order (the CSV carries no header).
_TYPES = {
    "id": pa.int64(),
    "created": pa.int64(),
    "closed": pa.int64(),
    "due": pa.int64(),
    "warn": pa.int64(),
    **{c: pa.string() for c in CATEGORICAL},
    "sup": pa.int8(),
    "cot": pa.int8(),
    "reworked": pa.int8(),
    "returned": pa.int8(),
    "lon": pa.float64(),
    "lat": pa.float64(),
}


def to_s(t: datetime) -> int:
    """Seconds since EPOCH (the store's time axis)."""
    return int((t - EPOCH).total_seconds())


@dataclass
class Dictionary:
    """Values of one categorical column and their codes (index 0 is NULL)."""

    values: list[Any] = field(default_factory=lambda: [None])
    index: dict[Any, int] = field(default_factory=lambda: {None: 0})

    def codes(self, arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """Codes of ``arr``'s values, adding new values to the dictionary."""
        enc = pc.dictionary_encode(arr)
        if isinstance(enc, pa.ChunkedArray):
            enc = (
                enc.combine_chunks()
                if enc.num_chunks
                else pa.array([], pa.dictionary(pa.int32(), pa.string()))
            )
        local = enc.dictionary.to_pylist()
        mapping = np.array([self._add(v) for v in local] or [0], dtype=np.int32)
        idx = enc.indices.to_numpy(zero_copy_only=False)
        nulls = enc.indices.is_null().to_numpy(zero_copy_only=False)
        out = (
            mapping[np.where(nulls, 0, idx).astype(np.int64)]
            if len(local)
            else np.zeros(len(idx), np.int32)
        )
        out[nulls] = 0
        return out.astype(np.int32)

    def _add(self, v: Any) -> int:
        code = self.index.get(v)
        if code is None:
            code = self.index[v] = len(self.values)
            self.values.append(v)
        return code


@dataclass
class Snapshot:
    """One consistent set of columns (never changed in place once published)."""

    cols: dict[str, np.ndarray]
    dicts: dict[str, Dictionary]
    start_s: int  # the store holds tickets created at or after this (seconds since EPOCH)
    watermark: datetime  # the newest updated_at it has seen
    generation: Any  # what gridscope_meta said at load (a demo load changes it)
    version: int  # the data version it is current to
    built_at: float
    # True when "created" ascends with the rows (ids follow creation, as they do unless old
    # tickets are imported late): a created-at period is then a run of rows found by binary
    # search (queries.explore.engine._window).
    created_sorted: bool = False
    # The last few selections (view -> rows, clocks): the summary and the table's first page
    # of one filter change select the same rows. Never shared between snapshots (replace()
    # in catch_up gives each snapshot its own).
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows(self) -> int:
        return int(self.cols["id"].size)


def _read(conn: psycopg.Connection, where: str, params: dict[str, Any]) -> pa.Table:
    query = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(
        sql.SQL(_SELECT.format(where=where))
    )
    buf = io.BytesIO()
    with conn.cursor() as cur, cur.copy(query, {"epoch": EPOCH, **params}) as copy:
        for chunk in copy:
            buf.write(chunk)
    if buf.tell() == 0:
        return pa.table({k: pa.array([], t) for k, t in _TYPES.items()})
    buf.seek(0)
    return pacsv.read_csv(
        buf,
        read_options=pacsv.ReadOptions(column_names=list(_TYPES)),
        convert_options=pacsv.ConvertOptions(column_types=_TYPES, strings_can_be_null=True),
    )


def _encode(table: pa.Table, dicts: dict[str, Dictionary]) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    cols["id"] = table["id"].to_numpy()
    for name in ("created", "closed", "due", "warn"):
        cols[name] = table[name].fill_null(NULL_T).to_numpy().astype(np.int32)
    for name in ("sup", "cot", "reworked", "returned"):
        cols[name] = table[name].fill_null(-1).to_numpy().astype(np.int8)
    for name in CATEGORICAL:
        cols[name] = dicts[name].codes(table[name])
    for name in ("lon", "lat"):
        cols[name] = table[name].to_numpy()
    return cols


def _generation(conn: psycopg.Connection) -> Any:
    row = conn.execute("SELECT max(updated_at) FROM gridscope_meta").fetchone()
    return row[0] if row else None


def _max_updated(conn: psycopg.Connection, start: datetime) -> datetime:
    row = conn.execute(
        "SELECT max(updated_at) FROM ticket WHERE created_at >= %s", (start,)
    ).fetchone()
    return row[0] if row and row[0] else EPOCH


def load(conn: psycopg.Connection, now: datetime, days: int, version: int) -> Snapshot:
    """A new snapshot of the tickets created in the ``days`` days before ``now``, read one
    month at a time (memory stays near the final columns')."""
    from queries.cache import data_version

    t0 = time.perf_counter()
    start = now - timedelta(days=days)
    generation = _generation(conn)
    watermark = _max_updated(conn, start)
    dicts = {c: Dictionary() for c in CATEGORICAL}
    # Counted first so each month's rows land straight in arrays of the final size: peak
    # memory is the columns plus one month in transit, not the columns twice.
    row = conn.execute("SELECT count(*) FROM ticket WHERE created_at >= %s", (start,)).fetchone()
    expected = int(row[0]) if row else 0
    bounds: list[tuple[str, dict[str, Any]]] = []
    lo = start
    while lo < now + timedelta(days=1):
        bounds.append(
            (
                "t.created_at >= %(lo)s AND t.created_at < %(hi)s",
                {"lo": lo, "hi": lo + timedelta(days=31)},
            )
        )
        lo += timedelta(days=31)
    # Tickets created "in the future" of a pinned clock still belong to the store's range.
    bounds.append(("t.created_at >= %(lo)s", {"lo": lo}))
    cols: dict[str, np.ndarray] = {}
    filled = 0
    for where, params in bounds:
        part = _encode(_read(conn, where, params), dicts)
        n = int(part["id"].size)
        if not cols:
            cols = {k: np.empty(max(expected, n), v.dtype) for k, v in part.items()}
        if filled + n > cols["id"].size:  # tickets written since the count: grow (rare)
            cols = {k: np.concatenate([v[:filled], np.empty(n, v.dtype)]) for k, v in cols.items()}
        for k, v in part.items():
            cols[k][filled : filled + n] = v
        filled += n
    cols = {k: v[:filled] for k, v in cols.items()}
    if filled > 1 and not np.all(cols["id"][:-1] < cols["id"][1:]):
        order = np.argsort(cols["id"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
    try:  # hand the buffers pyarrow freed back to the system
        pa.default_memory_pool().release_unused()
    except AttributeError:
        pass
    snap = Snapshot(
        cols,
        dicts,
        to_s(start),
        watermark,
        generation,
        version if version >= 0 else data_version(conn),
        time.monotonic(),
        ascending(cols["created"]),
    )
    log.info(
        "explore column store: %d tickets loaded in %.1f s", snap.rows, time.perf_counter() - t0
    )
    return snap


def catch_up(conn: psycopg.Connection, snap: Snapshot, version: int) -> Snapshot:
    """``snap`` with the tickets written since its watermark applied (new columns arrays; the
    old snapshot stays valid for readers that hold it)."""
    since = snap.watermark - CATCH_UP_SLACK
    start = EPOCH + timedelta(seconds=snap.start_s)
    table = _read(
        conn,
        "t.updated_at >= %(since)s AND t.created_at >= %(start)s",
        {"since": since, "start": start},
    )
    watermark = max(snap.watermark, _max_updated_since(conn, since, start))
    if table.num_rows == 0:
        return replace(snap, version=version, watermark=watermark, memo={})
    dicts = snap.dicts  # dictionaries only grow: codes already handed out stay valid
    new = _encode(table, dicts)
    ids = snap.cols["id"]
    pos = np.searchsorted(ids, new["id"])
    found = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == new["id"])
    cols = {}
    for k, v in snap.cols.items():
        col = v.copy() if found.any() else v
        if found.any():
            col[pos[found]] = new[k][found]
        cols[k] = col
    if (~found).any():
        cols = {k: np.concatenate([cols[k], new[k][~found]]) for k in cols}
        if cols["id"].size > 1 and not np.all(cols["id"][:-1] < cols["id"][1:]):
            order = np.argsort(cols["id"], kind="stable")
            cols = {k: v[order] for k, v in cols.items()}
    return replace(
        snap,
        cols=cols,
        watermark=watermark,
        version=version,
        # Rows changed in place keep their creation time: only appended rows can break it.
        created_sorted=ascending(cols["created"]) if (~found).any() else snap.created_sorted,
        memo={},
    )


def ascending(values: np.ndarray) -> bool:
    """True when ``values`` never decrease."""
    return bool(values.size < 2 or np.all(values[:-1] <= values[1:]))


def _max_updated_since(conn: psycopg.Connection, since: datetime, start: datetime) -> datetime:
    row = conn.execute(
        "SELECT max(updated_at) FROM ticket WHERE updated_at >= %s AND created_at >= %s",
        (since, start),
    ).fetchone()
    return row[0] if row and row[0] else since + CATCH_UP_SLACK


@dataclass
class ColumnStore:
    """The per-process store: loaded on first use, caught up whenever the data version moves,
    reloaded in the background when it is older than ``max_age_s`` (the window follows the
    calendar) while the old snapshot keeps answering."""

    days: int = 400
    max_age_s: float = 6 * 3600.0
    _snap: Snapshot | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _reloading: bool = False
    # Set when a background load ends: a request that finds one under way waits for it
    # rather than reading the whole year a second time (twice the memory, twice the time).
    _loaded: threading.Event = field(default_factory=threading.Event)

    def current(self, pool, now: datetime, version: int) -> Snapshot:
        """The snapshot current to data ``version`` (loading it in this thread the first time
        and catching it up under a lock: one thread per process does the reading)."""
        snap = self._snap
        if snap is None and self._reloading:
            self._loaded.wait(timeout=300)
            snap = self._snap
        if snap is None:
            with self._lock:
                if self._snap is None:
                    with pool.connection() as conn:
                        self._snap = load(conn, now, self.days, version)
            snap = self._snap
        assert snap is not None
        if time.monotonic() - snap.built_at >= self.max_age_s:
            self._reload_later(pool, now)
        if snap.version != version:
            with self._lock:
                cur = self._snap
                assert cur is not None
                if cur.version != version:
                    with pool.connection() as conn:
                        if _generation(conn) != cur.generation:
                            self._snap = load(conn, now, self.days, version)
                        else:
                            self._snap = catch_up(conn, cur, version)
            snap = self._snap
        assert snap is not None
        return snap

    def ready(self) -> bool:
        """True when a snapshot is loaded (``current`` then only catches it up)."""
        return self._snap is not None

    def warm(self, pool, now: datetime) -> None:
        """Start loading in the background if nothing is loaded yet (the workbench's page
        calls it, so the columns are on their way before its first callback asks)."""
        if self._snap is not None or self._reloading:
            return
        self._reload_later(pool, now)

    def _reload_later(self, pool, now: datetime) -> None:
        with self._lock:
            if self._reloading:
                return
            self._reloading = True
            self._loaded.clear()

        def run() -> None:
            try:
                with pool.connection() as conn:
                    fresh = load(conn, now, self.days, -1)
                with self._lock:
                    # The next request catches it up if writes came since; a snapshot loaded
                    # meanwhile by a request is at least as fresh: keep it.
                    if self._snap is None or self._snap.built_at < fresh.built_at:
                        self._snap = fresh
            except Exception:  # a background reload has no caller: keep the old snapshot
                log.exception("explore column store: reload failed")
            finally:
                self._reloading = False
                self._loaded.set()

        threading.Thread(target=run, name="explore-columns", daemon=True).start()

    def close(self) -> None:
        self._snap = None
