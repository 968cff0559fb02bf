"""A year of the work calendar, day by day, as the CLI's ``calendar show`` and the admin page's
year view present it (pure).

Each day is a working day or a day off, and one of four kinds: an ordinary ``workday``, an
ordinary ``weekend``, a ``holiday`` (a weekday off) or a ``makeup`` working day (调休, a weekend
day worked). Its ``source`` says where that comes from: an administrator's ``override`` (table
``calendar_day``), the ``package`` (``chinese_calendar``), or the Monday–Friday ``rule``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import chinese_calendar

from domain.clock.calendar_years import package_knows

KINDS_ZH = {"workday": "工作日", "weekend": "周末", "holiday": "节假日", "makeup": "调休上班"}
SOURCES_ZH = {"override": "管理员设置", "package": "chinese_calendar", "rule": "周一至周五"}


@dataclass(frozen=True)
class DayInfo:
    """One day of a year's calendar (see module docstring)."""

    day: dt.date
    is_workday: bool
    kind: str  # workday | weekend | holiday | makeup
    source: str  # override | package | rule
    note: str | None

    @property
    def special(self) -> bool:
        """A holiday, a make-up day, or any stored override: what a listing shows."""
        return self.kind in ("holiday", "makeup") or self.source == "override"


def _package_day(day: dt.date) -> tuple[bool, str | None] | None:
    """(is_workday, Chinese holiday name or None) from chinese_calendar; None for unknown years."""
    if not package_knows(day.year):
        return None
    is_holiday, name = chinese_calendar.get_holiday_detail(day)
    zh = None
    if name:
        try:
            zh = chinese_calendar.Holiday(name).chinese
        except ValueError:
            zh = str(name)
    return (not is_holiday), zh


def day_info(day: dt.date, override: tuple[bool, str | None] | None) -> DayInfo:
    """The classification of ``day`` given its stored override ((is_workday, note) or None)."""
    weekday = day.weekday() < 5
    package = _package_day(day)
    if override is not None:
        work, note, source = override[0], override[1], "override"
    elif package is not None:
        work, source = package[0], "package"
        note = None
        if work != weekday and package[1]:
            note = package[1] if not work else f"{package[1]}调休"
    else:
        work, note, source = weekday, None, "rule"
    if work:
        kind = "workday" if weekday else "makeup"
    else:
        kind = "weekend" if not weekday else "holiday"
    return DayInfo(day, work, kind, source, note)


def year_days(year: int, overrides: Mapping[dt.date, tuple[bool, str | None]]) -> list[DayInfo]:
    """Every day of ``year`` classified (overrides: day -> (is_workday, note))."""
    day, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    out = []
    while day <= last:
        out.append(day_info(day, overrides.get(day)))
        day += dt.timedelta(days=1)
    return out


@dataclass(frozen=True)
class HolidayRun:
    """A run of consecutive days off that holds at least one holiday (weekends included)."""

    first: dt.date
    last: dt.date
    name: str | None

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def holiday_runs(days: Sequence[DayInfo]) -> list[HolidayRun]:
    """The holiday periods of ``days`` (in date order), each named by its first holiday note."""
    runs: list[HolidayRun] = []
    current: list[DayInfo] = []

    def close() -> None:
        holidays = [d for d in current if d.kind == "holiday"]
        if holidays:
            name = next((d.note for d in holidays if d.note), None)
            runs.append(HolidayRun(current[0].day, current[-1].day, name))
        current.clear()

    for d in days:
        if d.is_workday:
            close()
        else:
            current.append(d)
    close()
    return runs
