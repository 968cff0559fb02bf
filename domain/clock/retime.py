"""Re-timing the clocks of open tickets after the work calendar changed (issue #13), pure.

When an administrator enters a holiday or a make-up working day (调休), the due and warning
instants already stored on open tickets and their department tasks were computed with the old
calendar. This module says what they become under the new one.

The rule: **a clock keeps the working time it had; only the days it runs over changed.** For a
stored instant ``I`` of a clock that started at ``S`` on a work-clock unit ('wh', 'wd'):

* ``w`` = the working time between ``S`` and ``I`` under the old calendar;
* ``I'`` = ``I`` + (``S`` + ``w`` on the new calendar − ``S`` + ``w`` on the old calendar).

When the changed days lie outside [S, I] the two additions agree and ``I`` stays exactly as it
was, so only clocks that run over a changed day move (and entering a day then removing it gives
the original instants back). Instants on the calendar clock ('min', 'h': T1 report, T6 verify by
default) never move. Why the working time and not the stage limit read again: the limit may have
been edited since the stage started (a ticket keeps the limit it started with), and the stored
instants also carry what the loop did to them since:

* an **extension** (延期, ``extension_count`` > 0) set ``due_at`` to an approved instant and kept
  ``original_due_at`` for the on-time statistics (DOMAIN.md §4). Both keep their working time
  from the stage start: the extension is neither lost nor re-granted, and ``original_due_at``
  stays the statutory limit under the corrected calendar;
* a **suspension** (挂账) restarted the stage at the resumption and moved both due times by the
  suspension's length; the working time left from the resumption is what is kept.

Which instants are re-timed, and from which start:

* ``stage_due_at`` and ``stage_warn_at`` of the running stage, from ``stage_started_at``, on the
  stage's unit (``stage_limit``);
* ``due_at`` and ``original_due_at`` (the T5 handling clock) while the handling runs or is
  suspended (states dispatched, in_progress, extension_pending, suspended), from
  ``stage_started_at`` (the dispatch, the resumption, or the suspension: what is left of the
  clock then). Tickets in feedback or verification have finished handling: their handling due
  times are the record the closing judges and are left alone, as are the stale due times of a
  returned ticket (the next dispatch computes new ones);
* per open department task (dispatched, signed): ``due_at`` and ``original_due_at`` from
  ``dispatched_at`` on the T5 unit, and ``sign_due_at`` from ``dispatched_at`` on the T4 unit
  while the task is unsigned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.clock.limits import limit_for
from domain.clock.work_calendar import CALENDAR_UNITS, WorkCalendar
from domain.workflow.rules import OPEN_STATES, OPEN_TASK_STATES, STAGE_OF_STATE, State

# States in which the T5 handling clock (due_at, original_due_at) runs or is paused (挂账).
HANDLING_STATES: frozenset[str] = frozenset(
    {s.value for s, stage in STAGE_OF_STATE.items() if stage == "T5"} | {State.SUSPENDED.value}
)
OPEN_STATE_VALUES: frozenset[str] = frozenset(s.value for s in OPEN_STATES)
TICKET_COLUMNS = ("stage_warn_at", "stage_due_at", "due_at", "original_due_at")
TASK_COLUMNS = ("sign_due_at", "due_at", "original_due_at")

Limits = Mapping[tuple[str, str, str], tuple[float, str]]
Moves = dict[str, tuple[datetime | None, datetime | None]]  # column -> (old, new), changed only


@dataclass(frozen=True)
class TicketTimes:
    """The clock columns of an open ticket (instants aware UTC, None when unset)."""

    id: int
    created_at: datetime
    category_code: str
    urgency: str
    state: str
    stage: str | None
    stage_started_at: datetime | None
    stage_warn_at: datetime | None
    stage_due_at: datetime | None
    due_at: datetime | None
    original_due_at: datetime | None
    extension_count: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TicketTimes:
        """The times out of a ticket row (a mapping with these column names)."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class TaskTimes:
    """The clock columns of an open department task, with its ticket's category and urgency."""

    id: int
    ticket_id: int
    ticket_created_at: datetime
    category_code: str
    urgency: str
    state: str
    dispatched_at: datetime
    sign_due_at: datetime | None
    due_at: datetime | None
    original_due_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TaskTimes:
        """The times out of a joined ticket_task/ticket row."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


def moved(
    old: WorkCalendar, new: WorkCalendar, start: datetime, instant: datetime, unit: str
) -> datetime:
    """``instant`` of a clock started at ``start`` on ``unit``, re-timed from ``old`` to ``new``
    (see module docstring): unchanged on the calendar clock, when ``instant`` is not after
    ``start``, or when no changed day lies between them."""
    if unit in CALENDAR_UNITS or instant <= start:
        return instant
    hours = old.work_minutes_between(start, instant) / 60
    # The same amount added on both calendars: equal results cancel exactly, so an instant whose
    # clock does not run over a changed day stays bit for bit (also off-hours instants, e.g. an
    # extension approved to 20:00, which keep their distance past the last working minute).
    return instant + (new.add(start, hours, "wh") - old.add(start, hours, "wh"))


def _warn(
    old: WorkCalendar,
    new: WorkCalendar,
    start: datetime,
    warn: datetime | None,
    due: datetime,
    new_due: datetime,
    unit: str,
) -> datetime | None:
    """The warning instant after the due moved from ``due`` to ``new_due``: shifted by what the
    new calendar changes in the 80 % point, so a stored value stays when nothing it spans
    changed."""
    if warn is None or due <= start or new_due <= start:
        return warn
    return warn + (new.warn_at(start, new_due, unit=unit) - old.warn_at(start, due, unit=unit))


def _unit_of(limits: Limits, category: str, urgency: str) -> Callable[[str], str | None]:
    def unit(stage: str) -> str | None:
        try:
            return limit_for(category, stage, urgency, limits).unit
        except (KeyError, ValueError):
            return None  # no limit row: the clock's unit is unknown, so it is not re-timed

    return unit


def _changes(before: Mapping[str, datetime | None], after: Mapping[str, datetime | None]) -> Moves:
    return {k: (before[k], after[k]) for k in after if after[k] != before[k]}


def retime_ticket(t: TicketTimes, old: WorkCalendar, new: WorkCalendar, limits: Limits) -> Moves:
    """{column: (old, new)} of the ticket's clock columns that the calendar change moves
    (empty when none moves, and always for a ticket that is not open)."""
    if t.state not in OPEN_STATE_VALUES or t.stage_started_at is None:
        return {}
    start = t.stage_started_at
    unit = _unit_of(limits, t.category_code, t.urgency)
    before = {c: getattr(t, c) for c in TICKET_COLUMNS}
    after = dict(before)
    stage_unit = unit(t.stage) if t.stage else None
    if stage_unit is not None and t.stage_due_at is not None:
        after["stage_due_at"] = moved(old, new, start, t.stage_due_at, stage_unit)
        after["stage_warn_at"] = _warn(
            old, new, start, t.stage_warn_at, t.stage_due_at, after["stage_due_at"], stage_unit
        )
    handling_unit = unit("T5")
    if t.state in HANDLING_STATES and handling_unit is not None:
        for column in ("due_at", "original_due_at"):
            value = before[column]
            if value is not None:
                after[column] = moved(old, new, start, value, handling_unit)
    return _changes(before, after)


def retime_task(k: TaskTimes, old: WorkCalendar, new: WorkCalendar, limits: Limits) -> Moves:
    """{column: (old, new)} of an open task's due columns that the calendar change moves."""
    if k.state not in OPEN_TASK_STATES:
        return {}
    unit = _unit_of(limits, k.category_code, k.urgency)
    before = {c: getattr(k, c) for c in TASK_COLUMNS}
    after = dict(before)
    handling_unit = unit("T5")
    if handling_unit is not None:
        for column in ("due_at", "original_due_at"):
            value = before[column]
            if value is not None:
                after[column] = moved(old, new, k.dispatched_at, value, handling_unit)
    sign_unit = unit("T4")
    if k.state == "dispatched" and k.sign_due_at is not None and sign_unit is not None:
        after["sign_due_at"] = moved(old, new, k.dispatched_at, k.sign_due_at, sign_unit)
    return _changes(before, after)


def event_data(ticket_moves: Moves, task_moves: Mapping[int, Moves], days: list[str]) -> dict:
    """The ``data`` of a ticket's 'retime' event: the changed calendar days and, per re-timed
    row, the old and new instants (ISO 8601, UTC)."""

    def iso(moves: Moves) -> dict[str, dict[str, str | None]]:
        return {
            c: {"old": o.isoformat() if o else None, "new": n.isoformat() if n else None}
            for c, (o, n) in moves.items()
        }

    data: dict[str, Any] = {"calendar_days": days}
    if ticket_moves:
        data["ticket"] = iso(ticket_moves)
    if task_moves:
        data["tasks"] = {str(i): iso(m) for i, m in sorted(task_moves.items())}
    return data
