"""The hotspot panel of /analytics (热点与重复问题): a map of the grids whose counts rose
significantly above their own baseline (shaded by how many times the baseline) and of the
recurring problems (circles sized by their ticket count), and two compact tables; every row and
shape opens /explore with the same place, category and period. Data: queries/analytics/hotspots.py
(already in the display datum); rules: docs/analytics-hotspots.md.

Who sees what (DOMAIN.md §7): an address is personal data (L3): below L3 a recurring problem is
named by its grid and its circle sits on the grid's anchor, not at the place; for the sensitive
categories (special populations, disputes) the place needs L4, as the point of such a ticket does.
Drawn with plain dash-leaflet layers and static styles (one GeoJSON layer per shade, popups from
feature properties), so the panel needs no client-side functions.
"""

from __future__ import annotations

import html as _html
import math
from datetime import date
from typing import Any

import dash_leaflet as dl
from dash import dcc, html

from domain import disclosure
from domain.access import Tier
from domain.analytics.periods import Period, PeriodError, parse_period
from domain.masking import Masker

from .links import explore_href

PREFIX = "sit-hotspots-"
MAP_ID = PREFIX + "map"
# Shades of a hotspot grid by count / baseline: (lower bound, colour, legend).
RATIO_CLASSES = (
    (5.0, "#e040fb", "≥5倍"),
    (3.0, "#ff5d5d", "3–5倍"),
    (2.0, "#ff8a3d", "2–3倍"),
    (0.0, "#ffb547", "1.5–2倍"),
)
CIRCLE_COLOUR = "#3cc8ff"
# Benjamini–Hochberg q at or above which a flagged grid is shown as possibly chance.
CHANCE_Q = 0.1
OUTLINE_STYLE = {"color": "#3f86c6", "weight": 1, "opacity": 0.55, "fill": False}
DEFAULT_CENTER = (30.75, 120.76)  # until the data's bounds arrive (嘉兴, the demo city)


def _tier(view: dict) -> Tier:
    """The viewer's tier from the view; anything unreadable is the most restrictive tier."""
    try:
        return Tier[str(view.get("tier", "L1"))]
    except KeyError:
        return Tier.L1


def _message(text: str) -> html.Div:
    return html.Div(
        [
            html.P(text, className="sit-hs-note"),
        ],
        id=PREFIX + "panel",
        className="sit-hs",
    )


def _fmt_p(p: Any) -> str:
    if not isinstance(p, int | float) or math.isnan(p):
        return "—"
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def _shade(ratio: Any) -> str:
    """The colour of a hotspot grid ``ratio`` times its baseline."""
    r = ratio if isinstance(ratio, int | float) else 0.0
    return next(colour for lower, colour, _ in RATIO_CLASSES if r >= lower or lower == 0.0)


def _window(data: dict) -> Period | None:
    """The recurring rule's window as a custom period (for links to /explore)."""
    w = (data.get("recurring") or {}).get("window") or {}
    try:
        return Period("custom", date.fromisoformat(w["start"]), date.fromisoformat(w["end"]))
    except (KeyError, TypeError, ValueError):
        return None


def _place(item: dict, masker: Masker) -> tuple[str, list[float] | None, bool]:
    """(what to call a recurring place, where to draw it [lat, lon], whether that is the place
    itself rather than its grid's anchor) as the viewer may see it."""
    label = item.get("grid_name") or item.get("grid") or ""
    address = item.get("address") if masker.sees(disclosure.ADDRESS) else None
    exact = masker.sees(disclosure.point_field(item.get("category")))
    if exact and "lat" in item and "lon" in item:
        return (address or label), [item["lat"], item["lon"]], True
    return (address or label), item.get("anchor"), False


def _hotspot_layers(hot: dict, period: Period) -> list:
    """One GeoJSON layer per shade; a feature's tooltip and popup (HTML, escaped) come from its
    properties, which dash-leaflet binds without client-side code."""
    by_shade: dict[str, list] = {colour: [] for _, colour, _ in RATIO_CLASSES}
    for f in hot["geojson"].get("features") or []:
        props = f.get("properties") if isinstance(f, dict) else None
        if not isinstance(props, dict):
            continue
        href = _html.escape(explore_href(str(props.get("grid", "")), period))
        text = _html.escape(
            f"{props.get('name', '')}：本期 {props.get('count')} 件，基线 "
            f"{props.get('expected')}，{props.get('ratio')} 倍"
        )
        popup = f'{text}<br><a href="{href}">在事件分析中查看</a>'
        by_shade[_shade(props.get("ratio"))].append(
            {**f, "properties": {"tooltip": text, "popup": popup}}
        )
    return [
        dl.GeoJSON(
            data={"type": "FeatureCollection", "features": feats},
            style={"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.45},
            id=f"{PREFIX}grids-{int(lower)}",
        )
        for lower, colour, _ in RATIO_CLASSES
        if (feats := by_shade[colour])
    ]


def _count(item: dict) -> int:
    try:
        return max(0, int(item.get("count") or 0))
    except (TypeError, ValueError):
        return 0


def _circle(i: int, where: list, count: int, text: str, link: Any, scale: float):
    children: list = [dl.Tooltip(text)]
    if link is not None:
        children.append(dl.Popup(html.Div([text, html.Br(), link])))
    return dl.CircleMarker(
        center=where,
        radius=min(30.0, 5 + 3 * math.sqrt(count)) * scale,
        color=CIRCLE_COLOUR,
        weight=1.5,
        fillColor=CIRCLE_COLOUR,
        fillOpacity=0.35,
        children=children,
        id=f"{PREFIX}place-{i}",
    )


def _circles(items: list[dict], masker: Masker, window: Period | None, scale: float) -> list:
    """One circle per place the viewer may see at its place; the others one per grid, on
    the grid's anchor, with the grid's problems summed (circles stacked on one anchor would
    say nothing more and hide each other)."""
    out = []
    per_grid: dict[str, list[dict]] = {}
    for r in items:
        name, where, exact = _place(r, masker)
        if not where:
            continue
        if not exact:
            per_grid.setdefault(str(r.get("grid", "")), []).append(r)
            continue
        text = (
            f"{r.get('category_name', '')} · {name}：{_count(r)} 件"
            f"（{r.get('first')} 至 {r.get('last')}）"
        )
        link = None
        if window is not None:
            href = explore_href(r.get("grid", ""), window, cat=(r.get("category", ""),))
            link = dcc.Link("在事件分析中查看", href=href)
        out.append(_circle(len(out), where, _count(r), text, link, scale))
    for grid, rs in per_grid.items():
        total = sum(_count(r) for r in rs)
        cats = "、".join(dict.fromkeys(str(r.get("category_name", "")) for r in rs))
        text = f"{rs[0].get('grid_name') or grid}：{len(rs)} 处重复问题（{cats}），共 {total} 件"
        link = None
        if window is not None:
            cat_codes = tuple(dict.fromkeys(str(r.get("category", "")) for r in rs))
            link = dcc.Link("在事件分析中查看", href=explore_href(grid, window, cat=cat_codes))
        out.append(_circle(len(out), rs[0]["anchor"], total, text, link, scale))
    return out


def _map(data: dict, period: Period, masker: Masker, scale: float) -> dl.Map:
    m = data["map"]
    children: list = []
    if m.get("basemap_url"):
        children.append(
            dl.TileLayer(url=m["basemap_url"], attribution=m.get("basemap_attribution") or None)
        )
    outline = (m.get("outline") or {}).get("geojson")
    if outline and outline.get("features"):
        # zoomToBounds: the map opens on the jurisdiction (the Map's own bounds did not fit it).
        children.append(
            dl.GeoJSON(data=outline, style=OUTLINE_STYLE, zoomToBounds=True, id=PREFIX + "outline")
        )
    children += _hotspot_layers(data.get("hotspots") or {}, period)
    rec = data.get("recurring") or {}
    children.append(
        dl.LayerGroup(
            _circles(rec.get("items") or [], masker, _window(data), scale), id=PREFIX + "places"
        )
    )
    view: dict[str, Any] = {"center": DEFAULT_CENTER, "zoom": 11}
    if m["bounds"]:
        (s, w), (n, e) = m["bounds"]
        view = {"bounds": m["bounds"], "center": ((s + n) / 2, (w + e) / 2), "zoom": 11}
    return dl.Map(
        children,
        id=MAP_ID,
        zoomSnap=0.25,
        preferCanvas=True,
        attributionControl=bool(m.get("basemap_url")),
        style={"width": "100%", "height": "100%"},
        className="sit-hs-leaflet",
        **view,
    )


def _legend() -> html.Div:
    keys = [
        html.Span([html.I(className="sit-hs-swatch", style={"background": c}), label])
        for _, c, label in reversed(RATIO_CLASSES)
    ]
    keys.append(html.Span([html.I(className="sit-hs-dot"), "重复发生问题（圆越大件数越多）"]))
    return html.Div(keys, className="sit-hs-legend")


def _table(head: list[str], rows: list[list], cls: str, notes: list[str] | None = None):
    """An html table; ``notes`` (one per row, "" for none) mark rows muted with a tooltip."""
    notes = notes or [""] * len(rows)
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody(
                [
                    html.Tr([html.Td(c) for c in r], title=n, className="is-chance")
                    if n
                    else html.Tr([html.Td(c) for c in r])
                    for r, n in zip(rows, notes, strict=True)
                ]
            ),
        ],
        className=f"sit-hs-table {cls}",
    )


def _hotspot_table(hot: dict, period: Period) -> list:
    items = hot.get("items") or []
    total = int(hot.get("total") or 0)
    if not items and hot.get("baseline") == []:
        return [html.P("本期之前没有可作基线的数据，未做检验。", className="sit-hs-note")]
    if not items:
        return [
            html.P(
                f"本期无显著升高的网格（检验 {hot.get('tested', 0)} 个网格）。",
                className="sit-hs-note",
            )
        ]
    rows = [
        [
            dcc.Link(h.get("name") or h.get("grid"), href=explore_href(h.get("grid", ""), period)),
            h.get("town") or "",
            h.get("count"),
            h.get("expected"),
            f"{h.get('ratio')}×",
            _fmt_p(h.get("p")),
        ]
        for h in items
    ]
    # A high q: as many flags as this would come from chance alone across the scope's grids.
    chance = [
        "q值较高：在这么多网格中，这样的升高可能是偶然波动"
        if isinstance(h.get("q"), int | float) and h["q"] >= CHANCE_Q
        else ""
        for h in items
    ]
    note = f"共 {total} 个网格显著升高" + (
        f"，列出前 {len(items)} 个" if total > len(items) else ""
    )
    return [
        html.P(note, className="sit-hs-note"),
        _table(["网格", "镇街", "本期", "基线", "倍数", "p值"], rows, "sit-hs-table--hot", chance),
    ]


def _recurring_table(rec: dict, masker: Masker, window: Period | None) -> list:
    items = rec.get("items") or []
    total = int(rec.get("total") or 0)
    if not items:
        return [html.P("近期无重复发生的问题。", className="sit-hs-note")]
    rows = []
    for r in items:
        name, _, _ = _place(r, masker)
        cat = r.get("category_name") or r.get("category")
        link: Any = cat
        if window is not None:
            link = dcc.Link(
                cat, href=explore_href(r.get("grid", ""), window, cat=(r.get("category", ""),))
            )
        rows.append([link, name, r.get("count"), r.get("first"), r.get("last")])
    note = f"共 {total} 处，{rec.get('tickets', 0)} 件" + (
        f"，列出前 {len(items)} 处" if total > len(items) else ""
    )
    return [
        html.P(note, className="sit-hs-note"),
        _table(["类别", "地点", "件数", "首次", "最近"], rows, "sit-hs-table--rec"),
    ]


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _readable(data: Any) -> dict | None:
    """``data`` with every part the panel reads of the expected type (lists of dicts, dicts),
    or None when it is not the panel's data at all (the shell's error or an old cache entry)."""
    if not isinstance(data, dict) or "hotspots" not in data or "recurring" not in data:
        return None
    hot, rec, m = _dict(data["hotspots"]), _dict(data["recurring"]), _dict(data.get("map"))
    hot["items"] = [x for x in hot.get("items") or [] if isinstance(x, dict)]
    rec["items"] = [x for x in rec.get("items") or [] if isinstance(x, dict)]
    hot["geojson"] = _dict(hot.get("geojson"))
    bounds = m.get("bounds")
    try:
        (s, w), (n, e) = bounds  # type: ignore[misc]
        m["bounds"] = [[float(s), float(w)], [float(n), float(e)]]
    except (TypeError, ValueError):
        m["bounds"] = None
    m["outline"] = _dict(m.get("outline"))
    return {**data, "hotspots": hot, "recurring": rec, "map": m, "rule": _dict(data.get("rule"))}


def _hint(rule: dict, hot: dict, window: Period | None) -> str:
    """The rules in one sentence each, with the parameters in force (the baseline periods
    actually used: fewer when the history is shorter)."""
    used = hot.get("baseline")
    periods = len(used) if isinstance(used, list) and used else rule.get("baseline_periods", "—")
    radius = rule.get("radius_m")
    radius_text = f"{radius:g}" if isinstance(radius, int | float) else "—"
    span = f"（{window.start:%m-%d} 至 {window.end:%m-%d}）" if window else ""
    return (
        f"异常升高：本期件数与本网格前 {periods} 期同长度时段的日均相比，"
        f"单侧泊松检验 p<{rule.get('alpha', '—')}，且倍数≥{rule.get('min_ratio', '—')}、"
        f"件数≥{rule.get('min_count', '—')}。重复问题：{radius_text} 米见方内同类事件 "
        f"{rule.get('days', '—')} 天内≥{rule.get('min', '—')} 次{span}。"
    )


def render(data: dict, view: dict) -> html.Div:
    """The panel for ``data`` (queries.analytics.hotspots.compute) as ``view``'s viewer sees
    it; a message instead when the view or the data cannot be read."""
    if not isinstance(view, dict):
        return _message("视图参数无效。")
    try:
        period = parse_period(view.get("period"))
    except PeriodError as exc:
        return _message(f"时间段无效：{exc}")
    data = _readable(data)
    if data is None:
        return _message("暂无热点数据。")
    masker = Masker(_tier(view))
    try:
        scale = float(view.get("scale") or 1.0)
    except (TypeError, ValueError):
        scale = 1.0
    scale = min(4.0, max(0.5, scale)) if math.isfinite(scale) else 1.0
    window = _window(data)
    rec = data["recurring"]
    return html.Div(
        [
            # The page's section carries the title.
            html.P(_hint(data["rule"], data["hotspots"], window), className="sit-hs-hint"),
            html.Div(
                [
                    html.Div(
                        [_map(data, period, masker, scale), _legend()], className="sit-hs-map"
                    ),
                    html.Div(
                        [
                            html.H4("异常升高网格", className="sit-hs-sub"),
                            *_hotspot_table(data["hotspots"], period),
                            html.H4("重复发生问题", className="sit-hs-sub"),
                            *_recurring_table(rec, masker, window),
                        ],
                        className="sit-hs-lists",
                    ),
                ],
                className="sit-hs-body",
            ),
        ],
        id=PREFIX + "panel",
        className="sit-hs",
    )
