"""Which years' holidays and make-up working days (调休) the work calendar knows.

A year is *known* when the ``chinese_calendar`` package carries the State Council's schedule for
it (2004–2026 in version 1.11), and *confirmed* when an administrator has stated that its
schedule is entered (table ``calendar_year``). A year that is neither falls back to
Monday–Friday (domain/clock/work_calendar.py), which is wrong around every national holiday: the
wall and ``gridscope db check`` warn when such a year lies within the next 60 days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import cache

import chinese_calendar

# The notice period: warn this many days before an unconfirmed year starts to matter.
NOTICE_DAYS = 60


@cache
def package_knows(year: int) -> bool:
    """Whether ``chinese_calendar`` carries the official holiday schedule of ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def years_between(first: dt.date, last: dt.date) -> list[int]:
    """The calendar years that [first, last] overlaps, ascending."""
    if last < first:
        return []
    return list(range(first.year, last.year + 1))


def unconfirmed(today: dt.date, confirmed: Iterable[int], days: int = NOTICE_DAYS) -> list[int]:
    """Years overlapping [today, today + days] neither known to the package nor confirmed."""
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    done = set(confirmed)
    return [
        y
        for y in years_between(today, today + dt.timedelta(days=days))
        if y not in done and not package_knows(y)
    ]


def base_is_workday(day: dt.date) -> bool:
    """Whether ``day`` works without any override: the package's answer for the years it
    knows, else Monday–Friday (quietly: the work calendar logs the fallback, not this)."""
    if package_knows(day.year):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < 5


@cache
def package_years() -> tuple[int, int]:
    """(first, last) year the installed ``chinese_calendar`` carries (e.g. (2004, 2026))."""
    from chinese_calendar.constants import holidays

    years = sorted({d.year for d in holidays})
    return years[0], years[-1]
