"""Re-timing the open tickets and tasks whose clocks run over changed calendar days: the SQL
around domain/clock/retime.py, run by ``queries.calendar.apply_edits`` inside its transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from domain.clock.retime import (
    Moves,
    TaskTimes,
    TicketTimes,
    event_data,
    retime_task,
    retime_ticket,
)
from domain.clock.work_calendar import WorkCalendar

from .item_list import load_limits
from .tickets.events import append_event

# The event: not a transition of the loop (domain.workflow.rules), like the sweep's 'supervise'.
RETIME_EVENT = "retime"
RETIME_COMMENT = "工作日历调整，期限按新日历重算"

# ---- re-timing -------------------------------------------------------------------------------

# Open tickets whose clock may run over the window: started before its end, due after its start.
# The state test is the predicate of the partial index ticket_open, written the same way.
_TICKETS_SQL = """
SELECT id, created_at, category_code, urgency, state, stage, stage_started_at, stage_warn_at,
       stage_due_at, due_at, original_due_at, extension_count
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected')
   AND stage_started_at < %(hi)s
   AND greatest(stage_due_at, due_at, original_due_at) > %(lo)s
 ORDER BY id
   FOR UPDATE
"""

_TASKS_SQL = """
SELECT k.id, k.ticket_id, k.ticket_created_at, t.category_code, t.urgency, k.state,
       k.dispatched_at, k.sign_due_at, k.due_at, k.original_due_at
  FROM ticket_task k
  JOIN ticket t ON t.id = k.ticket_id AND t.created_at = k.ticket_created_at
 WHERE k.state IN ('dispatched', 'signed')
   AND t.state NOT IN ('closed', 'surveyed', 'rejected')
   AND k.dispatched_at < %(hi)s
   AND greatest(k.sign_due_at, k.due_at, k.original_due_at) > %(lo)s
 ORDER BY k.id
   FOR UPDATE OF k
"""


def _window(days: Sequence[date], tz: ZoneInfo) -> dict[str, datetime]:
    """[local midnight the day before the first changed day, the day after the last) in UTC;
    a day's margin either side covers working periods that cross midnight in UTC."""
    lo = dt.datetime.combine(min(days) - dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    hi = dt.datetime.combine(max(days) + dt.timedelta(days=2), dt.time(0), tzinfo=tz)
    return {"lo": lo.astimezone(dt.UTC), "hi": hi.astimezone(dt.UTC)}


def retime_open(
    conn: psycopg.Connection,
    old: WorkCalendar,
    new: WorkCalendar,
    days: Sequence[date],
    now: datetime,
) -> tuple[int, int]:
    """Re-time the open tickets and tasks whose clocks the changed ``days`` move; append one
    'retime' event per ticket touched. Returns (tickets, tasks) re-timed."""
    limits = load_limits(conn)
    window = _window(days, old.tz)
    with conn.cursor(row_factory=dict_row) as cur:
        tickets = [TicketTimes.from_row(r) for r in cur.execute(_TICKETS_SQL, window)]
        tasks = [TaskTimes.from_row(r) for r in cur.execute(_TASKS_SQL, window)]
    ticket_moves: dict[tuple[int, datetime], tuple[TicketTimes, Moves]] = {}
    for t in tickets:
        moves = retime_ticket(t, old, new, limits)
        if moves:
            ticket_moves[(t.id, t.created_at)] = (t, moves)
    task_moves: dict[tuple[int, datetime], dict[int, Moves]] = {}
    task_rows: list[tuple[Any, ...]] = []
    for k in tasks:
        moves = retime_task(k, old, new, limits)
        if moves:
            task_moves.setdefault((k.ticket_id, k.ticket_created_at), {})[k.id] = moves
            after = {c: moves.get(c, (v, v))[1] for c, v in _task_values(k).items()}
            task_rows.append(
                (after["sign_due_at"], after["due_at"], after["original_due_at"], k.id)
            )
    day_list = [d.isoformat() for d in days]
    with conn.cursor() as cur:
        if ticket_moves:
            cur.executemany(
                "UPDATE ticket SET stage_warn_at = %s, stage_due_at = %s, due_at = %s,"
                " original_due_at = %s, updated_at = %s WHERE id = %s AND created_at = %s",
                [_ticket_row(t, m, now) for t, m in ticket_moves.values()],
            )
        if task_rows:
            cur.executemany(
                "UPDATE ticket_task SET sign_due_at = %s, due_at = %s, original_due_at = %s"
                " WHERE id = %s",
                task_rows,
            )
        for key in sorted({*ticket_moves, *task_moves}):
            data = event_data(
                ticket_moves[key][1] if key in ticket_moves else {},
                task_moves.get(key, {}),
                day_list,
            )
            # Not a transition: no from/to state (like the sweep's 'supervise' events).
            append_event(
                cur, key[0], key[1], now, RETIME_EVENT, None, None, "system", None,
                comment=RETIME_COMMENT, data=data,
            )  # fmt: skip
    return len({*ticket_moves, *task_moves}), len(task_rows)


def _task_values(k: TaskTimes) -> Mapping[str, datetime | None]:
    return {"sign_due_at": k.sign_due_at, "due_at": k.due_at, "original_due_at": k.original_due_at}


def _ticket_row(t: TicketTimes, moves: Moves, now: datetime) -> tuple[Any, ...]:
    def value(column: str) -> datetime | None:
        return moves[column][1] if column in moves else getattr(t, column)

    return (
        value("stage_warn_at"),
        value("stage_due_at"),
        value("due_at"),
        value("original_due_at"),
        now,
        t.id,
        t.created_at,
    )
