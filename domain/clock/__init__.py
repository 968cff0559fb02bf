"""Stage clocks of the closed loop: the work calendar and default stage limits (DOMAIN.md §3–4)."""

from domain.clock.work_calendar import UNITS, WorkCalendar

__all__ = ["UNITS", "WorkCalendar"]
