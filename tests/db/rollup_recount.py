"""Recounts and readers shared by the rollup and survey tests (issue #12): the per-department
and per-worker rollups recounted in Python from ticket_task and the event log (independently of
queries/sql), the three tables read as comparable values, and a step of the write path."""

from __future__ import annotations

from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from domain.clock.work_calendar import WorkCalendar
from queries.item_list import load_calendar_overrides, load_limits
from queries.scope import Scope
from queries.tickets import Clocks, Transition, apply_transition
from queries.tickets.rollup import TASK_COLUMNS, WORKER_COLUMNS

WHOLE = Scope("")
TASK_KEY = ("day", "department_id", "grid_code")
WORKER_KEY = ("day", "staff_id", "grid_code")


def table(conn, name: str, keys: tuple[str, ...], cols: tuple[str, ...]) -> dict:
    """{key tuple: counts tuple} of a rollup table."""
    rows = conn.execute(
        f"SELECT {', '.join(keys + cols)} FROM {name}"  # noqa: S608 (test's own names)
    ).fetchall()
    out = {tuple(r[: len(keys)]): tuple(r[len(keys) :]) for r in rows}
    assert len(out) == len(rows)
    return out


def as_table(counter: dict, cols: tuple[str, ...]) -> dict:
    return {k: tuple(c.get(col, 0) for col in cols) for k, c in counter.items() if any(c.values())}


def recount_tasks(conn, tz: str) -> dict:
    """stat_task_daily recounted in Python from ticket_task and the verify_fail events."""
    zone = ZoneInfo(tz)

    def day(at):
        return at.astimezone(zone).date()

    tasks = conn.execute(
        "SELECT k.id, k.ticket_id, k.department_id, k.role, k.state, k.dispatched_at,"
        " k.finished_at, k.on_time, t.grid_code FROM ticket_task k"
        " JOIN ticket t ON t.id = k.ticket_id AND t.created_at = k.ticket_created_at"
    ).fetchall()
    out: dict = defaultdict(Counter)
    by_id, leads = {}, defaultdict(list)
    for tid, ticket, dept, role, state, dispatched, finished, on_time, grid in tasks:
        by_id[tid] = dept
        if role == "lead":
            leads[ticket].append((dispatched, tid, dept))
        out[(day(dispatched), dept, grid)]["dispatched"] += 1
        if state == "returned":
            out[(day(finished), dept, grid)]["returned"] += 1
        if state == "feedback":
            out[(day(finished), dept, grid)]["finished"] += 1
            out[(day(finished), dept, grid)]["finished_on_time"] += bool(on_time)
    fails = conn.execute(
        "SELECT e.ticket_id, e.at, e.task_id, t.grid_code FROM ticket_event e"
        " JOIN ticket t ON t.id = e.ticket_id AND t.created_at = e.ticket_created_at"
        " WHERE e.action = 'verify_fail'"
    ).fetchall()
    for ticket, at, task_id, grid in fails:
        if task_id is not None:
            dept = by_id[task_id]
        else:
            before = [x for x in leads[ticket] if x[0] <= at]
            if not before:
                continue
            dept = max(before)[2]
        out[(day(at), dept, grid)]["reworked"] += 1
    return as_table(out, TASK_COLUMNS)


def recount_workers(conn, tz: str) -> dict:
    """stat_worker_daily recounted in Python from the workers' events."""
    zone = ZoneInfo(tz)
    events = conn.execute(
        "SELECT e.at, e.action, e.actor_id, e.data, t.grid_code FROM ticket_event e"
        " JOIN ticket t ON t.id = e.ticket_id AND t.created_at = e.ticket_created_at"
        " WHERE e.actor_kind = 'worker' AND e.actor_id IS NOT NULL"
    ).fetchall()
    out: dict = defaultdict(Counter)
    for at, action, staff, data, grid in events:
        c = out[(at.astimezone(zone).date(), staff, grid)]
        on_time = bool((data or {}).get("on_time"))
        if action == "create":
            c["discovered"] += 1
        elif action == "self_resolve":
            c["self_resolved"] += 1
        elif action == "report":
            c["reported"] += 1
            c["reported_on_time"] += on_time
        elif action in ("verify_pass", "verify_fail"):
            c["verify_due"] += 1
            c["verified_on_time"] += on_time
    return as_table(out, WORKER_COLUMNS)


def rollups(conn) -> tuple[dict, dict, list]:
    surveys = conn.execute(
        "SELECT ticket_id, ticket_created_at, grid_code, category_code, at, channel, result,"
        " comment, actor_kind, actor_id FROM survey ORDER BY ticket_id"
    ).fetchall()
    return (
        table(conn, "stat_task_daily", TASK_KEY, TASK_COLUMNS),
        table(conn, "stat_worker_daily", WORKER_KEY, WORKER_COLUMNS),
        surveys,
    )


def clocks_for(conn, settings) -> Clocks:
    cal = WorkCalendar(tz=settings.timezone, overrides=load_calendar_overrides(conn))
    return Clocks(cal, load_limits(conn), settings.tz)


def step(conn, clocks, tid, at, action, **kw):
    return apply_transition(conn, clocks, WHOLE, tid, Transition(action, at=at, **kw), now=at)
