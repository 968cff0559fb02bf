"""The department tasks of a ticket (``ticket_task``): reading the open ones and applying the
task operations of ``domain.workflow.lifecycle`` with SQL."""

from __future__ import annotations

from collections.abc import Iterable

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


def apply_task_ops(
    conn: psycopg.Connection, ticket_id: int, created_at, ops: Iterable[lc.TaskOp]
) -> int | None:
    """Apply ``ops`` in order to the ticket's tasks; returns the id of a lead task created.

    Raises TicketError for a task of an unknown department.
    """
    lead_id = None
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
                    if op.role == "lead":
                        lead_id = task_id
                        # The ticket names its current lead (the workbench filters by it).
                        cur.execute(
                            "UPDATE ticket SET lead_department_id = %s"
                            " WHERE id = %s AND created_at = %s",
                            (op.department_id, ticket_id, created_at),
                        )
                case lc.SignLead():
                    cur.execute(
                        "UPDATE ticket_task SET state = 'signed', signed_at = %s"
                        " WHERE ticket_id = %s AND role = 'lead' AND state = 'dispatched'",
                        (op.at, ticket_id),
                    )
                case lc.ReturnDispatch():
                    cur.execute(
                        "UPDATE ticket_task SET finished_at = %s,"
                        " state = CASE role WHEN 'lead' THEN 'returned' ELSE 'cancelled' END"
                        " WHERE ticket_id = %s AND state IN ('dispatched', 'signed')",
                        (op.at, ticket_id),
                    )
                case lc.SignTask():
                    cur.execute(
                        "UPDATE ticket_task SET state = 'signed', signed_at = %s WHERE id = %s",
                        (op.at, op.task_id),
                    )
                case lc.FinishTask(state="feedback"):
                    cur.execute(
                        "UPDATE ticket_task SET state = 'feedback', finished_at = %s,"
                        " on_time = %s WHERE id = %s",
                        (op.at, op.on_time, op.task_id),
                    )
                case lc.FinishTask(state="returned"):
                    cur.execute(
                        "UPDATE ticket_task SET state = 'returned', finished_at = %s WHERE id = %s",
                        (op.at, op.task_id),
                    )
                case lc.ReopenLead():
                    cur.execute(
                        "UPDATE ticket_task SET state = 'signed', finished_at = NULL,"
                        " on_time = NULL WHERE id = (SELECT id FROM ticket_task"
                        " WHERE ticket_id = %s AND role = 'lead' AND state = 'feedback'"
                        " ORDER BY id DESC LIMIT 1)",
                        (ticket_id,),
                    )
                case lc.MoveOpenTasksDue():
                    cur.execute(
                        "UPDATE ticket_task SET due_at = %s WHERE ticket_id = %s"
                        " AND state IN ('dispatched', 'signed')",
                        (op.due_at, ticket_id),
                    )
                case _:
                    raise ValueError(f"unknown task operation {op!r}")
    return lead_id
