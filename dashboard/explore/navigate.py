"""How one click or choice on the workbench changes the filter state: plain functions from
(Filters, what happened) to the next Filters, so callbacks stay thin and tests need no browser.

Payloads come from the browser and are checked here: anything malformed changes nothing."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from domain.explore.filters import (
    CLOCK_NAMES_ZH,
    FLAG_NAMES_ZH,
    MAX_POLYGON_POINTS,
    STAGES,
    STATES,
    SUPERVISION_NAMES_ZH,
    Filters,
)
from domain.explore.filters import ring as closed_ring
from domain.explore.periods import CUSTOM, DEFAULT_PERIOD, MAX_SPAN_DAYS, PERIODS
from domain.vocabulary import SOURCES, URGENCIES

NONE = "__none__"  # a facet value that is NULL in the data (not selectable)
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII digits only: str.isdigit takes "０９" and "²"
_CATEGORY = re.compile(r"[0-9]{2}([0-9]{2})?")
# The URL's area rule (domain.explore.filters): at least one letter or digit.
_CODE = re.compile(r"(?=.*[0-9A-Za-z])[0-9A-Za-z_-]{1,32}")

# Facet dimension -> (filter field, allowed values or None for "checked elsewhere").
_FIELDS: dict[str, tuple[str, Any]] = {
    "state": ("state", STATES),
    "stage": ("stage", STAGES),
    "source": ("source", SOURCES),
    "urgency": ("urgency", URGENCIES),
    "clock": ("clock", tuple(CLOCK_NAMES_ZH)),
    "sup": ("sup", tuple(SUPERVISION_NAMES_ZH)),
    "dept": ("dept", None),
    "cat": ("cat", None),
    "stype": ("stype", None),
    "flag": ("flag", tuple(FLAG_NAMES_ZH)),
}


def _integer(value: Any) -> int | None:
    """An int from a browser value: ints and whole-number text only (no bools, no 1.5)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _valid(dim: str, value: Any) -> Any:
    """``value`` as the filter stores it, or None when it is not a value of ``dim``."""
    field, allowed = _FIELDS[dim]
    if value is None or value == NONE or isinstance(value, bool):
        return None
    if field in ("sup", "dept"):
        value = _integer(value)
        if value is None or (field == "dept" and not 0 <= value < 2**62):
            return None
    elif not isinstance(value, str) or not value.strip() or len(value) > 200:
        return None
    if field == "cat" and not _CATEGORY.fullmatch(value):
        return None
    if allowed is not None and value not in allowed:
        return None
    return value


def toggle(f: Filters, dim: str, value: Any) -> Filters:
    """Add ``value`` to the ``dim`` filter, or remove it when already there."""
    if dim not in _FIELDS:
        return f
    v = _valid(dim, value)
    if v is None:
        return f
    field = _FIELDS[dim][0]
    if field == "cat":
        # Choosing a minor under a chosen major narrows to the minor (and back).
        cats = [c for c in f.cat if not (len(v) == 4 and c == v[:2])]
        cats = [c for c in cats if not (len(v) == 2 and c[:2] == v and len(c) == 4)]
        return replace(f, cat=tuple(cats)).toggled("cat", v)
    return f.toggled(field, v)


def remove(f: Filters, dim: str, value: Any = None) -> Filters:
    """``f`` without the active filter ``dim`` (one value of it, for multi-valued ones)."""
    if dim == "area":
        return replace(f, area="")
    if dim == "period":
        return replace(f, period=DEFAULT_PERIOD, start=None, end=None)
    if dim == "geo":
        return replace(f, bbox=None, poly=None)
    if dim == "basis":
        return replace(f, basis="created")
    if dim in _FIELDS:
        field = _FIELDS[dim][0]
        v = _valid(dim, value)
        return replace(f, **{field: tuple(x for x in getattr(f, field) if x != v)})
    return f


def period(f: Filters, value: Any) -> Filters:
    if value not in PERIODS or value == CUSTOM:
        return f
    return replace(f, period=value, start=None, end=None)


def days(f: Filters, start: Any, end: Any) -> Filters:
    """A custom range from the date picker (ISO dates; ignored while incomplete or wrong)."""
    try:
        a = date.fromisoformat(str(start)[:10])
        b = date.fromisoformat(str(end)[:10])
    except ValueError:
        return f
    if a > b or (b - a).days >= MAX_SPAN_DAYS:
        return f
    return replace(f, period=CUSTOM, start=a, end=b)


def chart_day(f: Filters, x: Any, weekly: bool) -> Filters:
    """A bar of the series chart clicked: that day (or that ISO week)."""
    try:
        a = date.fromisoformat(str(x)[:10])
        b = a + timedelta(days=6 if weekly else 0)
    except (ValueError, OverflowError):
        return f
    return replace(f, period=CUSTOM, start=a, end=b)


def area(f: Filters, code: Any) -> Filters:
    if code is None or code == "":
        return replace(f, area="")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        return f
    return replace(f, area=code)


def ticket(f: Filters, ticket_id: Any) -> Filters:
    n = _integer(ticket_id)
    return replace(f, ticket=n) if n is not None and 0 < n < 2**62 else f


def drawn(f: Filters, geojson: Any) -> Filters:
    """The last shape drawn on the map (dash-leaflet EditControl's GeoJSON): a rectangle
    becomes a box filter, a polygon a polygon filter; an empty collection (the shapes were
    deleted) clears both; anything else changes nothing."""
    if geojson is None or geojson == {}:
        return replace(f, bbox=None, poly=None)
    if not isinstance(geojson, dict) or not isinstance(geojson.get("features"), list):
        return f
    feats = geojson["features"]
    if not feats:
        return replace(f, bbox=None, poly=None)
    feat = feats[-1]
    if isinstance(feat, dict) and not isinstance(feat.get("properties", {}), dict | None):
        return f
    geom = feat.get("geometry") if isinstance(feat, dict) else None
    if not isinstance(geom, dict) or geom.get("type") != "Polygon":
        return f
    coords = geom.get("coordinates")
    if not isinstance(coords, list) or not coords or not isinstance(coords[0], list):
        return f
    try:
        pts = [(float(p[0]), float(p[1])) for p in coords[0]]
    except (TypeError, ValueError, IndexError, KeyError):
        return f
    if any(not (math.isfinite(x) and math.isfinite(y)) for x, y in pts):
        return f
    pts = list(closed_ring(pts))
    if len(set(pts)) < 3 or len(pts) > MAX_POLYGON_POINTS:
        return f
    if any(not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in pts):
        return f
    xs, ys = [x for x, _ in pts], [y for _, y in pts]
    props = feat.get("properties") or {}
    is_box = props.get("type") == "rectangle" or (
        len(pts) == 4 and len(set(xs)) == 2 and len(set(ys)) == 2
    )
    if is_box:
        if min(xs) == max(xs) or min(ys) == max(ys):
            return f
        return replace(f, bbox=(min(xs), min(ys), max(xs), max(ys)), poly=None)
    return replace(f, poly=tuple(pts), bbox=None)
