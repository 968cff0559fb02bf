"""The 30-day trend chart (created vs closed per local day, from stat_daily) as the counters
feed sends it: series and labels. The wall's JS (assets/30_wall.js, ``trendFigure``) builds
the Plotly figure with the scale it measures, so text is 16 px at 1080p and 32 px at 2160p."""

from __future__ import annotations

from typing import Any

from . import theme


def trend_view(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """{"labels" (MM/DD, the last "今日"), "tickvals" (every 5 days counted back from today, so
    the first label leaves the corner free), "series": [{"name", "y", "color", "fill"}],
    "style": {"text", "muted", "grid", "font"}} of ``rows`` (queries.screen.trend)."""
    labels = [r["day"][5:].replace("-", "/") for r in rows]
    if labels:
        labels[-1] = "今日"
    return {
        "labels": labels,
        "tickvals": labels[::-5][::-1] if labels else [],
        "series": [
            {
                "name": "上报",
                "y": [r["created"] for r in rows],
                "color": theme.CREATED,
                "fill": "rgba(60, 200, 255, 0.12)",
            },
            {
                "name": "结案",
                "y": [r["closed"] for r in rows],
                "color": theme.CLOSED,
                "fill": "rgba(62, 224, 160, 0.10)",
            },
        ],
        "style": {
            "text": theme.TEXT,
            "muted": theme.MUTED,
            "grid": theme.GRID_LINE,
            "font": theme.FONT_FAMILY,
        },
    }
