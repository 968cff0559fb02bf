"""What one analytics view asks for: an area inside the viewer's scope and a period."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from domain.analytics.periods import Period
from domain.config import Settings

from ..scope import Scope


@dataclass(frozen=True)
class Query:
    """``scope`` is already narrowed to the area the viewer chose (``Scope.narrow`` on the
    server, never a value taken from the browser unchecked); ``period`` is cut at ``now``."""

    scope: Scope
    period: Period
    now: datetime
    tz: tzinfo
    settings: Settings
    # The workbench's in-memory ticket columns when this server process has them loaded
    # (queries.explore.columns.Snapshot): panels that can answer from them do (the same numbers
    # as their SQL); None = SQL only. Not part of the view: the cache key ignores it.
    columns: Any = field(default=None, compare=False, repr=False)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) instants of the period; the end is ``now`` when it has not ended."""
        start, end = self.period.bounds(self.tz)
        return start, min(end, self.now)

    @property
    def days(self) -> tuple[date, date]:
        return self.period.start, self.period.end

    def with_period(self, period: Period) -> Query:
        return Query(self.scope, period, self.now, self.tz, self.settings, self.columns)

    def cache_params(self) -> dict[str, Any]:
        """The part of a cache key that identifies this view (the scope is added by the cache).
        A period that has not ended depends on the minute."""
        p: dict[str, Any] = {"period": self.period.key, "end": self.period.end.isoformat()}
        if self.period.end >= self.now.astimezone(self.tz).date():
            p["now"] = self.now.replace(second=0, microsecond=0).isoformat()
        return p
