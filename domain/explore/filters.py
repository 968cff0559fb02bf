"""The workbench's filter state, as it lives in the query string of /explore.

Every filter is a query-string parameter, so a copied URL reproduces the view and the browser's
back and forward buttons walk through the analyst's steps. ``parse`` reads a query string into
``Filters`` and names every value it could not use (the page shows those problems and applies
the rest); ``encode`` writes ``Filters`` back, leaving defaults out so URLs stay short and one
view has one URL.

Nothing here widens what a viewer sees: ``area`` is checked against the viewer's jurisdiction
on the server (``queries.scope.Scope.narrow``) and the SQL always takes the viewer's scope too.

    area=330402007&cat=03,0901&period=last_quarter&clock=closed_late&sort=-closed_at
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from types import MappingProxyType
from urllib.parse import parse_qs, urlencode

from domain.explore.periods import CUSTOM, DEFAULT_PERIOD, MAX_SPAN_DAYS, PERIODS
from domain.supervision import STEP_NAMES_ZH
from domain.vocabulary import SOURCES, URGENCIES
from domain.workflow.rules import STAGE_NAMES_ZH, State

# Where a ticket's clock stands (时效状态): open ones by their stage clock at "now", closed ones
# by whether handling finished by the original due time (按期结案).
CLOCK_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "normal": "在办正常",
        "warning": "临期预警",
        "overdue": "超期在办",
        "closed_on_time": "按期办结",
        "closed_late": "超期办结",
        "none": "不计时效",
    }
)
FLAG_NAMES_ZH: Mapping[str, str] = MappingProxyType({"reworked": "有返工", "returned": "有退回"})
SUPERVISION_NAMES_ZH: Mapping[int, str] = MappingProxyType(
    {0: "未督办", **{int(k): v for k, v in STEP_NAMES_ZH.items()}}
)
BASIS_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"created": "按上报时间", "closed": "按办结时间"}
)
STATES: tuple[str, ...] = tuple(s.value for s in State)
STAGES: tuple[str, ...] = tuple(STAGE_NAMES_ZH)

# The table's sortable columns (URL name -> ticket column); '-' in front sorts descending.
SORTS: tuple[str, ...] = (
    "created_at",
    "closed_at",
    "stage_due_at",
    "grid_code",
    "category_code",
    "state",
    "supervision",
    "rework_count",
)
DEFAULT_SORT = "-created_at"

_CODE = re.compile(r"^(?=.*[0-9A-Za-z])[0-9A-Za-z_-]{1,32}$")
_CATEGORY = re.compile(r"^[0-9]{2}([0-9]{2})?$")
MAX_VALUES = 50  # values of one multi-valued filter
MAX_POLYGON_POINTS = 200
MAX_TEXT = 200
MAX_QUERY = 8000  # characters of a query string read (a URL longer than this is not ours)


@dataclass(frozen=True)
class Filters:
    """One view of the workbench. Tuples are "any of" (empty: no filter); filters combine with
    AND. ``start``/``end`` are local days, inclusive, used when ``period`` is ``custom``."""

    area: str = ""
    cat: tuple[str, ...] = ()
    stype: tuple[str, ...] = ()
    period: str = DEFAULT_PERIOD
    start: date | None = None
    end: date | None = None
    basis: str = "created"
    state: tuple[str, ...] = ()
    stage: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    urgency: tuple[str, ...] = ()
    clock: tuple[str, ...] = ()
    sup: tuple[int, ...] = ()
    flag: tuple[str, ...] = ()
    dept: tuple[int, ...] = ()
    # Area drawn on the map: a box (west, south, east, north) or a polygon ((lon, lat), …).
    bbox: tuple[float, float, float, float] | None = None
    poly: tuple[tuple[float, float], ...] | None = None
    sort: str = DEFAULT_SORT
    ticket: int | None = None  # the ticket open in the drawer

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)

    def toggled(self, name: str, value) -> Filters:
        """These filters with ``value`` added to (or removed from) multi-valued ``name``."""
        current = tuple(getattr(self, name))
        new = tuple(v for v in current if v != value) if value in current else (*current, value)
        return replace(self, **{name: new})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Problem:
    """A query-string value the workbench could not use (shown to the analyst, not applied)."""

    param: str
    message: str


_MULTI_TEXT: dict[str, tuple[str, ...] | None] = {
    "state": STATES,
    "stage": STAGES,
    "source": SOURCES,
    "urgency": URGENCIES,
    "clock": tuple(CLOCK_NAMES_ZH),
    "flag": tuple(FLAG_NAMES_ZH),
}


def _values(raw: Mapping[str, list[str]], name: str) -> list[str]:
    out: list[str] = []
    for chunk in raw.get(name, []):
        out.extend(v.strip() for v in chunk.split(",") if v.strip())
    return out


def _unique(values) -> tuple:
    return tuple(dict.fromkeys(values))


def _parse_date(text: str) -> date:
    return date.fromisoformat(text)


def _parse_floats(text: str, n: int | None = None) -> list[float]:
    vals = [float(v) for v in text.replace(" ", ",").split(",") if v]
    if any(v != v or v in (float("inf"), float("-inf")) for v in vals):
        raise ValueError("not a finite number")
    if n is not None and len(vals) != n:
        raise ValueError(f"needs {n} numbers")
    return vals


def parse(query: str | Mapping[str, str | list[str]]) -> tuple[Filters, list[Problem]]:
    """``Filters`` from a query string (or a mapping of parameters), and the problems: values
    that are malformed, unknown or out of range are left out and named, never fatal."""
    if isinstance(query, str):
        raw = parse_qs(query.lstrip("?")[:MAX_QUERY], keep_blank_values=False)
    elif not isinstance(query, Mapping):  # a forged callback payload: nothing usable
        return Filters(), [Problem("?", "查询参数格式不正确，已忽略")]
    else:
        raw = {
            str(k): [str(x) for x in (v if isinstance(v, list) else [v])]
            for k, v in query.items()
            if v is not None
        }
    problems: list[Problem] = []
    got: dict[str, object] = {}
    known = {f.name for f in fields(Filters)} | {"from", "to"}
    for name in sorted(set(raw) - known):
        problems.append(Problem(name if len(name) <= 40 else "?", "未知参数，已忽略"))

    def bad(param: str, message: str) -> None:
        problems.append(Problem(param, message))

    for name, allowed in _MULTI_TEXT.items():
        vals = _values(raw, name)
        ok = [v for v in vals if v in (allowed or ())]
        for v in vals:
            if v not in (allowed or ()):
                bad(name, f"未知取值 {_shown(v)}")
        if len(ok) > MAX_VALUES:
            bad(name, f"取值过多（最多 {MAX_VALUES} 个）")
            ok = ok[:MAX_VALUES]
        if ok:
            got[name] = _unique(ok)

    cats = _values(raw, "cat")
    for v in cats:
        if not _CATEGORY.fullmatch(v):
            bad("cat", f"类别编码应为 2 位或 4 位数字：{_shown(v)}")
    good_cats = [v for v in cats if _CATEGORY.fullmatch(v)][:MAX_VALUES]
    if good_cats:
        got["cat"] = _unique(good_cats)

    # Source types are free text of another system ("Street Lights, Poles"): one per
    # parameter, repeated, never split on commas.
    stypes = [v.strip() for v in raw.get("stype", []) if v.strip() and len(v) <= MAX_TEXT]
    stypes = stypes[:MAX_VALUES]
    if stypes:
        got["stype"] = _unique(stypes)

    for name in ("sup", "dept"):
        ints: list[int] = []
        for v in _values(raw, name):
            try:
                n = int(v)
            except ValueError:
                bad(name, f"应为整数：{_shown(v)}")
                continue
            if name == "sup" and n not in SUPERVISION_NAMES_ZH:
                bad(name, f"督办级别应为 0–3：{n}")
            elif n < 0 or n > 2**62:
                bad(name, f"编号超出范围：{n}")
            else:
                ints.append(n)
        if ints:
            got[name] = _unique(ints[:MAX_VALUES])

    area = (raw.get("area") or [""])[-1].strip()
    if area:
        if _CODE.fullmatch(area):
            got["area"] = area
        else:
            bad("area", f"不是区划或网格编码：{_shown(area)}")

    period = (raw.get("period") or [""])[-1].strip()
    start_text = (raw.get("from") or raw.get("start") or [""])[-1].strip()
    end_text = (raw.get("to") or raw.get("end") or [""])[-1].strip()
    if period and period not in PERIODS:
        bad("period", f"未知时间范围 {_shown(period)}，可选 {'、'.join(PERIODS)}")
        period = ""
    if start_text or end_text or period == CUSTOM:
        try:
            start = _parse_date(start_text) if start_text else None
            end = _parse_date(end_text) if end_text else None
        except ValueError:
            bad("from", f"日期应为 YYYY-MM-DD：{_shown(start_text)} – {_shown(end_text)}")
        else:
            if start is None or end is None:
                bad("from", "自定义时间范围需要起止日期（from 和 to）")
            elif start > end:
                bad("to", f"结束日期 {end} 早于开始日期 {start}")
            elif (end - start).days >= MAX_SPAN_DAYS:
                bad("to", f"时间范围最长 {MAX_SPAN_DAYS} 天")
            else:
                got.update(period=CUSTOM, start=start, end=end)
    if "start" not in got and period and period != CUSTOM:
        got["period"] = period

    basis = (raw.get("basis") or [""])[-1].strip()
    if basis:
        if basis in BASIS_NAMES_ZH:
            got["basis"] = basis
        else:
            bad("basis", f"未知时间口径 {_shown(basis)}")

    if raw.get("bbox"):
        try:
            west, south, east, north = _parse_floats(raw["bbox"][-1], 4)
            if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
                raise ValueError("west < east and south < north, in degrees")
            got["bbox"] = (west, south, east, north)
        except ValueError as exc:
            bad("bbox", f"范围应为 西,南,东,北 经纬度：{exc}")
    if raw.get("poly"):
        try:
            coords = _parse_floats(raw["poly"][-1])
            if len(coords) % 2 or not 6 <= len(coords) <= 2 * MAX_POLYGON_POINTS:
                raise ValueError(f"3 to {MAX_POLYGON_POINTS} points of lon,lat")
            pts = ring(zip(coords[::2], coords[1::2], strict=True))
            if any(not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in pts):
                raise ValueError("outside longitude/latitude range")
            if len(set(pts)) < 3:
                raise ValueError("needs 3 distinct points")
            got["poly"] = pts
        except ValueError as exc:
            bad("poly", f"多边形应为 经度,纬度 序列：{exc}")

    sort = (raw.get("sort") or [""])[-1].strip()
    if sort:
        if sort.lstrip("-") in SORTS:
            got["sort"] = sort
        else:
            bad("sort", f"不能按 {_shown(sort)} 排序")

    ticket = (raw.get("ticket") or [""])[-1].strip()
    if ticket:
        # isascii: str.isdigit() accepts digits int() refuses (superscripts such as '¹').
        if ticket.isascii() and ticket.isdigit() and int(ticket) < 2**62:
            got["ticket"] = int(ticket)
        else:
            bad("ticket", f"事件编号应为数字：{_shown(ticket)}")
    return Filters(**got), problems  # type: ignore[arg-type]


def _shown(value: str) -> str:
    """A URL value as a problem may quote it: whole when short, else only its length (a cut
    value could read as another, e.g. a prefix of another unit's code)."""
    return repr(value) if len(value) <= 40 else f"（{len(value)} 个字符的值）"


def ring(points) -> tuple[tuple[float, float], ...]:
    """A polygon's points without repeats in a row and without the closing point (the SQL
    closes the ring): a hand-drawn or hand-typed ring often repeats its first point."""
    out: list[tuple[float, float]] = []
    for x, y in points:
        p = (float(x), float(y))
        if not out or out[-1] != p:
            out.append(p)
    while len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return tuple(out)


def _num(v: float) -> str:
    """The shortest text that reads back as the same float (a thin drawn box survives)."""
    return repr(float(v))


def encode(f: Filters, *, drawer: bool = True) -> str:
    """The canonical query string of ``f`` (no leading '?'): defaults left out, values in a
    stable order, so that one view has one URL."""
    out: list[tuple[str, str]] = []
    if f.area:
        out.append(("area", f.area))
    for name in ("cat", "state", "stage", "source", "urgency", "clock", "flag"):
        vals = getattr(f, name)
        if vals:
            out.append((name, ",".join(sorted(vals))))
    out += [("stype", v) for v in sorted(f.stype)]
    for name in ("sup", "dept"):
        vals = getattr(f, name)
        if vals:
            out.append((name, ",".join(str(v) for v in sorted(vals))))
    if f.period == CUSTOM and f.start and f.end:
        out += [("from", f.start.isoformat()), ("to", f.end.isoformat())]
    elif f.period != DEFAULT_PERIOD:
        out.append(("period", f.period))
    if f.basis != "created":
        out.append(("basis", f.basis))
    if f.bbox:
        out.append(("bbox", ",".join(_num(v) for v in f.bbox)))
    if f.poly:
        out.append(("poly", ",".join(_num(v) for p in f.poly for v in p)))
    if f.sort != DEFAULT_SORT:
        out.append(("sort", f.sort))
    if drawer and f.ticket is not None:
        out.append(("ticket", str(f.ticket)))
    return urlencode(out, safe=",")
