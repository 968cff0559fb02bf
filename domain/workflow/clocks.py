"""A stage's clock: its limit, due instant and warning instant (DOMAIN.md §4), pure.

``Clocks`` bundles the work calendar with the stage limits in force (loaded from table
``stage_limit`` by ``queries.item_list.load_limits``) and the display time zone whose calendar
days the rollup counts in. Instants are aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.clock.limits import StageLimit, limit_for
from domain.clock.work_calendar import WorkCalendar


@dataclass(frozen=True)
class Clocks:
    """Stage limits and the work calendar: what a stage's due and warning instants are."""

    calendar: WorkCalendar
    limits: Mapping[tuple[str, str, str], StageLimit]
    tz: ZoneInfo

    def limit(self, category_code: str, stage: str, urgency: str) -> StageLimit:
        """The limit of ``stage`` for a category and urgency (minor falls back to major)."""
        return limit_for(category_code, stage, urgency, self.limits)

    def stage_times(
        self, start: datetime, category_code: str, stage: str, urgency: str
    ) -> tuple[datetime, datetime]:
        """(warn_at, due_at) of ``stage`` started at ``start`` (UTC, on the stage's clock)."""
        lim = self.limit(category_code, stage, urgency)
        due = self.calendar.add(start, lim.amount, lim.unit)
        return self.calendar.warn_at(start, due, lim.amount, lim.unit), due

    def due(self, start: datetime, category_code: str, stage: str, urgency: str) -> datetime:
        """The due instant of ``stage`` started at ``start`` (UTC, on the stage's clock)."""
        lim = self.limit(category_code, stage, urgency)
        return self.calendar.add(start, lim.amount, lim.unit)
