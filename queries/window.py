"""The time anchors of a read: the local calendar day and month of an instant, and the refresh
bucket an instant falls in. Both derive from an explicit ``now`` (the caller's clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo


@dataclass(frozen=True)
class Window:
    """Local-calendar anchors of one refresh, derived from ``now`` in ``tz``."""

    now: datetime
    today: date
    month_start: date

    @classmethod
    def at(cls, now: datetime, tz: tzinfo) -> Window:
        """The anchors of ``now`` (aware) in the local zone ``tz``."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        today = now.astimezone(tz).date()
        return cls(now=now, today=today, month_start=today.replace(day=1))


def floor_time(now: datetime, seconds: int) -> datetime:
    """``now`` floored to a multiple of ``seconds`` since the epoch (same zone as ``now``): the
    refresh bucket, so every request of one interval shares one cached payload."""
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)
