"""`gridscope import tickets FILE.csv --mapping NAME`: a CSV export of service requests into
tickets, set-based and idempotent.

The pipeline (no per-row loop anywhere):

1. read the CSV (gzip by magic number, the mapping's encoding) as text columns (``csv_source``);
2. parse with pandas: dates with the mapping's explicit format in its time zone, coordinates,
   categories, statuses and sources through the mapping's tables; every bad row gets exactly one
   reason (the first check it fails, in the order of ``REASONS``);
3. drop rows already loaded: one query against ``ticket_external`` in the mapping's namespace;
4. spatial join in bulk: an STRtree of the current grids (and micro-grids) of the jurisdiction,
   read once from PostGIS, queried with every distinct point of the file;
5. binary COPY into ``ticket``, ``ticket_event`` and ``ticket_external`` and a set-based upsert
   of ``stat_daily``, all in one transaction with the ``import_run`` row; the data version is
   bumped after commit. Rejected rows go to a CSV beside the input (original columns plus
   ``source_row`` and ``reject_reason``).

How an imported ticket looks (the state comes from the file's own timestamps):

* every ticket has one event, ``create`` at the file's open time by actor ``system`` with
  ``data = {"imported": true, "namespace", "source"}``; its ``to_state`` is the ticket's state,
  so the event log still replays under ``domain.workflow.rules`` (a create may start in any
  state; no transition is invented for steps the source system did not record);
* closed rows: state ``closed``, ``closed_at = finished_at`` = the file's closing time,
  ``due_at = original_due_at`` = the file's due time, ``closed_on_time`` = closed by the due time
  (true when the file has no due time), no running stage. Because the closure is carried by the
  create event, the rollup counts it on the *opening* day (``rebuild_stat_daily.sql`` counts a
  closure on the day of the event that closes); ``ticket.closed_at`` keeps the true time;
* open rows: the mapping's ``open_state`` (default ``in_progress``, stage T5) with
  ``stage_due_at = due_at = original_due_at`` = the file's due time, so they count as overdue
  once past it; the warning instant is at 80 % of the open→due span (DOMAIN.md §4: warn when
  ≤ 20 % is left); rows without a due time have no stage deadline and are never overdue.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely

from domain.categories import CATEGORIES
from domain.config import Settings
from domain.workflow.rules import STAGE_OF_STATE, State

from .csv_source import read_csv
from .errors import ImportRefused
from .mapping import ISO8601, TicketMapping

TS = pa.timestamp("us", tz="UTC")
# Reject reasons, in the order rows are checked (a row gets the first it fails).
REASONS = (
    "missing external id",
    "duplicate external id in the file",
    "missing open time",
    "unparseable date",
    "missing coordinates",
    "invalid coordinates",
    "geocoder placeholder point",
    "unknown category",
    "unknown status",
    "closed without a closing time",
    "closed before opened",
    "point outside every grid",
)
WARN_FRACTION = 0.8  # DOMAIN.md §4: warning when at most 20 % of the stage's time is left


@dataclass
class TicketImportReport:
    """What a ticket import read, loaded, skipped and rejected, and how long each phase took."""

    file: str
    mapping: str
    namespace: str
    rows: int = 0
    loaded: int = 0
    already_loaded: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    open: int = 0
    open_past_due: int = 0
    multi_grid_points: int = 0
    ignored_closing_times: int = 0
    seeded_item_list: bool = False
    rejects_path: str | None = None
    dry_run: bool = False
    import_run_id: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        """Rows of the file handled per second of the whole import (read to commit)."""
        return self.rows / max(1e-9, self.seconds.get("total", 0.0))

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_s": round(self.rows_per_s)}


class _Rows:
    """The per-row verdict: ok, or the first reason the row failed."""

    def __init__(self, n: int):
        self.ok = np.ones(n, dtype=bool)
        self.reason = np.full(n, "", dtype=object)
        self.kind = np.full(n, "", dtype=object)

    def flag(self, mask: Any, kind: str, message: str | Callable[[np.ndarray], list[str]]) -> None:
        """Mark rows in ``mask`` not yet rejected; ``message`` is text or, for messages that
        quote the row's values, a function of the row indices returning one text per row."""
        sel = np.flatnonzero(np.asarray(mask, dtype=bool) & self.ok)
        if not len(sel):
            return
        self.reason[sel] = message if isinstance(message, str) else message(sel)
        self.kind[sel] = kind
        self.ok[sel] = False


@dataclass
class _Parsed:
    """The mapped fields of every row: numpy arrays (timestamps naive UTC datetime64[us]) and
    Arrow string arrays, all of the file's length."""

    ext: np.ndarray
    created: np.ndarray
    due: np.ndarray
    closed_at: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    is_closed: np.ndarray
    category: pa.Array
    source: pa.Array
    urgency: pa.Array
    address: pa.Array
    description: pa.Array


def default_rejects_path(path: Path) -> Path:
    """``<name>.rejects.csv`` next to the input (``.csv``/``.gz`` suffixes dropped)."""
    name = path.name
    for suffix in (".gz", ".csv", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return path.with_name(f"{name}.rejects.csv")


def _text(table: pa.Table, column: str) -> pa.Array:
    """A column as one Arrow string array, surrounding whitespace removed."""
    return pc.utf8_trim_whitespace(table.column(column).combine_chunks())


def _quoted(arr: pa.Array, rows: np.ndarray) -> list[str]:
    return [repr(v[:80]) for v in arr.take(pa.array(rows, pa.int64())).to_pylist()]


def _naive_utc(arr: pa.Array) -> np.ndarray:
    """Arrow timestamps (any zone) → naive UTC numpy datetime64[us], NaT for nulls."""
    return arr.cast(TS).cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)


def _parse_dates(text: pa.Array, fmt: str, tz: str) -> np.ndarray:
    """Text → naive UTC datetime64[us] (NaT where empty or unparseable).

    A strptime format is parsed by Arrow, vectorised; values are local ``tz`` time. The repeated
    hour when daylight saving time ends is read as its first (daylight) occurrence; a time in
    the hour skipped when it starts is moved to the first instant after the gap. "ISO8601"
    values may carry an offset (then it wins) or not (then they are local ``tz`` time).
    """
    if fmt != ISO8601:
        local = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        return _naive_utc(
            pc.assume_timezone(local, timezone=tz, ambiguous="earliest", nonexistent="latest")
        )
    values = pd.Series(text.to_numpy(zero_copy_only=False), dtype=object)
    zoned = values.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    if zoned.any():
        parsed = pd.to_datetime(values[zoned], format="ISO8601", utc=True, errors="coerce")
        out[zoned.to_numpy()] = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[us]")
    naive = (~zoned & (values != "")).to_numpy()
    if naive.any():
        parsed = pd.to_datetime(values[naive], format="ISO8601", errors="coerce")
        local = pa.array(
            parsed.to_numpy(dtype="datetime64[us]"), pa.timestamp("us"), from_pandas=True
        )
        out[naive] = _naive_utc(
            pc.assume_timezone(local, timezone=tz, ambiguous="earliest", nonexistent="latest")
        )
    return out


def _lookup(arr: pa.Array, table: dict[str, str]) -> pa.Array:
    """Each value translated through ``table`` (null where it has no entry)."""
    if not table:
        return pa.nulls(len(arr), pa.string())
    idx = pc.index_in(arr, value_set=pa.array(list(table), pa.string()))
    return pc.take(pa.array(list(table.values()), pa.string()), idx)


def _categories(tbl: pa.Table, m: TicketMapping, known: set[str]) -> pa.Array:
    out = pa.nulls(tbl.num_rows, pa.string())
    for col in m.category.columns:
        values = _text(tbl, col)
        out = pc.coalesce(out, _lookup(values, m.category.values.get(col, {})))
        if m.category.passthrough:
            known_arr = pa.array(sorted(known), pa.string())
            out = pc.coalesce(
                out,
                pc.if_else(
                    pc.is_in(values, value_set=known_arr), values, pa.scalar(None, pa.string())
                ),
            )
    if m.category.default:
        out = pc.coalesce(out, pa.scalar(m.category.default, pa.string()))
    return out


def _translate(tbl: pa.Table, rule: Any) -> pa.Array:
    if rule.column is None:
        return pa.array(np.full(tbl.num_rows, rule.default, dtype=object), pa.string())
    return pc.coalesce(
        _lookup(_text(tbl, rule.column), rule.values), pa.scalar(rule.default, pa.string())
    )


def _parse(
    tbl: pa.Table, m: TicketMapping, known: set[str], rows: _Rows, report: TicketImportReport
) -> _Parsed:
    """Map and check every row; bad rows are flagged in ``rows`` with their first reason."""
    cols = m.columns
    n = tbl.num_rows
    ext_arr = _text(tbl, cols["external_id"])
    ext = ext_arr.to_numpy(zero_copy_only=False)
    rows.flag(ext == "", "missing external id", f"missing {cols['external_id']}")
    rows.flag(
        pd.Series(ext).duplicated(keep="first").to_numpy() & (ext != ""),
        "duplicate external id in the file",
        f"duplicate {cols['external_id']} in the file (its first row is loaded)",
    )

    dates: dict[str, np.ndarray] = {}
    for key in ("created_at", "due_at", "closed_at"):
        if key not in cols:
            dates[key] = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
            continue
        text = _text(tbl, cols[key])
        empty = pc.equal(text, "").to_numpy(zero_copy_only=False)
        parsed = _parse_dates(text, m.date_format, m.timezone)
        if key == "created_at":
            rows.flag(empty, "missing open time", f"missing {cols[key]}")
        rows.flag(
            ~empty & np.isnat(parsed),
            "unparseable date",
            lambda r, col=cols[key], text=text: [
                f"unparseable {col} {v} (expected {m.date_format})" for v in _quoted(text, r)
            ],
        )
        dates[key] = parsed

    lat_t, lon_t = _text(tbl, cols["lat"]), _text(tbl, cols["lon"])
    rows.flag(
        pc.or_(pc.equal(lat_t, ""), pc.equal(lon_t, "")).to_numpy(zero_copy_only=False),
        "missing coordinates",
        f"missing coordinates ({cols['lat']}/{cols['lon']})",
    )
    lat = pd.to_numeric(
        pd.Series(lat_t, dtype=pd.ArrowDtype(pa.string())), errors="coerce"
    ).to_numpy(dtype=float, na_value=np.nan)
    lon = pd.to_numeric(
        pd.Series(lon_t, dtype=pd.ArrowDtype(pa.string())), errors="coerce"
    ).to_numpy(dtype=float, na_value=np.nan)
    bad_xy = ~(
        np.isfinite(lat)
        & np.isfinite(lon)
        & (np.abs(lat) <= 90)
        & (np.abs(lon) <= 180)
        & ~((lat == 0) & (lon == 0))
    )
    rows.flag(
        bad_xy,
        "invalid coordinates",
        lambda r: [
            f"invalid coordinates ({cols['lat']}={a}, {cols['lon']}={b})"
            for a, b in zip(_quoted(lat_t, r), _quoted(lon_t, r), strict=True)
        ],
    )
    for plon, plat in m.placeholder_points:
        at = np.isclose(lon, plon, rtol=0, atol=1e-9) & np.isclose(lat, plat, rtol=0, atol=1e-9)
        rows.flag(
            at,
            "geocoder placeholder point",
            f"geocoder placeholder point (lon {plon}, lat {plat}) in the mapping",
        )

    category = _categories(tbl, m, known)
    rows.flag(
        pc.is_null(category).to_numpy(zero_copy_only=False),
        "unknown category",
        lambda r: [
            "unknown category ("
            + ", ".join(f"{c}={v}" for c, v in zip(m.category.columns, vals, strict=True))
            + ") and the mapping has no default"
            for vals in zip(*(_quoted(_text(tbl, c), r) for c in m.category.columns), strict=True)
        ],
    )

    st = m.state
    closed_at = dates["closed_at"]
    if st.column:
        status = _text(tbl, st.column)
        is_closed = pc.is_in(status, value_set=pa.array(sorted(st.closed), pa.string())).to_numpy(
            zero_copy_only=False
        )
        is_open = (
            pc.is_in(status, value_set=pa.array(sorted(st.open), pa.string())).to_numpy(
                zero_copy_only=False
            )
            if st.open
            else ~is_closed
        )
        rows.flag(
            ~(is_closed | is_open),
            "unknown status",
            lambda r: [f"unknown {st.column} {v}" for v in _quoted(status, r)],
        )
    else:
        is_closed = ~np.isnat(closed_at)
    closed_col = cols.get("closed_at", "closing time")
    rows.flag(
        is_closed & np.isnat(closed_at),
        "closed without a closing time",
        f"closed but no {closed_col}",
    )
    rows.flag(
        is_closed & (closed_at < dates["created_at"]),
        "closed before opened",
        f"{closed_col} before {cols['created_at']}",
    )
    report.ignored_closing_times = int((rows.ok & ~is_closed & ~np.isnat(closed_at)).sum())

    def optional(key: str) -> pa.Array:
        if key not in cols:
            return pa.nulls(n, pa.string())
        t = _text(tbl, cols[key])
        return pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t)

    return _Parsed(
        ext=ext,
        created=dates["created_at"],
        due=dates["due_at"],
        closed_at=closed_at,
        lon=lon,
        lat=lat,
        is_closed=is_closed,
        category=category,
        source=_translate(tbl, m.source),
        urgency=_translate(tbl, m.urgency),
        address=optional("address"),
        description=optional("description"),
    )


def _join_points(
    lon: np.ndarray,
    lat: np.ndarray,
    grids: list[tuple[str, bytes]],
    micro: list[tuple[str, str, bytes]],
) -> tuple[np.ndarray, np.ndarray, int]:
    """(grid code or None, micro-grid code or None, points in several grids) per point.

    A point on a shared edge or in an overlap goes to the grid with the lowest code.
    """
    n = len(lon)
    grid_of = np.full(n, None, dtype=object)
    micro_of = np.full(n, None, dtype=object)
    if n == 0 or not grids:
        return grid_of, micro_of, 0
    xy = lon + 1j * lat
    uniq, inverse = np.unique(xy, return_inverse=True)
    pts = shapely.points(uniq.real, uniq.imag)
    gcodes = np.array([c for c, _ in grids], dtype=object)  # ordered by code
    ggeoms = shapely.from_wkb([w for _, w in grids])
    shapely.prepare(ggeoms)
    pi, gi = shapely.STRtree(ggeoms).query(pts, predicate="covered_by")
    best = np.full(len(uniq), len(grids), dtype=np.int64)
    np.minimum.at(best, pi, gi)
    hits = np.bincount(pi, minlength=len(uniq))
    found = best < len(grids)
    ugrid = np.full(len(uniq), None, dtype=object)
    ugrid[found] = gcodes[best[found]]
    umicro = np.full(len(uniq), None, dtype=object)
    if micro:
        mcodes = np.array([c for c, _, _ in micro], dtype=object)
        mgrid = np.array([g for _, g, _ in micro], dtype=object)
        mgeoms = shapely.from_wkb([w for _, _, w in micro])
        shapely.prepare(mgeoms)
        qi, mi = shapely.STRtree(mgeoms).query(pts, predicate="covered_by")
        same = mgrid[mi] == ugrid[qi]
        qi, mi = qi[same], mi[same]
        mbest = np.full(len(uniq), len(micro), dtype=np.int64)
        np.minimum.at(mbest, qi, mi)
        mfound = mbest < len(micro)
        umicro[mfound] = mcodes[mbest[mfound]]
    several = int((hits[inverse] > 1).sum())
    return ugrid[inverse], umicro[inverse], several


def import_tickets(
    settings: Settings,
    path: Path,
    mapping: TicketMapping,
    *,
    rejects_path: Path | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    now: datetime | None = None,
) -> TicketImportReport:
    """Import the tickets of a CSV file under ``mapping``; see the module docstring."""
    from tqdm import tqdm

    from queries import imports as q
    from queries.cache import bump_data_version
    from queries.db import connect
    from queries.item_list import known_categories, seed_defaults
    from queries.scope import Scope

    t0 = time.perf_counter()
    now = now or datetime.now(UTC)
    report = TicketImportReport(
        file=str(path), mapping=mapping.name, namespace=mapping.namespace, dry_run=dry_run
    )
    rejects_path = rejects_path or default_rejects_path(path)
    report.rejects_path = str(rejects_path)
    _check_writable(rejects_path)
    scope = Scope(settings.jurisdiction)

    with connect(settings) as conn:
        known = set(known_categories(conn))
        seed_items = not known
        if seed_items:
            # An empty item list (a database that never loaded the demo): the defaults of
            # DOMAIN.md §3 are seeded in the import's transaction, and the report says so.
            known = {c.code for c in CATEGORIES}
        unknown = sorted(mapping.category_codes() - known)
        if unknown:
            raise ImportRefused(
                f"mapping {mapping.name} uses category code(s) not in the item"
                f" list: {', '.join(unknown)}"
            )
        grids = q.grids_for_join(conn, scope)
        micro = q.micro_grids_for_join(conn, scope)
        conn.rollback()
    if not grids:
        raise ImportRefused(
            "there are no current grids to place tickets in: import grids first"
            " (gridscope import grids)"
        )

    t = time.perf_counter()
    csv = read_csv(path, encoding or mapping.encoding, mapping.delimiter)
    lacking = [c for c in mapping.source_columns() if c not in csv.columns]
    if lacking:
        raise ImportRefused(
            f"{path}: mapping {mapping.name} names column(s) the file lacks: "
            f"{', '.join(lacking)} (the file has: {', '.join(csv.columns[:40])})"
        )
    report.seconds["read"] = time.perf_counter() - t
    n = csv.table.num_rows
    report.rows = n
    if n == 0:
        raise ImportRefused(f"{path}: no data rows")

    t = time.perf_counter()
    rows = _Rows(n)
    parsed = _parse(csv.table, mapping, known, rows, report)
    report.seconds["parse"] = time.perf_counter() - t

    with connect(settings) as conn:
        try:
            t = time.perf_counter()
            if not dry_run:
                q.lock_ticket_namespace(conn, mapping.namespace)
            candidates = np.flatnonzero(rows.ok)
            ext_np = parsed.ext
            existing = q.existing_external_ids(
                conn, mapping.namespace, pa.array(ext_np[candidates], pa.string())
            )
            already = np.zeros(n, dtype=bool)
            if existing:
                already[candidates] = pd.Series(ext_np[candidates]).isin(existing).to_numpy()
            report.already_loaded = int(already.sum())
            report.seconds["dedupe"] = time.perf_counter() - t

            t = time.perf_counter()
            todo = np.flatnonzero(rows.ok & ~already)
            g, mg, several = _join_points(parsed.lon[todo], parsed.lat[todo], grids, micro)
            grid_of = np.full(n, None, dtype=object)
            micro_of = np.full(n, None, dtype=object)
            grid_of[todo], micro_of[todo] = g, mg
            outside = np.zeros(n, dtype=bool)
            outside[todo] = pd.isna(g)
            rows.flag(
                outside, "point outside every grid", "point outside every grid of the jurisdiction"
            )
            report.multi_grid_points = several
            report.seconds["join"] = time.perf_counter() - t

            load = rows.ok & ~already
            idx = np.flatnonzero(load)
            report.loaded = len(idx)
            report.rejected = int((~rows.ok).sum())
            kinds, counts = np.unique(rows.kind[~rows.ok].astype(str), return_counts=True)
            report.reasons = {str(k): int(c) for k, c in zip(kinds, counts, strict=True)}
            is_closed = parsed.is_closed
            report.closed = int(is_closed[idx].sum())
            report.open = len(idx) - report.closed
            open_due = parsed.due[idx][~is_closed[idx]]
            report.open_past_due = int(
                (open_due < np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")).sum()
            )

            if not dry_run and len(idx):
                t = time.perf_counter()
                if seed_items:
                    report.seeded_item_list = seed_defaults(conn) > 0
                ids = q.allocate_ticket_ids(conn, len(idx))
                tables = _tables(idx, ids, parsed, grid_of, micro_of, mapping, settings, now)
                report.seconds["build"] = time.perf_counter() - t
                t = time.perf_counter()
                with tqdm(
                    total=3 * len(idx),
                    unit="row",
                    unit_scale=True,
                    desc="COPY",
                    disable=not progress,
                    mininterval=0.5,
                    leave=False,
                ) as bar:
                    q.copy_tickets(
                        conn,
                        tables["ticket"],
                        tables["ticket_event"],
                        tables["ticket_external"],
                        bar.update,
                    )
                report.seconds["copy"] = time.perf_counter() - t
                t = time.perf_counter()
                q.add_stat_daily(conn, _stat_counts(tables, settings))
                report.seconds["rollup"] = time.perf_counter() - t
            if dry_run or not len(idx):
                conn.rollback()
            else:
                report.seconds["total"] = time.perf_counter() - t0
                report.import_run_id = q.record_import_run(
                    conn,
                    kind="tickets",
                    file_name=path.name,
                    file_sha256=csv.sha256,
                    options={
                        "mapping": mapping.name,
                        "namespace": mapping.namespace,
                        "mapping_path": str(mapping.path),
                        "encoding": csv.encoding,
                        "rejects": str(rejects_path),
                    },
                    started_at=now,
                    rows_total=n,
                    rows_loaded=report.loaded,
                    rows_skipped=report.already_loaded,
                    rows_rejected=report.rejected,
                    report=report.as_json(),
                )
                conn.commit()
        except BaseException:
            conn.rollback()
            raise
        if not dry_run and report.loaded:
            bump_data_version(conn)
            conn.commit()

    t = time.perf_counter()
    _write_rejects(rejects_path, csv.table, rows)
    report.seconds["rejects"] = time.perf_counter() - t
    report.seconds["total"] = time.perf_counter() - t0
    return report


def _check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ImportRefused(f"rejects file {path}: directory {parent} does not exist")
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(parent, os.W_OK):
        raise ImportRefused(f"rejects file {path} is not writable: choose one with --rejects")


def _write_rejects(path: Path, table: pa.Table, rows: _Rows) -> None:
    bad = np.flatnonzero(~rows.ok)
    out = table.take(pa.array(bad, pa.int64()))
    out = out.append_column("source_row", pa.array(bad + 1, pa.int64()))
    out = out.append_column("reject_reason", pa.array(rows.reason[bad].tolist(), pa.string()))
    pacsv.write_csv(out, path)


def _ts(values: np.ndarray) -> pa.Array:
    """Naive UTC datetime64[us] (NaT allowed) → Arrow timestamp[us, UTC] with nulls."""
    values = np.asarray(values, dtype="datetime64[us]")
    return pa.array(values.view(np.int64), pa.int64(), mask=np.isnat(values)).cast(TS)


_EWKB_POINT = np.dtype(
    [("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
)


def _ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> pa.Array:
    """EWKB points (little-endian, with SRID) built in one numpy buffer: 25 bytes each."""
    n = len(lon)
    rec = np.empty(n, dtype=_EWKB_POINT)
    rec["order"], rec["type"], rec["srid"] = 1, 0x20000001, srid
    rec["x"], rec["y"] = lon, lat
    offsets = np.arange(0, 25 * (n + 1), 25, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())]
    )


def _local_yyyymmdd(ts: pa.Array, tz: str) -> pa.Array:
    """The local calendar day of UTC timestamps in ``tz`` as 'yyyymmdd' text."""
    local = pc.local_timestamp(ts.cast(pa.timestamp("us", tz=tz)))
    ymd = pc.add(
        pc.add(pc.multiply(pc.year(local), 10000), pc.multiply(pc.month(local), 100)), pc.day(local)
    )
    return pc.cast(ymd, pa.string())


def _tables(
    idx: np.ndarray,
    ids: np.ndarray,
    p: _Parsed,
    grid_of: np.ndarray,
    micro_of: np.ndarray,
    m: TicketMapping,
    settings: Settings,
    now: datetime,
) -> dict[str, pa.Table]:
    """The Arrow tables to COPY, typed like the schema, for the rows ``idx``."""
    n = len(idx)
    take = pa.array(idx, pa.int64())
    closed = p.is_closed[idx]
    open_ = ~closed
    open_state = m.state.open_state
    state = pa.array(np.where(closed, State.CLOSED.value, open_state.value), pa.string())
    stage = pa.array(np.where(closed, None, STAGE_OF_STATE[open_state]), pa.string())
    nat = np.datetime64("NaT", "us")
    c_us, d_us, x_us = p.created[idx], p.due[idx], p.closed_at[idx]
    span = d_us - c_us
    warn = np.where(
        span > np.timedelta64(0, "us"),
        c_us + (span.astype(np.int64) * WARN_FRACTION).astype("timedelta64[us]"),
        d_us,
    )
    on_time = np.isnat(d_us) | (x_us <= d_us)
    created_utc = _ts(c_us)
    ids_arr = pa.array(ids, pa.int64())
    local_day = _local_yyyymmdd(created_utc, settings.timezone)
    ticket_no = pc.binary_join_element_wise(
        "GS", local_day, pc.utf8_lpad(pc.cast(ids_arr, pa.string()), 7, "0"), ""
    )
    source = p.source.take(take)
    ext = pa.array(p.ext[idx], pa.string())
    ticket = pa.table(
        {
            "id": ids_arr,
            "created_at": created_utc,
            "ticket_no": ticket_no,
            "external_id": ext,
            "source": source,
            "category_code": p.category.take(take),
            "urgency": p.urgency.take(take),
            "state": state,
            "stage": stage,
            "stage_started_at": _ts(np.where(open_, c_us, nat)),
            "stage_warn_at": _ts(np.where(open_, warn, nat)),
            "stage_due_at": _ts(np.where(open_, d_us, nat)),
            "due_at": _ts(d_us),
            "original_due_at": _ts(d_us),
            "grid_code": pa.array(grid_of[idx], pa.string()),
            "micro_grid_code": pa.array(micro_of[idx], pa.string()),
            "geom": _ewkb_points(p.lon[idx], p.lat[idx]),
            "address": p.address.take(take),
            "description": p.description.take(take),
            "reported_at": created_utc,
            "finished_at": _ts(np.where(closed, x_us, nat)),
            "closed_at": _ts(np.where(closed, x_us, nat)),
            "closed_on_time": pa.array(np.where(closed, on_time, None), pa.bool_()),
            "updated_at": pa.array(np.full(n, now.astimezone(UTC)), TS),
        }
    )
    ns = json.dumps(m.namespace)
    data = pc.binary_join_element_wise(
        f'{{"imported": true, "namespace": {ns}, "source": "', source, '"}', ""
    )
    event = pa.table(
        {
            "ticket_id": ids_arr,
            "ticket_created_at": created_utc,
            "at": created_utc,
            "action": pa.array(np.full(n, "create", dtype=object), pa.string()),
            "from_state": pa.nulls(n, pa.string()),
            "to_state": state,
            "actor_kind": pa.array(np.full(n, "system", dtype=object), pa.string()),
            "data": data,
        }
    )
    external = pa.table(
        {
            "namespace": pa.array(np.full(n, m.namespace, dtype=object), pa.string()),
            "external_id": ext,
            "ticket_id": ids_arr,
            "ticket_created_at": created_utc,
        }
    )
    return {"ticket": ticket, "ticket_event": event, "ticket_external": external}


def _stat_counts(tables: dict[str, pa.Table], settings: Settings) -> pa.Table:
    """Rollup counts of the new tickets with the rules of ``rebuild_stat_daily.sql``: created
    and (create into 'reported') reported on the create event's local day; closed and
    closed-on-time for create events into 'closed', on the same day."""
    t = tables["ticket"]
    state = t.column("state")
    local = pc.local_timestamp(
        t.column("created_at").cast(pa.timestamp("us", tz=settings.timezone))
    )
    reported = pc.cast(pc.equal(state, State.REPORTED.value), pa.int64())
    frame = pa.table(
        {
            "day": local.cast(pa.date32()),
            "grid": t.column("grid_code"),
            "cat": t.column("category_code"),
            "created": pa.array(np.ones(t.num_rows, dtype=np.int64)),
            "reported": reported,
            "reported_on_time": reported,
            "closed": pc.cast(pc.equal(state, State.CLOSED.value), pa.int64()),
            "closed_on_time": pc.cast(pc.fill_null(t.column("closed_on_time"), False), pa.int64()),
        }
    )
    counts = ("created", "reported", "reported_on_time", "closed", "closed_on_time")
    agg = frame.group_by(["day", "grid", "cat"]).aggregate([(c, "sum") for c in counts])
    return pa.table(
        {
            "day": agg.column("day"),
            "grid_code": agg.column("grid"),
            "category_code": agg.column("cat"),
            **{c: agg.column(f"{c}_sum").cast(pa.int32()) for c in counts},
        }
    )
