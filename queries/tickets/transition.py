"""Apply one step of the closed loop to a ticket: the rules of ``domain.workflow.lifecycle``
written to the ticket row, its tasks, the event log and the rollup in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from domain.clock.now import SystemClock
from domain.vocabulary import ACTOR_KINDS
from domain.workflow import lifecycle as lc
from domain.workflow import rules
from domain.workflow.clocks import Clocks
from domain.workflow.rules import Action

from ..cache import commit_and_bump
from ..scope import Scope
from .errors import TicketError
from .events import append_event
from .read import get_ticket
from .rollup import stat_upsert
from .tasks import apply_task_ops, open_task_of, open_tasks


@dataclass
class Transition:
    """A requested transition with its context."""

    action: str
    actor_kind: str = "centre"
    actor_id: int | None = None
    at: datetime | None = None
    comment: str | None = None
    department_id: int | None = None  # dispatch: the lead department
    assist_department_ids: tuple[int, ...] = ()
    new_due_at: datetime | None = None  # approve_extension
    satisfaction: str | None = None  # survey
    override: bool = False  # lead feedback before the assisting tasks (recorded in the log)


# Steps a department takes on its own task (an assisting one moves only that task).
TASK_ACTIONS = (Action.SIGN, Action.FEEDBACK, Action.RETURN)


def apply_transition(
    conn: psycopg.Connection,
    clocks: Clocks,
    scope: Scope,
    ticket_id: int,
    tr: Transition,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply one action to a ticket under the rules, with event log and rollups, atomically.

    Sign, feedback and return by an *assisting* department (``department_id`` of an assist task)
    move only that department's task; the lead's feedback moves the ticket, and only after every
    assisting task has fed back unless ``override`` is set with a comment (recorded in the log).
    ``now`` (aware UTC; the system clock when omitted) stamps ``updated_at`` and dates the step
    when ``tr.at`` is not given. Raises TicketError (404 unknown ticket, 409 illegal transition,
    422 bad payload). Returns the ticket's state and stage (and the task's state for an assist
    step).
    """
    now = now or SystemClock().now()
    at = tr.at or now
    try:
        action = Action(tr.action)
    except ValueError:
        raise TicketError("action", f"unknown action {tr.action!r}") from None
    if tr.actor_kind not in ACTOR_KINDS:
        raise TicketError("actor_kind", f"must be one of {', '.join(ACTOR_KINDS)}")
    with conn.transaction():
        t = get_ticket(conn, scope, ticket_id, for_update=True)
        if t is None:
            raise TicketError("ticket_id", f"no ticket {ticket_id} in your jurisdiction", 404)
        if at < t["created_at"]:
            raise TicketError("at", "is before the ticket was created")
        last = conn.execute(
            "SELECT max(at) FROM ticket_event WHERE ticket_id = %s AND ticket_created_at = %s",
            (ticket_id, t["created_at"]),
        ).fetchone()
        if last and last[0] is not None and at < last[0]:
            # The log is ordered by time: a step may not be dated before the previous one.
            raise TicketError("at", f"is before the ticket's last event ({last[0].isoformat()})")
        task = None
        if tr.department_id is not None and action in TASK_ACTIONS:
            task = open_task_of(conn, ticket_id, tr.department_id)
        try:
            if task is not None and task.role == "assist":
                result = _assist_step(conn, t, task, action, at, tr)
            else:
                result = _ticket_step(conn, clocks, t, action, at, tr, now)
        except lc.Refused as exc:
            raise TicketError.of(exc) from None
    commit_and_bump(conn)
    return result


def _assist_step(
    conn: psycopg.Connection,
    t: dict[str, Any],
    task: lc.OpenTask,
    action: Action,
    at: datetime,
    tr: Transition,
) -> dict[str, Any]:
    """An assisting department signs, feeds back or returns its own task (ticket unchanged)."""
    op = lc.assist_step(task, action, at)
    apply_task_ops(conn, t["id"], t["created_at"], [op])
    with conn.cursor() as cur:
        append_event(
            cur,
            t["id"],
            t["created_at"],
            at,
            f"task_{action.value}",
            None,
            None,
            tr.actor_kind,
            tr.actor_id,
            task.id,
            tr.comment,
            {"department_id": tr.department_id, "role": "assist"},
        )
    return {
        "id": t["id"],
        "state": t["state"],
        "stage": t["stage"],
        "task_id": task.id,
        "task_state": "signed" if isinstance(op, lc.SignTask) else op.state,
    }


def _ticket_step(
    conn: psycopg.Connection,
    clocks: Clocks,
    t: dict[str, Any],
    action: Action,
    at: datetime,
    tr: Transition,
    now: datetime,
) -> dict[str, Any]:
    """A transition of the ticket itself: tasks, row, event and rollup."""
    try:
        new_state = rules.next_state(t["state"], action)
    except rules.IllegalTransition as exc:
        raise TicketError("action", str(exc), status=409) from None
    # A lead's feedback is judged against the open tasks (pending assists, the lead's due).
    tasks = open_tasks(conn, t["id"]) if action == Action.FEEDBACK else ()
    fx = lc.ticket_step(
        lc.TicketFacts.from_row(t), action, new_state, at, tr, clocks, open_tasks=tasks
    )
    task_id = apply_task_ops(conn, t["id"], t["created_at"], fx.tasks)
    changes = {**fx.changes, "updated_at": now}
    # Column names come from the lifecycle's fixed set of ticket columns, never from input.
    sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in changes)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("UPDATE ticket SET {} WHERE id = %s AND created_at = %s").format(sets),
            (*changes.values(), t["id"], t["created_at"]),
        )
        append_event(
            cur,
            t["id"],
            t["created_at"],
            at,
            action.value,
            t["state"],
            new_state.value,
            tr.actor_kind,
            tr.actor_id,
            task_id,
            tr.comment,
            fx.data,
        )
        stat_upsert(
            cur, at.astimezone(clocks.tz).date(), t["grid_code"], t["category_code"], fx.counts
        )
    return {"id": t["id"], "state": new_state.value, "stage": changes.get("stage", t["stage"])}
