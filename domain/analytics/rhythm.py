"""The work rhythm of a period: which kind of day each local day is (工作日, 周末, 法定节假日,
调休上班), from the work calendar (national notices via chinese_calendar plus local overrides)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from domain.clock.work_calendar import WorkCalendar

DAY_KINDS = {
    "workday": "工作日",
    "makeup": "调休上班日",
    "weekend": "周末休息日",
    "holiday": "法定节假日",
}
# chinese_calendar's holiday names, in Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def day_kind(calendar: WorkCalendar, day: date) -> str:
    """One of DAY_KINDS for local ``day``."""
    if calendar.is_workday(day):
        return "workday" if day.weekday() < 5 else "makeup"
    return "holiday" if calendar.holiday_name(day) else "weekend"


def holiday_zh(calendar: WorkCalendar, day: date) -> str | None:
    name = calendar.holiday_name(day)
    return HOLIDAY_NAMES_ZH.get(name, name) if name else None


def by_kind(calendar: WorkCalendar, daily: Iterable[tuple[date, int]]) -> dict[str, dict]:
    """Days and tickets per day kind, and the mean per day ({kind: {"days", "tickets",
    "per_day"}}; per_day None for a kind with no day in the period)."""
    out: dict[str, dict] = {k: {"days": 0, "tickets": 0} for k in DAY_KINDS}
    for day, n in daily:
        o = out[day_kind(calendar, day)]
        o["days"] += 1
        o["tickets"] += n
    for o in out.values():
        o["per_day"] = o["tickets"] / o["days"] if o["days"] else None
    return out
