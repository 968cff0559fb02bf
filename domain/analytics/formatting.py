"""How a measure's value and its change read, the one format shared by /analytics, the monthly
report (PDF, summary sentences) and its xlsx notes, so a number in the report is the number on
the page, character for character.

    fmt_value("rate", 0.8734)     -> "87.3%"        fmt_change("rate", 0.021)   -> "+2.1个百分点"
    fmt_value("count", 12345)     -> "12,345"       fmt_change("count", -0.05)  -> "-5.0%"
    fmt_value("score", 86.04)     -> "86.0"         fmt_change("score", 1.26)   -> "+1.3分"
    fmt_value("rate", None)       -> "—"            (nothing was due: not 0 % or 100 %)

Kinds are those of ``domain.measures.Measure.kind``: a rate is a fraction 0–1, a count a number
of things, a score 0–100. Changes are what ``domain.measures.change`` returns: for rates and
scores the difference (fraction or score points), for counts the relative change.
"""

from __future__ import annotations

import math

NONE = "—"
KINDS = ("rate", "count", "score")


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _one_decimal(x: float) -> str:
    """``x`` with one decimal, never "-0.0"."""
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def fmt_value(kind: str, value: float | int | None) -> str:
    """A measure's value as shown: rates "87.3%", counts "12,345", scores "86.0", None "—"."""
    if _missing(value):
        return NONE
    v = float(value)  # type: ignore[arg-type]
    if kind == "rate":
        return _one_decimal(v * 100) + "%"
    if kind == "count":
        return f"{round(v):,}"
    if kind == "score":
        return _one_decimal(v)
    raise ValueError(f"unknown measure kind {kind!r} (one of {', '.join(KINDS)})")


def _signed(x: float) -> str:
    text = _one_decimal(x)
    return text if text.startswith("-") or text == "0.0" else "+" + text


def fmt_change(kind: str, change: float | None) -> str:
    """A 环比/同比 change as shown: rates in percentage points "+2.1个百分点", counts as a
    relative change "-5.0%", scores in points "+1.3分"; None (no base to compare with) "—"."""
    if _missing(change):
        return NONE
    c = float(change)  # type: ignore[arg-type]
    if kind == "rate":
        return _signed(c * 100) + "个百分点"
    if kind == "count":
        return _signed(c * 100) + "%"
    if kind == "score":
        return _signed(c) + "分"
    raise ValueError(f"unknown measure kind {kind!r} (one of {', '.join(KINDS)})")


def fmt_magnitude(kind: str, change: float) -> str:
    """The size of a change without its sign, for sentences that say the direction in words
    ("上升2.1个百分点", "下降5.0%")."""
    return fmt_change(kind, abs(change)).lstrip("+")


def direction(change: float | None, kind: str) -> int:
    """+1 up, -1 down, 0 flat (rounds to zero at the shown precision) or unknown."""
    if _missing(change):
        return 0
    c = float(change)  # type: ignore[arg-type]
    shown = c * 100 if kind in ("rate", "count") else c
    if abs(shown) < 0.05:
        return 0
    return 1 if c > 0 else -1


def tone(change: float | None, kind: str, higher_is_better: bool) -> str:
    """How a change should be coloured: "good", "bad" or "flat" (also for unknown)."""
    d = direction(change, kind)
    if d == 0:
        return "flat"
    return "good" if (d > 0) == higher_is_better else "bad"
