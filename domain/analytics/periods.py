"""Reporting periods of the leadership page and the monthly report: week, month, quarter, year
or a custom day range, with the period before it (环比) and the same period a year earlier (同比).

Days are local calendar days of the deployment's time zone, both ends inclusive. A period that
has not ended yet is cut at the injected "now" (``Period.cut``); its comparisons are cut to the
same elapsed length, so that 1–26 November is set against 1–26 October, not all of October.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

Kind = Literal["week", "month", "quarter", "year", "custom"]
KINDS: tuple[str, ...] = ("month", "week", "quarter", "year", "custom")
KIND_NAMES_ZH = {"week": "周", "month": "月", "quarter": "季度", "year": "年", "custom": "自定义"}
# Longest custom period: a leader compares months and years, not decades.
MAX_CUSTOM_DAYS = 3 * 366
FIRST_YEAR = 2000

_KEY = re.compile(
    r"^(?:(?P<y>\d{4})"
    r"(?:-(?P<m>\d{2})|-W(?P<w>\d{2})|-Q(?P<q>[1-4]))?"
    r"|(?P<a>\d{4}-\d{2}-\d{2})\.\.(?P<b>\d{4}-\d{2}-\d{2}))$"
)


class PeriodError(ValueError):
    """A period key that names no period: the message says what is wrong."""


def _year_back(d: date, years: int = 1) -> date:
    """The same day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def _add_months(d: date, months: int) -> date:
    """The first day of the month ``months`` after ``d``'s month."""
    n = d.year * 12 + d.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Local days ``start``..``end`` (inclusive) of one kind; ``full_end`` is the calendar end
    of the period when it has been cut short at "now" (otherwise equal to ``end``)."""

    kind: Kind
    start: date
    end: date
    # date.min: not cut, the period ends on ``end`` (set in __post_init__).
    full_end: date = date.min

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"period ends ({self.end}) before it starts ({self.start})")
        if self.full_end == date.min:
            object.__setattr__(self, "full_end", self.end)

    # --- naming ---------------------------------------------------------------------------
    @property
    def key(self) -> str:
        """The URL and CLI form: 2026-10, 2026-W43, 2026-Q3, 2026, 2026-10-01..2026-10-15."""
        s = self.start
        match self.kind:
            case "month":
                return f"{s.year}-{s.month:02d}"
            case "week":
                y, w, _ = s.isocalendar()
                return f"{y}-W{w:02d}"
            case "quarter":
                return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
            case "year":
                return f"{s.year}"
        return f"{self.start.isoformat()}..{self.full_end.isoformat()}"

    @property
    def label_zh(self) -> str:
        s = self.start
        match self.kind:
            case "month":
                text = f"{s.year}年{s.month}月"
            case "week":
                y, w, _ = s.isocalendar()
                text = f"{y}年第{w}周"
            case "quarter":
                text = f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
            case "year":
                text = f"{s.year}年"
            case _:
                text = f"{_md(self.start)}至{_md(self.full_end)}"
        if self.cut_short:
            text += f"（截至{self.end.month}月{self.end.day}日）"
        return text

    @property
    def short_zh(self) -> str:
        """A label for a chart axis: 10月, W43, Q3, 2026, 10-01."""
        s = self.start
        match self.kind:
            case "month":
                return f"{s.month}月" if s.month != 1 else f"{s.year % 100}年1月"
            case "week":
                return f"W{s.isocalendar()[1]}"
            case "quarter":
                return f"{s.year % 100}Q{(s.month - 1) // 3 + 1}"
            case "year":
                return str(s.year)
        return f"{s.month}-{s.day:02d}"

    @property
    def cut_short(self) -> bool:
        return self.end < self.full_end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    # --- arithmetic -----------------------------------------------------------------------
    def _whole(self, start: date) -> Period:
        """The whole period of this kind starting on ``start``."""
        match self.kind:
            case "month":
                return Period("month", start, _add_months(start, 1) - timedelta(days=1))
            case "week":
                return Period("week", start, start + timedelta(days=6))
            case "quarter":
                return Period("quarter", start, _add_months(start, 3) - timedelta(days=1))
            case "year":
                return Period("year", start, date(start.year, 12, 31))
        span = (self.full_end - self.start).days
        return Period("custom", start, start + timedelta(days=span))

    def _cut_like(self, other: Period) -> Period:
        """``other`` cut to the elapsed length of this period (like-for-like comparison)."""
        if not self.cut_short:
            return other
        end = min(other.end, other.start + timedelta(days=self.days - 1))
        return replace(other, end=end, full_end=other.end)

    def previous(self) -> Period:
        """环比: the period of the same kind just before this one."""
        match self.kind:
            case "month":
                start = _add_months(self.start, -1)
            case "week":
                start = self.start - timedelta(days=7)
            case "quarter":
                start = _add_months(self.start, -3)
            case "year":
                start = date(self.start.year - 1, 1, 1)
            case _:
                start = self.start - timedelta(days=(self.full_end - self.start).days + 1)
        return self._cut_like(self._whole(start))

    def year_ago(self) -> Period:
        """同比: the same period a year earlier (for weeks: the same ISO week number)."""
        if self.kind == "week":
            y, w, _ = self.start.isocalendar()
            try:
                start = date.fromisocalendar(y - 1, w, 1)
            except ValueError:  # week 53 in a year of 52 weeks
                start = date.fromisocalendar(y - 1, 52, 1)
        else:
            start = _year_back(self.start)
        return self._cut_like(self._whole(start))

    def series(self, n: int = 12) -> list[Period]:
        """The ``n`` periods ending with this one, oldest first (for sparklines); earlier
        periods are whole, this one keeps its cut."""
        out = [self]
        for _ in range(n - 1):
            prev = out[-1].previous()
            out.append(replace(prev, end=prev.full_end))
        return out[::-1]

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """The half-open instants [local start 00:00, local day after end 00:00)."""
        a = datetime.combine(self.start, time(), tz)
        b = datetime.combine(self.end + timedelta(days=1), time(), tz)
        return a, b

    def cut(self, now: datetime, tz: tzinfo) -> Period:
        """This period as seen at ``now``: ends on today when it has not ended yet. A period
        that starts after today is refused (there is nothing to show)."""
        today = now.astimezone(tz).date()
        if self.start > today:
            raise PeriodError(f"period {self.key} has not started yet (today is {today})")
        if self.end <= today:
            return self
        return replace(self, end=today, full_end=self.full_end)

    def end_instant(self, now: datetime, tz: tzinfo) -> datetime:
        """The instant the period's stock counts (open past due) are taken at: its end, or
        ``now`` when it has not ended."""
        return min(self.bounds(tz)[1], now)


def _md(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def containing(kind: str, day: date) -> Period:
    """The whole period of ``kind`` (not custom) that contains ``day``."""
    match kind:
        case "month":
            start = date(day.year, day.month, 1)
        case "week":
            start = day - timedelta(days=day.weekday())
        case "quarter":
            start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        case "year":
            start = date(day.year, 1, 1)
        case _:
            raise PeriodError(f"unknown period kind {kind!r}: one of month, week, quarter, year")
    return Period(kind, start, start)._whole(start)  # type: ignore[arg-type]


def default_period(now: datetime, tz: tzinfo) -> Period:
    """The page's default: this month, cut at today."""
    return containing("month", now.astimezone(tz).date()).cut(now, tz)


def parse_period(text: object) -> Period:
    """A period from its key (``Period.key``); PeriodError names what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise PeriodError(
            "no period given: use e.g. 2026-10, 2026-W43, 2026-Q3, 2026 or 2026-10-01..2026-10-15"
        )
    m = _KEY.fullmatch(text.strip())
    if not m:
        raise PeriodError(
            f"period {text!r} is not one of 2026-10, 2026-W43, 2026-Q3, 2026, "
            "2026-10-01..2026-10-15"
        )
    try:
        if m["a"]:
            a, b = date.fromisoformat(m["a"]), date.fromisoformat(m["b"])
            if b < a:
                raise PeriodError(f"period {text!r} ends before it starts")
            if (b - a).days + 1 > MAX_CUSTOM_DAYS:
                raise PeriodError(f"period {text!r} is longer than {MAX_CUSTOM_DAYS} days")
            p = Period("custom", a, b)
        else:
            y = int(m["y"])
            if m["m"]:
                p = containing("month", date(y, int(m["m"]), 1))
            elif m["w"]:
                p = containing("week", date.fromisocalendar(y, int(m["w"]), 1))
            elif m["q"]:
                p = containing("quarter", date(y, 3 * (int(m["q"]) - 1) + 1, 1))
            else:
                p = containing("year", date(y, 1, 1))
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"period {text!r} names no calendar period ({exc})") from None
    if p.start.year < FIRST_YEAR:
        raise PeriodError(f"period {text!r} is before {FIRST_YEAR}")
    return p
