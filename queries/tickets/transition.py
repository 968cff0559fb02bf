"""Apply one step of the closed loop to a ticket: the rules of ``domain.workflow.lifecycle``
written to the ticket row, its tasks, the event log, the survey record and the rollups
(``stat_daily``, per department ``stat_task_daily``, per worker ``stat_worker_daily``) in one
transaction."""

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
from domain.workflow.rules import Action, State
from domain.workflow.survey import SURVEY_COMMENT_MAX

from ..cache import commit_and_bump
from ..scope import Scope
from .errors import TicketError
from .events import append_event
from .read import get_ticket
from .rollup import stat_upsert, task_upsert, worker_step_counts, worker_upsert
from .survey import checked_channel, insert_survey, retried_survey
from .tasks import TaskChanges, apply_task_ops, latest_lead, open_task_of, open_tasks


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
    channel: str | None = None  # survey: how the party was asked (phone when not given)
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
                result = _assist_step(conn, clocks, t, task, action, at, tr)
            else:
                result = _ticket_step(conn, clocks, t, action, at, tr, now)
        except lc.Refused as exc:
            raise TicketError.of(exc) from None
    commit_and_bump(conn)
    return result


def _assist_step(
    conn: psycopg.Connection,
    clocks: Clocks,
    t: dict[str, Any],
    task: lc.OpenTask,
    action: Action,
    at: datetime,
    tr: Transition,
) -> dict[str, Any]:
    """An assisting department signs, feeds back or returns its own task (ticket unchanged)."""
    op = lc.assist_step(task, action, at)
    changes = apply_task_ops(conn, t["id"], t["created_at"], [op])
    with conn.cursor() as cur:
        _count_tasks(cur, clocks, t, changes)
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
    """A transition of the ticket itself: tasks, row, event, survey record and rollups."""
    channel = None
    if action == Action.SURVEY:
        channel = checked_channel(tr.channel)
        if tr.comment is not None and len(tr.comment) > SURVEY_COMMENT_MAX:
            raise TicketError(
                "comment", f"a survey comment has at most {SURVEY_COMMENT_MAX} characters"
            )
        if t["state"] == State.SURVEYED.value and retried_survey(
            conn, t["id"], tr.satisfaction, channel, tr.comment
        ):
            # The same survey again (a retry): answered as applied, nothing written twice.
            return {"id": t["id"], "state": t["state"], "stage": t["stage"]}
    try:
        new_state = rules.next_state(t["state"], action)
    except rules.IllegalTransition as exc:
        raise TicketError("action", str(exc), status=409) from None
    # A lead's feedback is judged against the open tasks (pending assists, the lead's due).
    tasks = open_tasks(conn, t["id"]) if action == Action.FEEDBACK else ()
    fx = lc.ticket_step(
        lc.TicketFacts.from_row(t), action, new_state, at, tr, clocks, open_tasks=tasks
    )
    tasks_done = apply_task_ops(conn, t["id"], t["created_at"], fx.tasks)
    data = {**fx.data, "channel": channel} if channel is not None else fx.data
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
            tasks_done.lead_id,
            tr.comment,
            data,
        )
        day = at.astimezone(clocks.tz).date()
        stat_upsert(cur, day, t["grid_code"], t["category_code"], fx.counts)
        _count_tasks(cur, clocks, t, tasks_done)
        if fx.counts.get("reworked"):
            # The rework is held against the lead task it reopens (that of the last dispatch
            # when none was fed back), on the day of the failed verification.
            lead = tasks_done.lead or latest_lead(conn, t["id"], at)
            if lead is not None:
                task_upsert(cur, day, lead[1], t["grid_code"], {"reworked": fx.counts["reworked"]})
        worker = worker_step_counts(tr.actor_kind, tr.actor_id, fx.counts)
        if worker and tr.actor_id is not None:
            worker_upsert(cur, day, tr.actor_id, t["grid_code"], worker)
        if channel is not None and tr.satisfaction is not None:
            insert_survey(
                cur, t, at, tr.satisfaction, channel, tr.comment, tr.actor_kind, tr.actor_id
            )
    return {"id": t["id"], "state": new_state.value, "stage": changes.get("stage", t["stage"])}


def _count_tasks(
    cur: psycopg.Cursor, clocks: Clocks, t: dict[str, Any], changes: TaskChanges
) -> None:
    """The department rollup counts of the task operations, on their local days."""
    for instant, department_id, counts in changes.counts:
        task_upsert(
            cur, instant.astimezone(clocks.tz).date(), department_id, t["grid_code"], counts
        )
