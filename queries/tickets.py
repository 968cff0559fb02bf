"""The ticket write path: create tickets and apply transitions, transactionally.

Every change writes the ticket row, appends to the event log and updates the ``stat_daily``
rollup in one transaction; the data version is bumped after commit so cached screens refresh.
The transition rules themselves are pure and live in ``domain.workflow.rules``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from domain.clock.limits import StageLimit, limit_for
from domain.clock.work_calendar import WorkCalendar
from domain.workflow import rules
from domain.workflow.rules import Action, State

from .cache import commit_and_bump
from .db import one
from .item_list import Limits
from .scope import Scope

STAT_COLUMNS = (
    "created",
    "self_resolved",
    "reported",
    "reported_on_time",
    "dispatched",
    "returned",
    "closed",
    "closed_on_time",
    "reworked",
    "verify_due",
    "verified_on_time",
    "surveyed",
    "satisfied",
)
SOURCES = ("patrol", "hotline", "app", "department", "video", "import", "other")
URGENCIES = ("normal", "urgent")
ACTOR_KINDS = ("worker", "centre", "department", "public", "system")
VERIFY_LIMIT = timedelta(hours=24)  # T6, ZJ 35 / AR 17: verify within 24 hours


class TicketError(ValueError):
    """Refused input: names the field and the problem (maps to a 4xx, never a 500)."""

    def __init__(self, field_name: str, message: str, status: int = 422):
        super().__init__(f"{field_name}: {message}")
        self.field, self.message, self.status = field_name, message, status


@dataclass(frozen=True)
class Clocks:
    """Stage limits and the work calendar: what a stage's due and warning instants are."""

    calendar: WorkCalendar
    limits: Limits
    tz: ZoneInfo

    def limit(self, category_code: str, stage: str, urgency: str) -> StageLimit:
        return limit_for(category_code, stage, urgency, self.limits)

    def stage_times(
        self, start: datetime, category_code: str, stage: str, urgency: str
    ) -> tuple[datetime, datetime]:
        """(warn_at, due_at) of ``stage`` started at ``start`` (UTC, on the stage's clock)."""
        lim = self.limit(category_code, stage, urgency)
        due = self.calendar.add(start, lim.amount, lim.unit)
        return self.calendar.warn_at(start, due, lim.amount, lim.unit), due


@dataclass
class NewTicket:
    """A ticket as submitted. Coordinates are WGS84 lon/lat degrees."""

    category_code: str
    lon: float
    lat: float
    source: str = "patrol"
    urgency: str = "normal"
    grid_code: str | None = None
    description: str | None = None
    address: str | None = None
    external_id: str | None = None
    external_namespace: str = "api"
    created_at: datetime | None = None
    actor_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _stat_upsert(
    cur: psycopg.Cursor, day, grid_code: str, category_code: str, counts: dict[str, int]
) -> None:
    counts = {k: v for k, v in counts.items() if v}
    if not counts:
        return
    unknown = set(counts) - set(STAT_COLUMNS)
    if unknown:
        raise ValueError(f"not stat_daily columns: {sorted(unknown)}")
    cols = sorted(counts)
    query = sql.SQL(
        "INSERT INTO stat_daily (day, grid_code, category_code, {cols}) VALUES (%s, %s, %s, {vals})"
        " ON CONFLICT (day, grid_code, category_code) DO UPDATE SET {sets}"
    ).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = stat_daily.{c} + EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in cols
        ),
    )
    cur.execute(query, (day, grid_code, category_code, *[counts[c] for c in cols]))


def _append_event(
    cur: psycopg.Cursor,
    ticket_id: int,
    created_at: datetime,
    at: datetime,
    action: str,
    from_state: str | None,
    to_state: str | None,
    actor_kind: str,
    actor_id: int | None,
    task_id: int | None = None,
    comment: str | None = None,
    data: dict | None = None,
) -> None:
    cur.execute(
        "INSERT INTO ticket_event (ticket_id, ticket_created_at, at, action, from_state, to_state,"
        " actor_kind, actor_id, task_id, comment, data)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            ticket_id,
            created_at,
            at,
            action,
            from_state,
            to_state,
            actor_kind,
            actor_id,
            task_id,
            comment,
            Jsonb(data) if data else None,
        ),
    )


def _validate_fields(new: NewTicket) -> None:
    if new.source not in SOURCES:
        raise TicketError("source", f"must be one of {', '.join(SOURCES)}")
    if new.urgency not in URGENCIES:
        raise TicketError("urgency", "must be 'normal' or 'urgent'")
    for name, value, lo, hi in (("long", new.lon, -180, 180), ("lat", new.lat, -90, 90)):
        if not isinstance(value, int | float) or value != value or not lo <= value <= hi:
            raise TicketError(name, f"must be a number between {lo} and {hi}")


def create_ticket(
    conn: psycopg.Connection,
    clocks: Clocks,
    scope: Scope,
    new: NewTicket,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create one ticket (and its 'create' event and rollup counts) in one transaction.

    Patrol tickets start ``discovered`` on the T1 report clock; tickets from the hotline, apps and
    departments arrive ``reported`` on the T2 accept clock. The grid is found by point-in-polygon
    when not given; a point outside every grid of the jurisdiction is refused.
    Returns id, ticket_no, state, grid_code, created_at.
    """
    now = now or datetime.now(UTC)
    created_at = new.created_at or now
    if created_at.tzinfo is None:
        raise TicketError("requested_datetime", "must carry a time zone offset")
    owns_transaction = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    try:
        if new.external_id is not None:
            try:
                # The lookup of _create also finds a ticket already made for the external id.
                return _create(conn, clocks, scope, new, created_at, now)
            except TicketError:
                # A retry of an accepted ticket gets that ticket even if this copy is refused.
                existing = find_external(conn, scope, new.external_namespace, new.external_id)
                if existing is None:
                    raise
                return existing
            except psycopg.errors.UniqueViolation:
                # A concurrent request with the same external id won the race: its ticket.
                conn.rollback()
                existing = find_external(conn, scope, new.external_namespace, new.external_id)
                if existing is None:
                    raise
                return existing
        return _create(conn, clocks, scope, new, created_at, now)
    except BaseException:
        if owns_transaction:  # a refusal leaves the database as it was
            conn.rollback()
        raise


def find_external(
    conn: psycopg.Connection, scope: Scope, namespace: str, external_id: str
) -> dict[str, Any] | None:
    """The ticket already created for an external id (created=False), or None."""
    row = conn.execute(
        "SELECT t.id, t.ticket_no, t.state, t.grid_code, t.micro_grid_code, t.created_at"
        " FROM ticket_external x JOIN ticket t ON t.id = x.ticket_id"
        "   AND t.created_at = x.ticket_created_at"
        " WHERE x.namespace = %s AND x.external_id = %s",
        (namespace, external_id),
    ).fetchone()
    if row is None:
        return None
    return _existing(scope, row)


_EXISTING_KEYS = ("id", "ticket_no", "state", "grid_code", "micro_grid_code", "created_at")


def _existing(scope: Scope, row: Sequence[Any]) -> dict[str, Any]:
    if not scope.contains(row[3]):
        raise TicketError(
            "external_id", "already used by a ticket outside your jurisdiction", status=409
        )
    return {**dict(zip(_EXISTING_KEYS, row, strict=True)), "created": False}


# Category, located grid and micro-grid, the given grid, and the ticket already created for
# the external id if any (the columns of find_external): one round trip.
_LOOKUP_SQL = """
SELECT (SELECT admitted FROM category WHERE code = %(category)s),
       g.code, g.micro,
       (SELECT true FROM grid WHERE code = %(given)s AND valid_to IS NULL),
       x.id, x.ticket_no, x.state, x.grid_code, x.micro_grid_code, x.created_at
  FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS pt) p
  LEFT JOIN LATERAL (
       SELECT t.id, t.ticket_no, t.state, t.grid_code, t.micro_grid_code, t.created_at
         FROM ticket_external e JOIN ticket t ON t.id = e.ticket_id
          AND t.created_at = e.ticket_created_at
        WHERE e.namespace = %(namespace)s AND e.external_id = %(external_id)s) x ON true
  LEFT JOIN LATERAL (
       SELECT g.code,
              (SELECT m.code FROM micro_grid m WHERE m.grid_code = g.code
                  AND m.valid_to IS NULL AND ST_Covers(m.geom, p.pt) ORDER BY m.code LIMIT 1)
                AS micro
         FROM grid g
        WHERE g.valid_to IS NULL AND g.code LIKE %(like)s AND ST_Covers(g.geom, p.pt)
        ORDER BY g.code LIMIT 1) g ON true
"""

# One round trip writes the ticket, its external id, its 'create' event and its rollup count.
_CREATE_SQL = """
WITH n AS (SELECT nextval('ticket_id_seq') AS id),
t AS (
  INSERT INTO ticket (id, created_at, ticket_no, external_id, source, category_code, urgency,
                      state, stage, stage_started_at, stage_warn_at, stage_due_at, grid_code,
                      micro_grid_code, geom, address, description, reported_at, updated_at)
  SELECT n.id, %(created_at)s,
         'GS' || %(day)s || right('0000000' || n.id::text, greatest(7, length(n.id::text))),
         %(external_id)s, %(source)s, %(category)s, %(urgency)s, %(state)s, %(stage)s,
         %(created_at)s, %(warn)s, %(due)s, %(grid)s, %(micro)s,
         ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(address)s, %(description)s,
         %(reported_at)s, %(now)s
    FROM n
  RETURNING id, ticket_no
),
x AS (
  INSERT INTO ticket_external (namespace, external_id, ticket_id, ticket_created_at)
  SELECT %(namespace)s, %(external_id)s, t.id, %(created_at)s FROM t
   WHERE %(external_id)s::text IS NOT NULL
),
e AS (
  INSERT INTO ticket_event (ticket_id, ticket_created_at, at, action, from_state, to_state,
                            actor_kind, actor_id, data)
  SELECT t.id, %(created_at)s, %(created_at)s, 'create', NULL, %(state)s, %(actor_kind)s,
         %(actor_id)s, %(data)s
    FROM t
),
s AS (
  INSERT INTO stat_daily (day, grid_code, category_code, created, reported, reported_on_time)
  VALUES (%(local_day)s, %(grid)s, %(category)s, 1, %(reported)s, %(reported)s)
  ON CONFLICT (day, grid_code, category_code) DO UPDATE
     SET created = stat_daily.created + 1,
         reported = stat_daily.reported + EXCLUDED.reported,
         reported_on_time = stat_daily.reported_on_time + EXCLUDED.reported_on_time
)
SELECT id, ticket_no FROM t
"""


def _create(
    conn: psycopg.Connection,
    clocks: Clocks,
    scope: Scope,
    new: NewTicket,
    created_at: datetime,
    now: datetime,
) -> dict[str, Any]:
    _validate_fields(new)
    if new.grid_code is not None and not scope.contains(new.grid_code):
        raise TicketError("grid_code", "outside your jurisdiction", status=403)
    admitted, located, micro, given_exists, *existing = one(
        conn.execute(
            _LOOKUP_SQL,
            {
                "category": new.category_code,
                "given": new.grid_code,
                "lon": new.lon,
                "lat": new.lat,
                "like": scope.like,
                "namespace": new.external_namespace,
                "external_id": new.external_id,
            },
        ).fetchone()
    )
    if existing[0] is not None:
        return _existing(scope, existing)
    if admitted is None:
        raise TicketError("service_code", f"unknown category {new.category_code!r}")
    if not admitted:
        raise TicketError(
            "service_code", f"category {new.category_code!r} is withdrawn from the item list"
        )
    if new.grid_code is not None:
        if not given_exists:
            raise TicketError("grid_code", f"unknown grid {new.grid_code!r}")
        grid_code = new.grid_code
        micro = micro if located == grid_code else None
    elif located is None:
        raise TicketError("lat/long", "the point lies outside every grid of the jurisdiction")
    else:
        grid_code = located

    state = State.DISCOVERED if new.source == "patrol" else State.REPORTED
    stage = rules.STAGE_OF_STATE[state]
    assert stage is not None  # both start states run a clock (T1, T2)
    warn_at, due_at = clocks.stage_times(created_at, new.category_code, stage, new.urgency)
    local_day = created_at.astimezone(clocks.tz).date()
    reported = int(state == State.REPORTED)
    ticket_id, ticket_no = one(
        conn.execute(
            _CREATE_SQL,
            {
                "created_at": created_at,
                "day": f"{local_day:%Y%m%d}",
                "local_day": local_day,
                "external_id": new.external_id,
                "namespace": new.external_namespace,
                "source": new.source,
                "category": new.category_code,
                "urgency": new.urgency,
                "state": state.value,
                "stage": stage,
                "warn": warn_at,
                "due": due_at,
                "grid": grid_code,
                "micro": micro,
                "lon": new.lon,
                "lat": new.lat,
                "address": new.address,
                "description": new.description,
                "reported_at": created_at if reported else None,
                "now": now,
                "actor_kind": "worker" if new.source == "patrol" else "public",
                "actor_id": new.actor_id,
                "data": Jsonb(new.extra) if new.extra else None,
                "reported": reported,
            },
        ).fetchone()
    )
    commit_and_bump(conn)  # after the commit: a reader of the new version sees the ticket
    return {
        "id": ticket_id,
        "ticket_no": ticket_no,
        "state": state.value,
        "grid_code": grid_code,
        "micro_grid_code": micro,
        "created_at": created_at,
        "created": True,
    }


TICKET_COLUMNS = (
    "id, created_at, ticket_no, category_code, urgency, state, stage, stage_started_at, "
    "stage_due_at, due_at, original_due_at, grid_code, reported_at, finished_at, closed_at, "
    "closed_on_time, self_resolved, rework_count, return_count, extension_count, escalated, "
    "satisfaction"
)


def get_ticket(
    conn: psycopg.Connection, scope: Scope, ticket_id: int, *, for_update: bool = False
) -> dict[str, Any] | None:
    """One ticket in scope as a dict (None when absent or outside the jurisdiction)."""
    query = (
        f"SELECT {TICKET_COLUMNS} FROM ticket WHERE id = %s AND grid_code LIKE %s"  # noqa: S608
        + (" FOR UPDATE" if for_update else "")
    )
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(query, (ticket_id, scope.like))
        return cur.fetchone()


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
    Raises TicketError (404 unknown ticket, 409 illegal transition, 422 bad payload).
    Returns the ticket's state and stage (and the task's state for an assist step).
    """
    now = now or datetime.now(UTC)
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
            task = _open_task(conn, ticket_id, tr.department_id)
        if task is not None and task["role"] == "assist":
            result = _assist_step(conn, t, task, action, at, tr)
        else:
            result = _ticket_step(conn, clocks, t, action, at, tr, now)
    commit_and_bump(conn)
    return result


def _open_task(conn: psycopg.Connection, ticket_id: int, department_id: int) -> dict | None:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT id, role, state FROM ticket_task WHERE ticket_id = %s AND department_id = %s"
            " AND state IN ('dispatched', 'signed') ORDER BY id DESC LIMIT 1 FOR UPDATE",
            (ticket_id, department_id),
        )
        return cur.fetchone()


def _assist_step(
    conn: psycopg.Connection, t: dict, task: dict, action: Action, at: datetime, tr: Transition
) -> dict[str, Any]:
    """An assisting department signs, feeds back or returns its own task (ticket unchanged)."""
    if action == Action.SIGN:
        if task["state"] != "dispatched":
            raise TicketError("action", "the assisting task is already signed", status=409)
        conn.execute(
            "UPDATE ticket_task SET state = 'signed', signed_at = %s WHERE id = %s",
            (at, task["id"]),
        )
        new_task_state = "signed"
    elif action == Action.FEEDBACK:
        conn.execute(
            "UPDATE ticket_task SET state = 'feedback', finished_at = %s,"
            " on_time = (%s <= original_due_at) WHERE id = %s",
            (at, at, task["id"]),
        )
        new_task_state = "feedback"
    else:
        conn.execute(
            "UPDATE ticket_task SET state = 'returned', finished_at = %s WHERE id = %s",
            (at, task["id"]),
        )
        new_task_state = "returned"
    with conn.cursor() as cur:
        _append_event(
            cur,
            t["id"],
            t["created_at"],
            at,
            f"task_{action.value}",
            None,
            None,
            tr.actor_kind,
            tr.actor_id,
            task["id"],
            tr.comment,
            {"department_id": tr.department_id, "role": "assist"},
        )
    return {
        "id": t["id"],
        "state": t["state"],
        "stage": t["stage"],
        "task_id": task["id"],
        "task_state": new_task_state,
    }


def _ticket_step(
    conn: psycopg.Connection,
    clocks: Clocks,
    t: dict,
    action: Action,
    at: datetime,
    tr: Transition,
    now: datetime,
) -> dict[str, Any]:
    """A transition of the ticket itself: row, event and rollup."""
    try:
        new_state = rules.next_state(t["state"], action)
    except rules.IllegalTransition as exc:
        raise TicketError("action", str(exc), status=409) from None
    changes, counts, data, task_id = _effects(conn, clocks, t, action, new_state, at, tr)
    changes["state"] = new_state.value
    changes["updated_at"] = now
    sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in changes)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("UPDATE ticket SET {} WHERE id = %s AND created_at = %s").format(sets),
            (*changes.values(), t["id"], t["created_at"]),
        )
        _append_event(
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
            data,
        )
        _stat_upsert(
            cur, at.astimezone(clocks.tz).date(), t["grid_code"], t["category_code"], counts
        )
    return {"id": t["id"], "state": new_state.value, "stage": changes.get("stage", t["stage"])}


def _effects(
    conn: psycopg.Connection,
    clocks: Clocks,
    t: dict,
    action: Action,
    new: State,
    at: datetime,
    tr: Transition,
) -> tuple[dict, dict, dict, int | None]:
    """Column changes, rollup counts, event data and task id for one transition."""
    changes: dict[str, Any] = {}
    counts: dict[str, int] = {}
    data: dict[str, Any] = {}
    task_id = None
    cat, urg = t["category_code"], t["urgency"]

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
        t1 = clocks.limit(cat, "T1", urg)
        on_time = at <= clocks.calendar.add(t["created_at"], t1.amount, t1.unit)
        changes["reported_at"] = at
        counts.update(reported=1, reported_on_time=int(on_time))
        data["on_time"] = on_time
    elif action == Action.SELF_RESOLVE:
        # Resolved on the spot: judged against the T1 window it was resolved within.
        changes.update(
            self_resolved=True,
            finished_at=at,
            due_at=t["stage_due_at"],
            original_due_at=t["stage_due_at"],
        )
        counts["self_resolved"] = 1
    elif action == Action.ESCALATE:
        changes["escalated"] = True
    elif action == Action.DISPATCH:
        if tr.department_id is None:
            raise TicketError("department_id", "dispatch needs a lead department")
        warn, due = clocks.stage_times(at, cat, "T5", urg)
        sign_due = clocks.stage_times(at, cat, "T4", urg)[1]
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE ticket_task SET state = 'cancelled' WHERE ticket_id = %s"
                " AND state IN ('dispatched', 'signed')",
                (t["id"],),
            )
            for dept, role in [(tr.department_id, "lead")] + [
                (d, "assist") for d in tr.assist_department_ids
            ]:
                if not conn.execute("SELECT 1 FROM department WHERE id = %s", (dept,)).fetchone():
                    raise TicketError("department_id", f"unknown department {dept}")
                cur.execute(
                    "INSERT INTO ticket_task (ticket_id, ticket_created_at, department_id, role,"
                    " state, dispatched_at, sign_due_at, due_at, original_due_at)"
                    " VALUES (%s, %s, %s, %s, 'dispatched', %s, %s, %s, %s) RETURNING id",
                    (t["id"], t["created_at"], dept, role, at, sign_due, due, due),
                )
                if role == "lead":
                    task_id = one(cur.fetchone())[0]
        changes.update(
            due_at=due,
            original_due_at=due,
            stage="T5",
            stage_started_at=at,
            stage_warn_at=warn,
            stage_due_at=due,
        )
        counts["dispatched"] = 1
        data["department_id"] = tr.department_id
        return changes, counts, data, task_id
    elif action == Action.SIGN:
        conn.execute(
            "UPDATE ticket_task SET state = 'signed', signed_at = %s WHERE ticket_id = %s"
            " AND role = 'lead' AND state = 'dispatched'",
            (at, t["id"]),
        )
    elif action == Action.RETURN:
        # The lead returns the whole dispatch (wrong department): its assists are cancelled.
        conn.execute(
            "UPDATE ticket_task SET finished_at = %s,"
            " state = CASE role WHEN 'lead' THEN 'returned' ELSE 'cancelled' END"
            " WHERE ticket_id = %s AND state IN ('dispatched', 'signed')",
            (at, t["id"]),
        )
        changes["return_count"] = t["return_count"] + 1
        counts["returned"] = 1
    elif action == Action.APPROVE_EXTENSION:
        if tr.new_due_at is None or tr.new_due_at <= (t["due_at"] or at):
            raise TicketError("new_due_at", "an extension must move the due time later")
        changes.update(
            due_at=tr.new_due_at,
            stage_due_at=tr.new_due_at,
            extension_count=t["extension_count"] + 1,
        )
        changes["stage_warn_at"] = clocks.calendar.warn_at(
            t["stage_started_at"], tr.new_due_at, unit=clocks.limit(cat, "T5", urg).unit
        )
        conn.execute(
            "UPDATE ticket_task SET due_at = %s WHERE ticket_id = %s"
            " AND state IN ('dispatched', 'signed')",
            (tr.new_due_at, t["id"]),
        )
        return changes, counts, {"new_due_at": tr.new_due_at.isoformat()}, None
    elif action == Action.RESUME:
        # Time spent suspended (挂账) does not count against the handling clock.
        shift = at - t["stage_started_at"]
        due = (t["due_at"] or at) + shift
        changes.update(
            due_at=due,
            original_due_at=(t["original_due_at"] or due) + shift,
            stage="T5",
            stage_due_at=due,
            stage_started_at=at,
            stage_warn_at=clocks.calendar.warn_at(
                at, max(due, at), unit=clocks.limit(cat, "T5", urg).unit
            ),
        )
        return changes, counts, {"suspended_for_s": shift.total_seconds()}, None
    elif action == Action.FEEDBACK:
        pending = [
            r[0]
            for r in conn.execute(
                "SELECT department_id FROM ticket_task WHERE ticket_id = %s AND role = 'assist'"
                " AND state IN ('dispatched', 'signed') ORDER BY department_id",
                (t["id"],),
            )
        ]
        if pending and not tr.override:
            raise TicketError(
                "action",
                f"assisting departments {pending} have not fed back yet; the lead feeds"
                " back after them, or with override=true and a comment",
                status=409,
            )
        if pending and not tr.comment:
            raise TicketError("comment", "an override of pending assisting tasks needs a comment")
        if pending:
            data.update(override=True, pending_assist=pending)
        changes["finished_at"] = at
        conn.execute(
            "UPDATE ticket_task SET state = 'feedback', finished_at = %s,"
            " on_time = (%s <= original_due_at) WHERE ticket_id = %s AND role = 'lead'"
            " AND state IN ('dispatched', 'signed')",
            (at, at, t["id"]),
        )
    elif action in (Action.VERIFY_PASS, Action.VERIFY_FAIL):
        on_time = at - (t["finished_at"] or at) <= VERIFY_LIMIT
        counts.update(verify_due=1, verified_on_time=int(on_time))
        data["on_time"] = on_time
        if action == Action.VERIFY_FAIL:
            changes["rework_count"] = t["rework_count"] + 1
            counts["reworked"] = 1
            # The lead's task reopens: it must feed back again.
            conn.execute(
                "UPDATE ticket_task SET state = 'signed', finished_at = NULL, on_time = NULL"
                " WHERE id = (SELECT id FROM ticket_task WHERE ticket_id = %s AND role = 'lead'"
                " AND state = 'feedback' ORDER BY id DESC LIMIT 1)",
                (t["id"],),
            )
            # Rework resumes the handling stage against the existing due time.
            changes.update(stage="T5", stage_due_at=t["due_at"], finished_at=None)
            return changes, counts, data, None
    elif action == Action.SURVEY:
        if tr.satisfaction not in ("satisfied", "basic", "unsatisfied"):
            raise TicketError("satisfaction", "must be satisfied, basic or unsatisfied")
        changes["satisfaction"] = tr.satisfaction
        counts.update(surveyed=1, satisfied=int(tr.satisfaction != "unsatisfied"))
        data["satisfaction"] = tr.satisfaction

    if new == State.CLOSED:
        # Closing (after on-site verification, or of a self-resolved item): on time when the
        # handling finished by the original due time, whatever extensions moved it to.
        finished = changes.get("finished_at") or t["finished_at"] or at
        due = changes.get("original_due_at") or t["original_due_at"]
        on_time = due is None or finished <= due
        changes.update(closed_at=at, closed_on_time=on_time)
        counts.update(closed=1, closed_on_time=int(on_time))
    # A new stage starts its clock; so do supplied information (T2 again) and escalation (the
    # upper level's own dispatch clock).
    if new_stage != t["stage"] or action in (Action.SUPPLY_INFO, Action.ESCALATE):
        start_stage(new_stage)
    return changes, counts, data, task_id
