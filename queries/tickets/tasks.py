"""The department tasks of a ticket (``ticket_task``): reading the open ones and applying the
task operations of ``domain.workflow.lifecycle`` with SQL, with the counts each operation adds to
the department rollup (``stat_task_daily``; rules in ``queries/sql/rebuild_stat_task_daily.sql``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from domain.workflow import lifecycle as lc

from ..db import one
from .errors import TicketError

_OPEN_COLUMNS = "id, department_id, role, state, original_due_at"


def open_tasks(conn: psycopg.Connection, ticket_id: int) -> list[lc.OpenTask]:
    """The ticket's open (dispatched or signed) tasks, locked, oldest first."""
    rows = conn.execute(
        f"SELECT {_OPEN_COLUMNS} FROM ticket_task WHERE ticket_id = %s"  # noqa: S608
        " AND state IN ('dispatched', 'signed') ORDER BY id FOR UPDATE",
        (ticket_id,),
    ).fetchall()
    return [lc.OpenTask(*r) for r in rows]


def open_task_of(
    conn: psycopg.Connection, ticket_id: int, department_id: int
) -> lc.OpenTask | None:
    """The latest open task of ``department_id`` on the ticket, locked, or None."""
    row = conn.execute(
        f"SELECT {_OPEN_COLUMNS} FROM ticket_task WHERE ticket_id = %s"  # noqa: S608
        " AND department_id = %s AND state IN ('dispatched', 'signed')"
        " ORDER BY id DESC LIMIT 1 FOR UPDATE",
        (ticket_id, department_id),
    ).fetchone()
    return None if row is None else lc.OpenTask(*row)


@dataclass
class TaskChanges:
    """What ``apply_task_ops`` did: the lead task the step acted on (id, department) for the
    event's ``task_id``, and the department rollup counts as (instant, department, counts)."""

    lead: tuple[int, int] | None = None
    counts: list[tuple[datetime, int, dict[str, int]]] = field(default_factory=list)

    @property
    def lead_id(self) -> int | None:
        return None if self.lead is None else self.lead[0]

    def count(self, at: datetime, department_id: int, **counts: int) -> None:
        self.counts.append((at, department_id, counts))


def latest_lead(conn: psycopg.Connection, ticket_id: int, at: datetime) -> tuple[int, int] | None:
    """(id, department) of the ticket's lead task dispatched last at or before ``at``, or None:
    whom a rework is held against when no fed-back lead task reopened (the rebuild's rule)."""
    row = conn.execute(
        "SELECT id, department_id FROM ticket_task WHERE ticket_id = %s AND role = 'lead'"
        " AND dispatched_at <= %s ORDER BY dispatched_at DESC, id DESC LIMIT 1",
        (ticket_id, at),
    ).fetchone()
    return None if row is None else (row[0], row[1])


def apply_task_ops(
    conn: psycopg.Connection, ticket_id: int, created_at, ops: Iterable[lc.TaskOp]
) -> TaskChanges:
    """Apply ``ops`` in order to the ticket's tasks; returns the lead task acted on and the
    department rollup counts the operations add (dispatched when created, returned, finished
    (on time) when fed back, a finish withdrawn when a rework reopens the lead task).

    Raises TicketError for a task of an unknown department.
    """
    out = TaskChanges()
    with conn.cursor() as cur:
        for op in ops:
            match op:
                case lc.CancelOpenTasks():
                    cur.execute(
                        "UPDATE ticket_task SET state = 'cancelled' WHERE ticket_id = %s"
                        " AND state IN ('dispatched', 'signed')",
                        (ticket_id,),
                    )
                case lc.CreateTask():
                    cur.execute("SELECT 1 FROM department WHERE id = %s", (op.department_id,))
                    if cur.fetchone() is None:
                        raise TicketError("department_id", f"unknown department {op.department_id}")
                    cur.execute(
                        "INSERT INTO ticket_task (ticket_id, ticket_created_at, department_id,"
                        " role, state, dispatched_at, sign_due_at, due_at, original_due_at)"
                        " VALUES (%s, %s, %s, %s, 'dispatched', %s, %s, %s, %s) RETURNING id",
                        (
                            ticket_id,
                            created_at,
                            op.department_id,
                            op.role,
                            op.at,
                            op.sign_due_at,
                            op.due_at,
                            op.due_at,
                        ),
                    )
                    task_id = one(cur.fetchone())[0]
                    out.count(op.at, op.department_id, dispatched=1)
                    if op.role == "lead":
                        out.lead = (task_id, op.department_id)
                        # The ticket names its current lead (the workbench filters by it).
                        cur.execute(
                            "UPDATE ticket SET lead_department_id = %s"
                            " WHERE id = %s AND created_at = %s",
                            (op.department_id, ticket_id, created_at),
                        )
                case lc.SignLead():
                    cur.execute(
                        "UPDATE ticket_task SET state = 'signed', signed_at = %s"
                        " WHERE ticket_id = %s AND role = 'lead' AND state = 'dispatched'"
                        " RETURNING id, department_id",
                        (op.at, ticket_id),
                    )
                    out.lead = _row(cur.fetchone()) or out.lead
                case lc.ReturnDispatch():
                    cur.execute(
                        "UPDATE ticket_task SET finished_at = %s,"
                        " state = CASE role WHEN 'lead' THEN 'returned' ELSE 'cancelled' END"
                        " WHERE ticket_id = %s AND state IN ('dispatched', 'signed')"
                        " RETURNING id, department_id, state",
                        (op.at, ticket_id),
                    )
                    for task_id, dept, state in cur.fetchall():
                        if state == "returned":
                            out.lead = (task_id, dept)
                            out.count(op.at, dept, returned=1)
                case lc.SignTask():
                    cur.execute(
                        "UPDATE ticket_task SET state = 'signed', signed_at = %s WHERE id = %s",
                        (op.at, op.task_id),
                    )
                case lc.FinishTask(state="feedback"):
                    cur.execute(
                        "UPDATE ticket_task SET state = 'feedback', finished_at = %s,"
                        " on_time = %s WHERE id = %s RETURNING id, department_id, role",
                        (op.at, op.on_time, op.task_id),
                    )
                    task_id, dept, role = one(cur.fetchone())
                    out.count(op.at, dept, finished=1, finished_on_time=int(op.on_time is True))
                    if role == "lead":
                        out.lead = (task_id, dept)
                case lc.FinishTask(state="returned"):
                    cur.execute(
                        "UPDATE ticket_task SET state = 'returned', finished_at = %s WHERE id = %s"
                        " RETURNING department_id",
                        (op.at, op.task_id),
                    )
                    out.count(op.at, one(cur.fetchone())[0], returned=1)
                case lc.ReopenLead():
                    # The finish it had is withdrawn from the rollup, on the day it was counted:
                    # a task is finished by its last feedback (the row keeps only that one).
                    cur.execute(
                        "UPDATE ticket_task k SET state = 'signed', finished_at = NULL,"
                        " on_time = NULL FROM (SELECT id, finished_at, on_time FROM ticket_task"
                        " WHERE ticket_id = %s AND role = 'lead' AND state = 'feedback'"
                        " ORDER BY id DESC LIMIT 1) old WHERE k.id = old.id"
                        " RETURNING k.id, k.department_id, old.finished_at, old.on_time",
                        (ticket_id,),
                    )
                    row = cur.fetchone()
                    if row is not None:
                        task_id, dept, finished_at, on_time = row
                        out.lead = (task_id, dept)
                        if finished_at is not None:
                            out.count(
                                finished_at,
                                dept,
                                finished=-1,
                                finished_on_time=-int(on_time is True),
                            )
                case lc.MoveOpenTasksDue():
                    cur.execute(
                        "UPDATE ticket_task SET due_at = %s WHERE ticket_id = %s"
                        " AND state IN ('dispatched', 'signed')",
                        (op.due_at, ticket_id),
                    )
                case _:
                    raise ValueError(f"unknown task operation {op!r}")
    return out


def _row(row) -> tuple[int, int] | None:
    return None if row is None else (row[0], row[1])
