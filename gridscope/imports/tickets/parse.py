"""Parsing a ticket file: every row mapped and checked, vectorised (no per-row loop).

Dates are read with the mapping's explicit format in its time zone, coordinates as numbers,
categories, statuses and sources through the mapping's tables; every bad row gets exactly one
reason, the first check it fails, in the order of ``REASONS``. A closed row whose closing time
is a little before its open time (within the mapping's ``clock_skew_tolerance_s``) is not a bad
row but clock skew between the source's systems: it is kept, closed at its open time, and
flagged ``clock_skew``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from domain.config import Settings
from domain.item_history import ItemTimeline

from ..mapping import ISO8601, TicketMapping
from .report import TicketImportReport

TS = pa.timestamp("us", tz="UTC")
# The deployment's time zone when the caller gives none (the setting's default, declared once).
DEFAULT_TZ: str = Settings.model_fields["timezone"].default
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
    "category not in force",
    "unknown status",
    "closed without a closing time",
    "closed before opened",
    "point outside every grid",
)


class Rows:
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
class Parsed:
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
    source_type: pa.Array
    source_reason: pa.Array
    # Closed within the clock-skew tolerance before opening: closed_at above is then the open
    # time, and source_closed_at the file's own closing time (NaT for every other row).
    clock_skew: np.ndarray
    source_closed_at: np.ndarray


# ticket.source_type / source_reason hold at most this many characters (migration 0007).
SOURCE_TEXT_MAX = 200
IMPORT_FLAG_CLOCK_SKEW = "clock_skew"


def _text(table: pa.Table, column: str) -> pa.Array:
    """A column as one Arrow string array, surrounding whitespace removed."""
    return pc.utf8_trim_whitespace(table.column(column).combine_chunks())


def _quoted(arr: pa.Array, rows: np.ndarray) -> list[str]:
    return [repr(v[:80]) for v in arr.take(pa.array(rows, pa.int64())).to_pylist()]


def _naive_utc(arr: pa.Array) -> np.ndarray:
    """Arrow timestamps (any zone) → naive UTC numpy datetime64[us], NaT for nulls."""
    return arr.cast(TS).cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)


def parse_dates(text: pa.Array, fmt: str, tz: str) -> np.ndarray:
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


def _span(us: int) -> str:
    """A duration in microseconds as a short text: '58 s', '301.5 s', '3 h 20 min', '2 d 4 h'
    (seconds up to an hour, the unit of the tolerance it is compared with)."""
    s = int(us // 1_000_000)
    if s < 3600:
        return f"{us / 1e6:g} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400:,} d {s % 86400 // 3600} h"


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


def not_in_force(
    rows: Rows, category: pa.Array, created: np.ndarray, items: ItemTimeline, tz: str
) -> None:
    """Flag the rows whose category is not in force on their local day (``created`` naive UTC
    read in ``tz``, the deployment's zone) by the item list's decisions; the reason names the
    decision that withdrew it or when it comes into force. One check per distinct (category,
    day) pair, joined back to the rows."""
    sel = np.flatnonzero(rows.ok)
    if not len(sel):
        return
    local = pd.Series(created[sel]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    frame = pd.DataFrame(
        {
            "code": category.take(pa.array(sel, pa.int64())).to_numpy(zero_copy_only=False),
            "day": local.to_numpy().astype("datetime64[D]"),
        }
    )
    pairs = frame.drop_duplicates().reset_index(drop=True)
    why = []
    for code, day in zip(pairs["code"], pairs["day"], strict=True):
        d = pd.Timestamp(day).date()
        reason = items.refusal(code, d)
        why.append(f"{reason} (the ticket opened on {d})" if reason else "")
    pairs["why"] = why
    reasons = np.full(len(rows.ok), "", dtype=object)
    reasons[sel] = frame.merge(pairs, on=["code", "day"], how="left")["why"].to_numpy()
    rows.flag(reasons != "", "category not in force", lambda r: list(reasons[r]))


def parse(
    tbl: pa.Table,
    m: TicketMapping,
    known: set[str],
    rows: Rows,
    report: TicketImportReport,
    items: ItemTimeline | None = None,
    tz: str = DEFAULT_TZ,
) -> Parsed:
    """Map and check every row; bad rows are flagged in ``rows`` with their first reason.
    With ``items`` (the item list through time) a row whose category is not in force on its
    local day in ``tz`` (the deployment's time zone) is refused (``not_in_force``)."""
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
        parsed = parse_dates(text, m.date_format, m.timezone)
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

    if items is not None:
        not_in_force(rows, category, dates["created_at"], items, tz)

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
    created = dates["created_at"]
    before = is_closed & (closed_at < created)
    gap_us = np.where(before, (created - closed_at).astype(np.int64), 0)
    tolerance_us = round(m.clock_skew_tolerance_s * 1_000_000)
    skewed = before & (gap_us <= tolerance_us)
    rows.flag(
        before & ~skewed,
        "closed before opened",
        lambda r: [
            f"{closed_col} {_span(int(g))} before {cols['created_at']} (more than the"
            f" mapping's clock_skew_tolerance_s = {m.clock_skew_tolerance_s:g} s)"
            for g in gap_us[r]
        ],
    )
    # Within the tolerance the two instants are the same moment seen by two clocks: the ticket
    # closes when it opens (never before, so durations stay non-negative and the on-time rule
    # compares a real instant); the file's own closing time goes into the create event.
    source_closed_at = np.where(skewed, closed_at, np.datetime64("NaT", "us"))
    closed_at = np.where(skewed, created, closed_at)
    report.ignored_closing_times = int((rows.ok & ~is_closed & ~np.isnat(closed_at)).sum())

    def optional(key: str) -> pa.Array:
        if key not in cols:
            return pa.nulls(n, pa.string())
        t = _text(tbl, cols[key])
        return pc.if_else(pc.equal(t, ""), pa.scalar(None, pa.string()), t)

    def classification(key: str) -> pa.Array:
        # Bounded like the column (longer source labels are cut, not refused: the label is
        # kept for filtering, the category rules do not depend on it).
        return pc.utf8_slice_codeunits(optional(key), 0, SOURCE_TEXT_MAX)

    return Parsed(
        ext=ext,
        created=created,
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
        source_type=classification("source_type"),
        source_reason=classification("source_reason"),
        clock_skew=skewed,
        source_closed_at=source_closed_at,
    )
