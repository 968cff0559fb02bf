"""The workbench's periods: quick ranges (今日, 本周, 本月 …) and custom day ranges.

A quick range is resolved against the injected "now" each time a view is opened, so a shared
URL with 本月 shows the month the reader is in, while a custom range is fixed days. Days are
local calendar days of the deployment's time zone; a range is inclusive of both ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType

QUICK_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "today": "今日",
        "week": "本周",
        "month": "本月",
        "last_month": "上月",
        "quarter": "本季",
        "last_quarter": "上季",
        "year": "本年",
        "last_year_same": "去年同期",
        "30d": "近30日",
        "365d": "近一年",
    }
)
CUSTOM = "custom"
PERIODS: tuple[str, ...] = (*QUICK_NAMES_ZH, CUSTOM)
DEFAULT_PERIOD = "month"
# Longest custom range: the table is partitioned by month and a filter over more than a few
# years is a data-warehouse question, not a workbench one.
MAX_SPAN_DAYS = 3 * 366


def _quarter_start(d: date) -> date:
    return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)


def _month_before(d: date) -> date:
    """The first day of the month before ``d``'s month."""
    return date(d.year - 1, 12, 1) if d.month == 1 else date(d.year, d.month - 1, 1)


def _last_year(d: date) -> date:
    """The same day a year earlier (29 February becomes 28 February)."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def quick_range(period: str, today: date) -> tuple[date, date]:
    """The inclusive day range of quick period ``period`` on local day ``today``."""
    match period:
        case "today":
            return today, today
        case "week":  # Monday to today
            return today - timedelta(days=today.weekday()), today
        case "month":
            return today.replace(day=1), today
        case "last_month":
            first = _month_before(today)
            return first, today.replace(day=1) - timedelta(days=1)
        case "quarter":
            return _quarter_start(today), today
        case "last_quarter":
            this = _quarter_start(today)
            return _quarter_start(this - timedelta(days=1)), this - timedelta(days=1)
        case "year":
            return date(today.year, 1, 1), today
        case "last_year_same":  # this month so far, a year earlier (同比)
            return _last_year(today.replace(day=1)), _last_year(today)
        case "30d":
            return today - timedelta(days=29), today
        case "365d":
            return today - timedelta(days=364), today
    raise ValueError(f"unknown period {period!r}")


def local_day(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


def day_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants [start of ``first``, start of the day after ``last``) in ``tz``."""
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    return start, end
