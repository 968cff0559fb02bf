"""Where "now" comes from: one injected clock, never ``datetime.now()`` read ad hoc.

Programs build one clock (``clock_for(settings)``) and hand it, or the instant it gives, to
everything below them: the write path, the sweep, the measures, the screen, the layers, the
demo generator and the live simulator. Tests pin it (``FixedClock``) so that a result never
depends on the hour or date the suite runs. ``SystemClock`` is the one place in gridscope that
reads the machine's time of day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of the current instant (an aware UTC datetime)."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant: tests, and replays of a past moment of a demo."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("a fixed clock needs an aware instant (with a UTC offset)")

    def now(self) -> datetime:
        return self.instant.astimezone(UTC)


def clock_for(fixed_now: datetime | None) -> Clock:
    """The clock a program runs on: fixed at ``fixed_now`` when given (setting ``fixed_now``),
    else the system clock."""
    return SystemClock() if fixed_now is None else FixedClock(fixed_now)
