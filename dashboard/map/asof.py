"""The map as of a date (issue #13, boundary adjustments as decisions): a date picker and a
badge on the analyst map, and the day it names checked on the server.

The boundaries drawn are the versions in force at the end of the chosen local day
(layers.grid_geometry.as_of_instant); the values shading them stay those of the layer's own
period, which the legend states. No date, or today's, is the current map, served exactly as
before (same URLs, same cache entries). The page URL carries the day (``/map?asof=2025-06-30``),
kept in step by assets/22_map_asof.js.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dash import ClientsideFunction, Input, Output, clientside_callback, dcc, html

from layers.base import OptionError
from layers.grid_geometry import FIRST_ASOF, LAST_ASOF, parse_asof

from . import ids
from .profiles import MapProfile

CURRENT_ZH = "当前"


def boundary_day(value: object, now: datetime, tz: ZoneInfo) -> date | None:
    """The as-of day a browser (or the page URL) sent: None for none or today's (the current
    map); OptionError in Chinese naming the value for anything that is not a day in range."""
    try:
        day = parse_asof(value)
    except ValueError:
        shown = str(value)[:40]
        raise OptionError(
            f"边界日期：{shown} 无效，应为 {FIRST_ASOF.year}–{LAST_ASOF.year} 年间的 YYYY-MM-DD"
        ) from None
    if day is None or day == now.astimezone(tz).date():
        return None
    return day


def badge_text(day: date | None) -> str:
    """边界版本：当前 or 边界版本：2025-06-30."""
    return f"边界版本：{day.isoformat() if day else CURRENT_ZH}"


def asof_control(profile: MapProfile, day: date | None, refused: str = "") -> html.Section:
    """The picker and the badge, first in the map's control panel."""
    p = profile.prefix
    return html.Section(
        [
            html.Div(
                [
                    html.Span(
                        badge_text(day),
                        id=ids.asof_badge(p),
                        className="gs-boundary-badge" + (" gs-boundary-badge--past" if day else ""),
                        title="网格边界按所选日期有效的版本绘制（调整以决定文号和生效日期记录）；"
                        "着色数值仍按下方所选时段统计",
                    ),
                ],
                className="gs-layer-head",
            ),
            html.Div(
                [
                    html.Span("边界日期", className="gs-opt-label", title="不选为当前边界"),
                    dcc.DatePickerSingle(
                        id=ids.asof(p),
                        date=day.isoformat() if day else None,
                        display_format="YYYY-MM-DD",
                        month_format="MMMM",
                        first_day_of_week=1,
                        placeholder=CURRENT_ZH,
                        clearable=True,
                        min_date_allowed=FIRST_ASOF.isoformat(),
                        max_date_allowed=LAST_ASOF.isoformat(),
                        number_of_months_shown=1,
                        className="gs-period gs-boundary-picker",
                    ),
                ],
                className="gs-opt gs-opt--data",
                **{"data-option": "asof"},
            ),
            html.Div(refused, className="gs-layer-error", role="alert"),
        ],
        className="gs-layer gs-layer--asof",
    )


def register(profile: MapProfile) -> None:
    """Keep the badge and the page URL in step with the picker (in the browser)."""
    p = profile.prefix
    clientside_callback(
        ClientsideFunction(namespace="gridscope", function_name="boundaryAsOf"),
        Output(ids.asof_badge(p), "children"),
        Output(ids.asof_badge(p), "className"),
        Input(ids.asof(p), "date"),
        prevent_initial_call=True,
    )
