"""The grid layer: the territory hierarchy shaded by a measure (choropleth).

Levels county → town → community → grid → micro-grid; "auto" follows the zoom (resolved in the
browser, parsed here through the same allowlist). Geometry travels once per level from
``/geo/units/<level>.pbf?v=<geometry version>`` (see layers/grid_geometry.py); each refresh
sends only {unit code: value}, class breaks, labels and colours in ``hideout``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain import measures
from domain.config import Settings
from queries.geo import LEVELS, MICRO_ALL_MAX, level_counts, level_signature
from queries.geo_measures import UnitCounts, unit_counts
from queries.scope import Scope

from .base import AUTO, NO_ACCESS, Access, LayerOption, LayerSpec, Options
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
WINDOW_NAMES_ZH = {"today": "今日", "7d": "近7日", "30d": "近30日"}

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
    help_zh="事项数、结案率、按期结案率、千户事项数的统计时段（在办、超期为当前值）",
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
    """Breaks, labels, colours per palette and how to draw missing units for ``values``."""
    kind = MEASURES[measure][2]
    if kind == "rate":
        breaks: list[float] = list(RATE_BREAKS)
        labels = legend_labels(breaks, percent=True)
        return {
            "breaks": breaks,
            "labels": labels,
            "colors": palette_colors(len(breaks), reverse=True),
            "missing": "nodata",
            "missing_label": "无应结案",
        }
    breaks = count_breaks(list(values.values()))
    return {
        "breaks": breaks,
        "labels": legend_labels(breaks),
        "colors": palette_colors(len(breaks)),
        "missing": "zero",
        "missing_label": "0",
    }


def resolve_level(options: Options) -> str:
    """The concrete level ("auto" unresolved by the view falls back to grids)."""
    level = options.get("level", AUTO)
    return level if level in LEVELS else "grid"


def normalise(options: dict[str, str], scope: Scope) -> dict[str, str]:
    """The options with a drill-down focus outside ``scope`` dropped before the cache key is
    built (fetch ignores it anyway), so foreign codes do not each make a cache entry."""
    focus = options.get("focus") or ""
    if focus and not scope.contains(focus):
        return {**options, "focus": ""}
    return options


def fetch(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access = NO_ACCESS,
) -> dict[str, Any]:
    """{"url", "format", "hideout", "legend_title", "note"} for the level, measure and window
    in ``options``: values per unit code (EPSG:4326 geometry is fetched from "url"). Public
    aggregates only: the same for every ``access``."""
    level = resolve_level(options)
    measure = MEASURE.parse(options.get("measure"))
    window = WINDOW.parse(options.get("window"))
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
    counts = unit_counts(conn, scope, level, window, now, settings.tz, within)
    values: dict[str, Any] = {}
    for code, c in counts.items():
        v = measure_value(measure, c)
        if v is not None and (v != 0 or MEASURES[measure][2] == "rate"):
            values[code] = v
    sig = level_signature(conn, scope, level)
    version = geometry_version(sig, level, within, settings.basemap_crs)
    label, unit, _kind = MEASURES[measure]
    period = "当前" if measure in LIVE_MEASURES else WINDOW_NAMES_ZH[window]
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
        "legend_title": f"{LEVEL_NAMES_ZH[level]} · {label}（{period}，{unit}）",
        "note": note,
    }


LAYER = LayerSpec(
    id="grids",
    title_zh="网格",
    title_en="Grids",
    render="geojson",
    fetch=fetch,
    data_options=(LEVEL, MEASURE, WINDOW),
    style_options=(PALETTE, OPACITY),
    view_options=(FOCUS,),
    normalise=normalise,
    refresh_s=lambda s: s.refresh_counters_s,
    legend_zh="按指标分级设色；0 或无数据为深色",
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
    },
)
