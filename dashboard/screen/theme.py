"""Colours, fonts and number formats of the big screen (dark command-centre theme)."""

from __future__ import annotations

from domain.text import duration_zh

# System CJK fonts only: command centres have no internet, so no web fonts are fetched.
FONT_FAMILY = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
    '"WenQuanYi Micro Hei", sans-serif'
)

TEXT = "#d8e8ff"
MUTED = "#8fb0d8"
GRID_LINE = "rgba(90, 150, 220, 0.18)"
CREATED = "#3cc8ff"
CLOSED = "#3ee0a0"
DANGER = "#ff5d5d"
WARN = "#ffb547"

# Map classes for "tickets created today" on a dark background: cool for few, hot for many.
MAP_RAMP = ("#1d5c94", "#1f93c4", "#38c6c6", "#f2d35b", "#f5903d", "#e8414a")
MAP_ZERO = "#0c2038"
MAP_LINE = "#3f86c6"


def fmt_int(n: int | float | None) -> str:
    """12936 -> '12,936'; None -> '—'."""
    if n is None:
        return "—"
    return f"{int(n):,}"


def fmt_pct(x: float | None, digits: int = 1) -> str:
    """0.9234 -> '92.3%'; None (nothing was due) -> '—', never 0 % or 100 %."""
    if x is None:
        return "—"
    return f"{100 * x:.{digits}f}%"


def fmt_minutes_zh(minutes: int) -> str:
    """A duration in whole minutes as Chinese text (domain.text.duration_zh, minutes spelled
    分钟 when alone): 45 -> '45分钟', 200 -> '3小时20分', 3000 -> '2天2小时'."""
    minutes = max(0, int(minutes))
    text = duration_zh(60 * minutes)
    return f"{text}钟" if minutes < 60 else text
