"""The grid layer: the territory hierarchy shaded by a measure (choropleth).

Levels county → town → community → grid → micro-grid; "auto" follows the zoom (resolved in the
browser, parsed here through the same allowlist). Geometry travels once per level from
``/geo/units/<level>.pbf?v=<geometry version>`` (see layers/grid_geometry.py); each refresh
sends only {unit code: value}, class breaks, labels and colours in ``hideout``.

The period is a quick window before now (today, 7 or 30 days) or any range of local days
(``window`` = "period" with ``from``/``to``), the tickets those of every category or of one
major or minor category of the item list. A rate with nothing due (no denominator) is "no
data": absent from ``values`` for the rates, ``null`` for the other measures (a density
where a unit has no households); the browser draws it hatched grey, legend "无数据".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg

from domain import measures
from domain.categories import CATEGORIES, MAJOR_NAMES_ZH
from domain.config import Settings
from queries.geo import LEVELS, MICRO_ALL_MAX, level_counts, level_signature
from queries.geo_measures import MAX_PERIOD_DAYS, Period, UnitCounts, unit_counts
from queries.scope import Scope

from .base import AUTO, NO_ACCESS, Access, LayerOption, LayerSpec, OptionError, Options
from .classes import (
    NODATA_COLOR,
    RATE_BREAKS,
    ZERO_COLOR,
    count_breaks,
    legend_labels,
    palette_colors,
)
from .grid_geometry import geometry_url, geometry_version

LEVEL_NAMES_ZH = {
    "county": "区县",
    "town": "镇街",
    "community": "社区村",
    "grid": "网格",
    "micro": "微网格",
}
NEXT_LEVEL = dict(zip(LEVELS, LEVELS[1:], strict=False))
# The zoom from which each level is shown when the level is "auto" (Web Mercator zoom).
AUTO_MIN_ZOOM = {"county": 0.0, "town": 10.5, "community": 12.0, "grid": 13.2, "micro": 15.8}

# measure: (label_zh, unit_zh, kind) — kind "count" (0 is a class), "rate" (fixed breaks,
# None = nothing due), "density" (per 1,000 households). Formulas: domain/measures.py.
MEASURES: dict[str, tuple[str, str, str]] = {
    "created": ("事项数", "件", "count"),
    "open": ("在办", "件", "count"),
    "overdue": ("超期", "件", "count"),
    "closure_rate": ("结案率", "%", "rate"),
    "on_time_rate": ("按期结案率", "%", "rate"),
    "per_1000_households": ("千户事项数", "件/千户", "density"),
}
LIVE_MEASURES = ("open", "overdue")  # as of now, not per time window
PERIOD = "period"  # the window value that reads the ``from``/``to`` dates
WINDOW_NAMES_ZH = {"today": "今日", "7d": "近7日", "30d": "近30日", PERIOD: "自选"}
# The dates a period may name: wide enough for any imported history, and far from the ends of
# the calendar (a day after 9999-12-31 does not exist).
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2099, 12, 31)
NODATA_LABEL = "无数据"

CODE_PATTERN = r"[0-9A-Za-z_-]{1,32}"

LEVEL = LayerOption(
    "level",
    "层级",
    ((AUTO, "自动"), *((lv, LEVEL_NAMES_ZH[lv]) for lv in LEVELS)),
    AUTO,
    help_zh="区县→镇街→社区村→网格→微网格；自动时随缩放变化",
)
MEASURE = LayerOption(
    "measure",
    "指标",
    tuple((k, v[0]) for k, v in MEASURES.items()),
    "created",
    help_zh="按所选指标分级设色；公式见 docs/measures.md",
)
WINDOW = LayerOption(
    "window",
    "时段",
    tuple(WINDOW_NAMES_ZH.items()),
    "today",
    help_zh="事项数、结案率、按期结案率、千户事项数的统计时段（在办、超期为当前值）；"
    "自选：按下方日期",
)
DATE_PATTERN = r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2})?"  # empty: no date picked
FROM = LayerOption(
    "from",
    "开始日期",
    (),
    "",
    pattern=DATE_PATTERN,
    help_zh="自选时段的第一天（含），本地日期",
    strict=True,
    control="date_start",
    format_zh="应为 YYYY-MM-DD",
)
TO = LayerOption(
    "to",
    "结束日期",
    (),
    "",
    pattern=DATE_PATTERN,
    help_zh="自选时段的最后一天（含），本地日期；最长 3 年",
    strict=True,
    control="date_end",
    format_zh="应为 YYYY-MM-DD",
)


def category_choices() -> tuple[tuple[str, str], ...]:
    """(value, label) of the category option: 全部, then each major category of the item list
    followed by its minors ("09 城市管理", "0903 城市管理·设施损坏"), in the list's order."""
    out = [("all", "全部")]
    for c in sorted(CATEGORIES, key=lambda c: c.sort_order):
        if c.parent_code is None:
            out.append((c.code, f"{c.code} {c.name_zh}"))
        else:
            out.append((c.code, f"{c.code} {MAJOR_NAMES_ZH[c.major]}·{c.name_zh}"))
    return tuple(out)


CATEGORY = LayerOption(
    "category",
    "事项类别",
    category_choices(),
    "all",
    help_zh="事项清单的大类（含其小类）或小类；在办、超期也按此筛选",
    strict=True,
    control="dropdown",
    format_zh="应为事项清单中的大类 CC 或小类 CCSS",
)
PALETTE = LayerOption(
    "palette", "配色", (("heat", "冷暖"), ("blues", "蓝"), ("greens", "绿")), "heat"
)
OPACITY = LayerOption("opacity", "透明度", (("0.82", "实"), ("0.6", "中"), ("0.35", "淡")), "0.82")
FOCUS = LayerOption(
    "focus",
    "钻取单元",
    (),
    "",
    pattern=CODE_PATTERN,
    help_zh="点击单元后下钻：其下级单元高亮，微网格只发送该单元内的部分",
)


def measure_value(measure: str, c: UnitCounts) -> float | int | None:
    """The value of ``measure`` for one unit's counts (None when a rate has nothing due)."""
    if measure == "created":
        return c.created
    if measure == "open":
        return c.open
    if measure == "overdue":
        return c.overdue
    if measure == "closure_rate":
        r = measures.closure_rate(c.closed, c.past_due)
        return None if r is None else round(r, 4)
    if measure == "on_time_rate":
        r = measures.on_time_rate(c.closed_on_time, c.closed, c.past_due)
        return None if r is None else round(r, 4)
    if measure == "per_1000_households":
        r = measures.rate(1000 * c.created, c.households)
        return None if r is None else round(r, 2)
    raise ValueError(f"unknown measure {measure!r}")


def shade(values: dict[str, Any], measure: str) -> dict[str, Any]:
    """Breaks, labels, colours per palette and how to draw missing units for ``values``: a
    unit absent from ``values`` is "no data" for a rate and 0 for a count; a null value is
    always "no data" (``has_nodata`` tells the legend to show its entry)."""
    kind = MEASURES[measure][2]
    if kind == "rate":
        breaks: list[float] = list(RATE_BREAKS)
        labels = legend_labels(breaks, percent=True)
        return {
            "breaks": breaks,
            "labels": labels,
            "colors": palette_colors(len(breaks), reverse=True),
            "missing": "nodata",
            "missing_label": NODATA_LABEL,
            "nodata_label": NODATA_LABEL,
            "has_nodata": True,
        }
    breaks = count_breaks([v for v in values.values() if v is not None])
    return {
        "breaks": breaks,
        "labels": legend_labels(breaks),
        "colors": palette_colors(len(breaks)),
        "missing": "zero",
        "missing_label": "0",
        "nodata_label": NODATA_LABEL,
        "has_nodata": any(v is None for v in values.values()),
    }


def _day(value: str, label: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise OptionError(f"{label}：{value} 不是有效日期") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise OptionError(f"{label}：{value} 超出可选范围（{FIRST_DAY.year}–{LAST_DAY.year} 年）")
    return day


def period_of(options: Options) -> Period:
    """The period of ``options`` whose window is "period": local days ``from`` to ``to``,
    both included. OptionError (the message says what is wrong) when a date is missing or
    invalid, the end precedes the start, or the period spans more than MAX_PERIOD_DAYS."""
    first_s, last_s = options.get("from") or "", options.get("to") or ""
    if not first_s or not last_s:
        raise OptionError("自选时段：请选择开始日期和结束日期")
    first, last = _day(first_s, FROM.label_zh), _day(last_s, TO.label_zh)
    if last < first:
        raise OptionError(f"自选时段：结束日期 {last} 早于开始日期 {first}")
    days = (last - first).days + 1
    if days > MAX_PERIOD_DAYS:
        raise OptionError(f"自选时段共 {days:,} 天，最长 3 年（{MAX_PERIOD_DAYS:,} 天）")
    return Period(first, last)


def period_label(window: str, period: Period | None) -> str:
    """The period as the legend names it: 今日 / 近7日 / 近30日, or "2015-07-01 至 2015-07-31"."""
    if period is None:
        return WINDOW_NAMES_ZH[window]
    if period.first == period.last:
        return period.first.isoformat()
    return f"{period.first.isoformat()} 至 {period.last.isoformat()}"


def category_name(code: str) -> str:
    """The category's name as the legend shows it: "城市管理" or "城市管理·设施损坏"."""
    label = CATEGORY.label_of(code)
    return label.split(" ", 1)[1] if " " in label else label


def resolve_level(options: Options) -> str:
    """The concrete level ("auto" unresolved by the view falls back to grids)."""
    level = options.get("level", AUTO)
    return level if level in LEVELS else "grid"


def normalise(options: dict[str, str], scope: Scope) -> dict[str, str]:
    """The options with a drill-down focus outside ``scope`` dropped before the cache key is
    built (fetch ignores it anyway), so foreign codes do not each make a cache entry; the
    dates dropped for a quick window (it ignores them) and checked for a period (OptionError
    saying what is wrong: a missing, invalid or reversed date, a span over three years)."""
    out = dict(options)
    focus = out.get("focus") or ""
    if focus and not scope.contains(focus):
        out["focus"] = ""
    if out.get("window") == PERIOD:
        period_of(out)
    else:
        out["from"] = out["to"] = ""
    return out


def fetch(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access = NO_ACCESS,
) -> dict[str, Any]:
    """{"url", "format", "hideout", "legend_title", "note"} for the level, measure, period
    and category in ``options``: values per unit code (EPSG:4326 geometry is fetched from
    "url"). Public aggregates only: the same for every ``access``. OptionError for a period
    that ``period_of`` refuses."""
    level = resolve_level(options)
    measure = MEASURE.parse(options.get("measure"))
    window = WINDOW.parse(options.get("window"))
    period = period_of(options) if window == PERIOD else None
    category = CATEGORY.parse(options.get("category"))
    focus = options.get("focus") or None
    if focus is not None and not scope.contains(focus):
        focus = None  # a drill-down outside the jurisdiction is ignored, never widened
    within = focus if level == "micro" else None
    note = ""
    if level == "micro" and within is None:
        n_micro = level_counts(conn, scope, now)["micro"]
        if n_micro > MICRO_ALL_MAX:
            note = f"微网格 {n_micro:,} 个，请点击网格或社区下钻后查看"
            return {"url": None, "format": "geobuf", "hideout": {"level": level}, "note": note}
    counts = unit_counts(
        conn,
        scope,
        level,
        "today" if period else window,
        now,
        settings.tz,
        within,
        period=period,
        category=None if category == "all" else category,
        past_due=MEASURES[measure][2] == "rate",  # only the rates read it
    )
    label, unit, kind = MEASURES[measure]
    values: dict[str, Any] = {}
    for code, c in counts.items():
        v = measure_value(measure, c)
        if v is None:
            if kind != "rate":  # a rate's absent unit is already "no data"; keep it compact
                values[code] = None
        elif v != 0 or kind == "rate":
            values[code] = v
    sig = level_signature(conn, scope, level)
    version = geometry_version(sig, level, within, settings.basemap_crs)
    when = "当前" if measure in LIVE_MEASURES else period_label(window, period)
    what = label if category == "all" else f"{label} · {category_name(category)}"
    if kind == "rate" and period is not None and period.stop(settings.tz) <= now:
        note = f"应结案数中的超期未结按时段末（{period.last.isoformat()} 24:00）计"
    return {
        "url": geometry_url(level, version, within),
        "format": "geobuf",
        "hideout": {
            "values": values,
            **shade(values, measure),
            "zero": ZERO_COLOR,
            "nodata": NODATA_COLOR,
            "level": level,
            "focus": focus,
            "measure": measure,
            "unit": unit,
            "percent": unit == "%",
        },
        "legend_title": f"{LEVEL_NAMES_ZH[level]} · {what}（{when}，{unit}）",
        "note": note,
    }


LAYER = LayerSpec(
    id="grids",
    title_zh="网格",
    title_en="Grids",
    render="geojson",
    fetch=fetch,
    data_options=(LEVEL, MEASURE, WINDOW, FROM, TO, CATEGORY),
    style_options=(PALETTE, OPACITY),
    view_options=(FOCUS,),
    normalise=normalise,
    refresh_s=lambda s: s.refresh_counters_s,
    legend_zh="按指标分级设色；0 为深色，无数据为灰色斜纹",
    sensitivity="L1",
    default_visible=True,
    extra={
        "style": "gridscope.unitStyle",
        "hoverStyle": "gridscope.unitHover",
        "onEachFeature": "gridscope.unitTooltip",
        "pane_z": 410,
        "auto_min_zoom": AUTO_MIN_ZOOM,
        "auto_max_units": {"micro": MICRO_ALL_MAX},
        "next_level": NEXT_LEVEL,
        "primary": True,
        "period_window": ("window", PERIOD),
    },
)
