"""Reading the collect() result the report is made of: cards by key, tables by name, ranked
rows, and how a table column's values should read (a rate, a count, a score or plain text).

The report only reads what ``queries.analytics.collect.collect`` returns (the panels' compute()
outputs); it never queries anything itself, so the PDF and xlsx carry exactly the page's data.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from domain.analytics.formatting import NONE, fmt_change, fmt_value
from domain.measures import MEASURES

SECTIONS = ("measures", "rankings", "categories", "hotspots", "rhythm", "satisfaction", "patrol")

# Column keys whose values are fractions shown as percentages, besides the measures' own keys.
_RATE_SUFFIXES = ("_rate", "_share", "_coverage", "_ratio_pct")
_RATE_KEYS = {"share", "coverage", "rate", "pct", "percent"}
_CHANGE_KEYS = {"mom", "yoy", "change", "delta"}
_COUNT_SUFFIXES = ("_count", "_n", "count", "_minutes")
_TEXT_KEYS = {"code", "grid_code", "area", "period", "key", "ticket_no", "no", "id", "phone"}


def card(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The measure card ``key`` of the measures section, or None."""
    for c in (data.get("measures") or {}).get("cards") or []:
        if c.get("key") == key:
            return c
    return None


def tables(data: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    """The exportable tables of ``section`` ({} when the section or its tables are absent)."""
    return dict((data.get(section) or {}).get("tables") or {})


def column_kind(key: str) -> str | None:
    """How a column's numbers read: "rate", "count", "score", "change:<kind>" for 环比/同比
    columns, "places" for rank changes, "p" for p-values, or None for text and plain numbers
    (shown as they are)."""
    k = key.lower()
    if k in MEASURES:
        return MEASURES[k].kind
    if k in _TEXT_KEYS or k.endswith("_code") or k.endswith("_no"):
        return None
    if k.startswith("rank"):  # a rank, or places gained (+) or lost since the last period
        return "places" if k != "rank" else None
    if k in ("p", "p_value", "pvalue"):
        return "p"
    for c in _CHANGE_KEYS:
        if k == c or k.endswith("_" + c):
            base = k[: -len(c) - 1] if k != c else ""
            inner = MEASURES[base].kind if base in MEASURES else None
            if base == "score" or base.endswith("_score"):
                inner = "score"
            if inner is None:
                inner = "rate" if base.endswith(_RATE_SUFFIXES) or base in _RATE_KEYS else "count"
            return "change:" + inner
    if k in _RATE_KEYS or k.endswith(_RATE_SUFFIXES):
        return "rate"
    if k in ("score", "composite") or k.endswith("_score"):
        return "score"
    return None


def column_kinds(table: dict[str, Any]) -> list[str | None]:
    """``column_kind`` of each column of ``table``, corrected by what the column holds: a
    header saying "%" (or a fraction-named column with values above 1) holds percentages
    already multiplied by 100 ("pct", shown as they are with one decimal)."""
    cols = table.get("columns") or []
    rows = table.get("rows") or []
    out: list[str | None] = []
    for j, (key, header, *_rest) in enumerate(cols):
        kind = column_kind(str(key))
        numbers = [
            r[j]
            for r in rows
            if j < len(r) and isinstance(r[j], int | float) and not isinstance(r[j], bool)
        ]
        if "%" in str(header) and kind in (None, "rate", "score"):
            kind = "pct"
        elif kind == "rate" and any(abs(v) > 1.0 + 1e-9 for v in numbers):
            kind = "pct"
        out.append(kind)
    return out


# A table with a "kind" column (one measure per row, like the measures panel's) has the kind
# of these columns' numbers in that row.
_ROW_KIND_VALUES = ("value", "previous", "year_ago", "target")
_ROW_KIND_CHANGES = ("mom", "yoy")


def row_kinds(table: dict[str, Any], row: list[Any], kinds: list[str | None]) -> list[str | None]:
    """``kinds`` (from column_kinds) adjusted for ``row`` when the table has a "kind" column."""
    ki = col_index(table, "kind")
    if ki is None or ki >= len(row) or row[ki] not in ("rate", "count", "score"):
        return kinds
    keys = [c[0] for c in table.get("columns") or []]
    out = list(kinds)
    for j, k in enumerate(keys):
        if k in _ROW_KIND_VALUES:
            out[j] = row[ki]
        elif k in _ROW_KIND_CHANGES:
            out[j] = "change:" + row[ki]
        elif k in ("numerator", "denominator"):
            out[j] = "count"
    return out


def fmt_cell(key: str, value: Any, kind: str | None | bool = False) -> str:
    """One table cell as the report prints it (numbers in the page's format); ``kind`` from
    ``column_kinds`` (default: guessed from the key alone)."""
    if value is None or value == "":
        return NONE if value is None else ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if kind is False:
        kind = column_kind(key)
    if isinstance(value, int | float):
        if kind == "pct":
            return f"{float(value):.1f}"
        if kind == "places":
            return f"{int(value):+d}" if value else "0"
        if kind == "p":
            return "<0.001" if value < 0.001 else f"{value:.3f}"
        if kind is not None and kind.startswith("change:"):
            return fmt_change(kind.split(":", 1)[1], value)
        if kind is not None:
            return fmt_value(kind, value)
        if key.lower() in _TEXT_KEYS:
            return str(value)
        if isinstance(value, int) or float(value).is_integer():
            return f"{int(value):,}"
        if abs(value) < 0.01:
            return f"{value:.2g}"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def col_index(table: dict[str, Any], *keys: str) -> int | None:
    """The position of the first of ``keys`` among the table's columns, or None."""
    names = [c[0] for c in table.get("columns") or []]
    for k in keys:
        if k in names:
            return names.index(k)
    return None


def score_key(table: dict[str, Any]) -> str | None:
    """The column a ranking table is ordered by: its composite or score column."""
    for k in ("composite", "score", "on_time_rate", "closure_rate"):
        if col_index(table, k) is not None:
            return k
    return None


def is_ranking(table: dict[str, Any]) -> bool:
    return col_index(table, "rank") is not None and score_key(table) is not None


def ranked(table: dict[str, Any]) -> list[list[Any]]:
    """Rows with a score, best first (the table's own order breaks ties)."""
    key = score_key(table)
    if key is None:
        return list(table.get("rows") or [])
    i = col_index(table, key)
    assert i is not None
    rows = [r for r in table.get("rows") or [] if r[i] is not None]
    return sorted(rows, key=lambda r: -float(r[i]))


def unit_name(table: dict[str, Any], row: list[Any]) -> str:
    """The row's unit name (name column, else code)."""
    i = col_index(table, "name", "grid_name", "town", "department", "code", "grid_code")
    return str(row[i]) if i is not None and row[i] is not None else "?"


def level(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The rankings level ``key`` (towns, communities, grids, departments, workers) or None."""
    for lv in (data.get("rankings") or {}).get("levels") or []:
        if lv.get("key") == key:
            return lv
    return None


def behind(data: dict[str, Any], key: str, n: int) -> list[dict[str, Any]]:
    """The units of ranking ``key`` furthest behind, worst first, as {"code", "name", "score",
    "why"}: the rankings panel's own choice ("behind", with its "why") when it made one, else
    the last ``n`` scored rows of the table."""
    lv = level(data, key)
    if lv is not None and lv.get("behind") is not None:
        rows = {str(r.get("code")): r for r in lv.get("rows") or []}
        out = []
        for code in reversed(lv["behind"]):
            r = rows.get(str(code))
            if r is not None:
                out.append(
                    {
                        "code": str(code),
                        "name": r.get("name") or str(code),
                        "score": r.get("score"),
                        "why": r.get("why") or "",
                    }
                )
        return out
    t = tables(data, "rankings").get(key)
    if not t:
        return []
    rows = ranked(t)
    if len(rows) < 2:
        return []
    si, ci, wi = col_index(t, "composite", "score"), col_index(t, "code"), col_index(t, "why")
    return [
        {
            "code": str(r[ci]) if ci is not None else unit_name(t, r),
            "name": unit_name(t, r),
            "score": r[si] if si is not None else None,
            "why": (r[wi] or "") if wi is not None else "",
        }
        for r in rows[-min(n, len(rows) - 1) :][::-1]
    ]


def generated_local(data: dict[str, Any], tz: tzinfo | None) -> datetime | None:
    """meta.generated_at (an ISO instant) in ``tz`` (as given when None); None if absent."""
    try:
        at = datetime.fromisoformat(str((data.get("meta") or {}).get("generated_at")))
    except ValueError:
        return None
    return at.astimezone(tz) if tz is not None and at.tzinfo is not None else at
