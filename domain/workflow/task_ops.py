"""Operations on a ticket's department tasks (``ticket_task``) that a lifecycle step asks for.

Small frozen values, no I/O: ``domain.workflow.lifecycle`` returns them, the write path
(``queries.tickets.tasks``) applies them with SQL, in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CancelOpenTasks:
    """Every open task of the ticket is cancelled (a new dispatch replaces them)."""


@dataclass(frozen=True)
class CreateTask:
    """A new task for a department, dispatched at ``at``; its original due is ``due_at``."""

    department_id: int
    role: str  # 'lead' or 'assist'
    at: datetime
    sign_due_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class SignLead:
    """The open lead task, still unsigned, is signed at ``at``."""

    at: datetime


@dataclass(frozen=True)
class ReturnDispatch:
    """The lead returns the whole dispatch: the open lead is returned, open assists cancelled."""

    at: datetime


@dataclass(frozen=True)
class FinishTask:
    """Task ``task_id`` feeds back (judged against its original due) or is returned."""

    task_id: int
    state: str  # 'feedback' or 'returned'
    at: datetime
    on_time: bool | None = None


@dataclass(frozen=True)
class SignTask:
    """Task ``task_id`` is signed at ``at``."""

    task_id: int
    at: datetime


@dataclass(frozen=True)
class ReopenLead:
    """The lead's latest fed-back task reopens as signed (a failed verification: rework)."""


@dataclass(frozen=True)
class MoveOpenTasksDue:
    """Every open task's due time moves to ``due_at`` (an approved extension)."""

    due_at: datetime


TaskOp = (
    CancelOpenTasks
    | CreateTask
    | SignLead
    | ReturnDispatch
    | FinishTask
    | SignTask
    | ReopenLead
    | MoveOpenTasksDue
)
