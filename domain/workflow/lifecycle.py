"""What each step of the closed loop changes (DOMAIN.md §4), pure: written once.

``ticket_step`` takes a ticket's current facts, the action, the state it leads to, the instant
and the transition's parameters, and returns the ticket's column changes, the rollup counts of
``stat_daily``, the event's data and the operations on its ``ticket_task`` rows: which clocks
start and stop, what is judged on time (always through ``domain.workflow.timeliness``), how a
suspension shifts the due times, what a rework reopens. ``assist_step`` does the same for an
assisting department's own task. The write path (``queries.tickets``) reads the facts, calls
these and applies the result with SQL; a refusal raises ``Refused``, which it maps to its
``TicketError`` with the same field, message and status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from domain.vocabulary import SATISFACTION, SATISFIED

from . import rules, timeliness
from .clocks import Clocks
from .rules import Action, State
from .task_ops import (  # part of this module's answer: re-exported
    CancelOpenTasks,
    CreateTask,
    FinishTask,
    MoveOpenTasksDue,
    ReopenLead,
    ReturnDispatch,
    SignLead,
    SignTask,
    TaskOp,
)


class Refused(ValueError):
    """A step the rules refuse: names the field, the problem and the HTTP-like status."""

    def __init__(self, field_name: str, message: str, status: int = 422):
        super().__init__(f"{field_name}: {message}")
        self.field, self.message, self.status = field_name, message, status


@dataclass(frozen=True)
class TicketFacts:
    """The columns of a ticket a step reads (instants aware UTC, None when unset)."""

    id: int
    created_at: datetime
    category_code: str
    urgency: str
    state: str
    stage: str | None
    stage_started_at: datetime | None = None
    stage_due_at: datetime | None = None
    due_at: datetime | None = None
    original_due_at: datetime | None = None
    finished_at: datetime | None = None
    rework_count: int = 0
    return_count: int = 0
    extension_count: int = 0

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TicketFacts:
        """The facts out of a ticket row (a mapping with at least these column names)."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__ if name in row})


@dataclass(frozen=True)
class OpenTask:
    """An open (dispatched or signed) ``ticket_task`` of the ticket."""

    id: int
    department_id: int
    role: str  # 'lead' or 'assist'
    state: str  # 'dispatched' or 'signed'
    original_due_at: datetime | None


class Params(Protocol):
    """The parameters of a requested step (``queries.tickets.Transition`` is one)."""

    @property
    def comment(self) -> str | None: ...
    @property
    def department_id(self) -> int | None: ...
    @property
    def assist_department_ids(self) -> Sequence[int]: ...
    @property
    def new_due_at(self) -> datetime | None: ...
    @property
    def satisfaction(self) -> str | None: ...
    @property
    def override(self) -> bool: ...


@dataclass(frozen=True)
class Effects:
    """What one step changes: ticket columns (with ``state``), rollup counts (``STAT_COUNTS``
    names, zeros included), event data and task operations, applied in order."""

    changes: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    tasks: tuple[TaskOp, ...] = ()


# ---- steps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """How a new ticket starts: its state, running stage and clock, the actor of its 'create'
    event and its rollup counts."""

    state: State
    stage: str
    warn_at: datetime
    due_at: datetime
    reported_at: datetime | None
    actor_kind: str
    counts: dict[str, int]


def created(
    source: str, created_at: datetime, category_code: str, urgency: str, clocks: Clocks
) -> Start:
    """The start of a ticket from ``source`` created at ``created_at``.

    Patrol tickets start ``discovered`` on the T1 report clock; tickets from the hotline, apps
    and departments arrive ``reported`` (counted reported on time) on the T2 accept clock.
    """
    state = State.DISCOVERED if source == "patrol" else State.REPORTED
    stage = rules.STAGE_OF_STATE[state]
    assert stage is not None  # both start states run a clock (T1, T2)
    warn_at, due_at = clocks.stage_times(created_at, category_code, stage, urgency)
    reported = int(state == State.REPORTED)
    return Start(
        state=state,
        stage=stage,
        warn_at=warn_at,
        due_at=due_at,
        reported_at=created_at if reported else None,
        actor_kind="worker" if source == "patrol" else "public",
        counts={"created": 1, "reported": reported, "reported_on_time": reported},
    )


def ticket_step(
    t: TicketFacts,
    action: Action,
    new: State,
    at: datetime,
    params: Params,
    clocks: Clocks,
    open_tasks: Sequence[OpenTask] = (),
) -> Effects:
    """The effects of ``action`` moving ticket ``t`` into ``new`` at ``at``.

    ``open_tasks`` are the ticket's open tasks; a feedback needs them (the pending assisting
    departments and the lead's task). Raises ``Refused`` for a dispatch without a department, an
    extension that does not move the due time later, an unknown survey result, or a lead
    feedback before its assisting departments without override and comment.
    """
    changes: dict[str, Any] = {}
    counts: dict[str, int] = {}
    data: dict[str, Any] = {}
    tasks: list[TaskOp] = []
    cat, urg = t.category_code, t.urgency

    def done() -> Effects:
        return Effects({"state": new.value, **changes}, counts, data, tuple(tasks))

    def start_stage(stage: str | None) -> None:
        changes["stage"] = stage
        changes["stage_started_at"] = at
        if stage is None:
            changes["stage_warn_at"] = changes["stage_due_at"] = None
        else:
            changes["stage_warn_at"], changes["stage_due_at"] = clocks.stage_times(
                at, cat, stage, urg
            )

    new_stage = rules.STAGE_OF_STATE[new]
    if action == Action.REPORT:
        on_time = timeliness.reported_on_time(at, clocks.due(t.created_at, cat, "T1", urg))
        changes["reported_at"] = at
        counts.update(reported=1, reported_on_time=int(on_time))
        data["on_time"] = on_time
    elif action == Action.SELF_RESOLVE:
        # Resolved on the spot: judged against the T1 window it was resolved within.
        changes.update(
            self_resolved=True,
            finished_at=at,
            due_at=t.stage_due_at,
            original_due_at=t.stage_due_at,
        )
        counts["self_resolved"] = 1
    elif action == Action.ESCALATE:
        changes["escalated"] = True
    elif action == Action.DISPATCH:
        if params.department_id is None:
            raise Refused("department_id", "dispatch needs a lead department")
        warn, due = clocks.stage_times(at, cat, "T5", urg)
        sign_due = clocks.due(at, cat, "T4", urg)
        tasks.append(CancelOpenTasks())
        tasks.append(CreateTask(params.department_id, "lead", at, sign_due, due))
        tasks.extend(
            CreateTask(d, "assist", at, sign_due, due) for d in params.assist_department_ids
        )
        changes.update(
            due_at=due,
            original_due_at=due,
            stage="T5",
            stage_started_at=at,
            stage_warn_at=warn,
            stage_due_at=due,
        )
        counts["dispatched"] = 1
        data["department_id"] = params.department_id
        return done()
    elif action == Action.SIGN:
        tasks.append(SignLead(at))
    elif action == Action.RETURN:
        tasks.append(ReturnDispatch(at))
        changes["return_count"] = t.return_count + 1
        counts["returned"] = 1
    elif action == Action.APPROVE_EXTENSION:
        if params.new_due_at is None or params.new_due_at <= (t.due_at or at):
            raise Refused("new_due_at", "an extension must move the due time later")
        # The due time moves; original_due_at stays for the on-time statistics (DOMAIN.md §4).
        changes.update(
            due_at=params.new_due_at,
            stage_due_at=params.new_due_at,
            extension_count=t.extension_count + 1,
            stage_warn_at=clocks.calendar.warn_at(
                _started(t), params.new_due_at, unit=clocks.limit(cat, "T5", urg).unit
            ),
        )
        tasks.append(MoveOpenTasksDue(params.new_due_at))
        data["new_due_at"] = params.new_due_at.isoformat()
        return done()
    elif action == Action.RESUME:
        # Time spent suspended (挂账) does not count against the handling clock.
        suspended_at = _started(t)
        due, original_due = timeliness.resumed_due_times(
            suspended_at, at, t.due_at, t.original_due_at
        )
        changes.update(
            due_at=due,
            original_due_at=original_due,
            stage="T5",
            stage_due_at=due,
            stage_started_at=at,
            stage_warn_at=clocks.calendar.warn_at(
                at, max(due, at), unit=clocks.limit(cat, "T5", urg).unit
            ),
        )
        data["suspended_for_s"] = (at - suspended_at).total_seconds()
        return done()
    elif action == Action.FEEDBACK:
        pending = sorted(x.department_id for x in open_tasks if x.role == "assist")
        if pending and not params.override:
            raise Refused(
                "action",
                f"assisting departments {pending} have not fed back yet; the lead feeds"
                " back after them, or with override=true and a comment",
                status=409,
            )
        if pending and not params.comment:
            raise Refused("comment", "an override of pending assisting tasks needs a comment")
        if pending:
            data.update(override=True, pending_assist=pending)
        changes["finished_at"] = at
        tasks.extend(
            FinishTask(x.id, "feedback", at, _task_on_time(at, x))
            for x in open_tasks
            if x.role == "lead"
        )
    elif action in (Action.VERIFY_PASS, Action.VERIFY_FAIL):
        on_time = timeliness.verified_on_time(t.finished_at, at)
        counts.update(verify_due=1, verified_on_time=int(on_time))
        data["on_time"] = on_time
        if action == Action.VERIFY_FAIL:
            changes["rework_count"] = t.rework_count + 1
            counts["reworked"] = 1
            # The lead's task reopens: it must feed back again.
            tasks.append(ReopenLead())
            # Rework resumes the handling stage against the existing due time.
            changes.update(stage="T5", stage_due_at=t.due_at, finished_at=None)
            return done()
    elif action == Action.SURVEY:
        if params.satisfaction not in SATISFACTION:
            raise Refused(
                "satisfaction", f"must be {', '.join(SATISFACTION[:-1])} or {SATISFACTION[-1]}"
            )
        changes["satisfaction"] = params.satisfaction
        counts.update(surveyed=1, satisfied=int(params.satisfaction in SATISFIED))
        data["satisfaction"] = params.satisfaction

    if new == State.CLOSED:
        # Closing (after on-site verification, or of a self-resolved item): on time when the
        # handling finished by the original due time, whatever extensions moved it to.
        finished = changes.get("finished_at") or t.finished_at or at
        on_time = timeliness.closed_on_time(
            finished, changes.get("original_due_at") or t.original_due_at
        )
        changes.update(closed_at=at, closed_on_time=on_time)
        counts.update(closed=1, closed_on_time=int(on_time))
    # A new stage starts its clock; so do supplied information (T2 again) and escalation (the
    # upper level's own dispatch clock).
    if new_stage != t.stage or action in (Action.SUPPLY_INFO, Action.ESCALATE):
        start_stage(new_stage)
    return done()


def assist_step(task: OpenTask, action: Action, at: datetime) -> SignTask | FinishTask:
    """An assisting department signs, feeds back or returns its own task (the ticket is
    unchanged). Raises ``Refused`` when it signs a task already signed."""
    if action == Action.SIGN:
        if task.state != "dispatched":
            raise Refused("action", "the assisting task is already signed", status=409)
        return SignTask(task.id, at)
    if action == Action.FEEDBACK:
        return FinishTask(task.id, "feedback", at, _task_on_time(at, task))
    if action == Action.RETURN:
        return FinishTask(task.id, "returned", at)
    raise ValueError(f"{action.value} is not a step of an assisting task")


def _started(t: TicketFacts) -> datetime:
    if t.stage_started_at is None:
        raise ValueError(f"ticket {t.id} has no running stage")
    return t.stage_started_at


def _task_on_time(at: datetime, task: OpenTask) -> bool | None:
    # A task is judged by the same rule as the ticket's closing, against its own original due;
    # a task row without one (never written by dispatch) stays unjudged, as SQL's NULL did.
    if task.original_due_at is None:
        return None
    return timeliness.closed_on_time(at, task.original_due_at)
