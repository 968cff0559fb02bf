"""The work calendar in the database: overrides (``calendar_day``), confirmed years
(``calendar_year``), and the changes an administrator makes to them, with the re-timing of the
open tickets whose clocks run over the changed days (domain/clock/retime.py).

Every change runs inside ``conn.transaction()`` with its audit row (``calendar_change``,
``calendar_confirm``) and the tickets' 'retime' events, so it lands whole or not at all; the
caller commits and then bumps the data version (``queries.cache.commit_and_bump``: the version is
bumped after the commit, so a reader that sees it also sees the rows). Concurrent calendar
changes are serialised by an advisory lock; the re-timed tickets and tasks are locked
``FOR UPDATE`` like the write path's.

The calendar is one for the whole deployment: only an actor whose jurisdiction holds every grid
may change it (a town administrator would otherwise move the deadlines of other towns).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from domain.clock.calendar_days import DayInfo, year_days
from domain.clock.calendar_edit import DayEdit, Plan, new_overrides, plan
from domain.clock.calendar_years import NOTICE_DAYS, base_is_workday, package_knows, unconfirmed
from domain.clock.work_calendar import WorkCalendar

from . import audit
from .admin import Actor, AdminError
from .calendar_retime import retime_open

# Orders concurrent calendar changes (two administrators, or the page and the command line).
_CHANGE_LOCK = 0x67736361
Overrides = dict[date, tuple[bool, str | None]]


# ---- reads -----------------------------------------------------------------------------------


def confirmed_years(conn: psycopg.Connection) -> dict[int, dict[str, Any]]:
    """{year: {confirmed_at, confirmed_by, source}} for the years an administrator confirmed."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT year, confirmed_at, confirmed_by, source FROM calendar_year")
        return {int(r.pop("year")): r for r in cur.fetchall()}


def unconfirmed_years(conn: psycopg.Connection, today: date, days: int = NOTICE_DAYS) -> list[int]:
    """Years overlapping [today, today + days] (local dates) whose holiday schedule is neither in
    the chinese_calendar package nor confirmed in ``calendar_year``; ascending, [] when all is
    well. ``today`` is the caller's injected local date (never read from the machine here)."""
    rows = conn.execute("SELECT year FROM calendar_year").fetchall()
    return unconfirmed(today, (int(r[0]) for r in rows), days)


def load_overrides(conn: psycopg.Connection) -> Overrides:
    """{day: (is_workday, note)} of every stored override."""
    rows = conn.execute("SELECT day, is_workday, note FROM calendar_day").fetchall()
    return {d: (bool(w), n) for d, w, n in rows}


@dataclass(frozen=True)
class YearStatus:
    """A year of the calendar as shown: each day, whether the package knows the year, its
    confirmation (None when not confirmed) and how many overrides it holds."""

    year: int
    days: list[DayInfo]
    known: bool
    confirmation: dict[str, Any] | None
    overrides: int

    @property
    def confirmed(self) -> bool:
        return self.known or self.confirmation is not None

    @property
    def working_days(self) -> int:
        return sum(d.is_workday for d in self.days)


def year_status(conn: psycopg.Connection, year: int) -> YearStatus:
    """The calendar of ``year`` (see YearStatus)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT day, is_workday, note FROM calendar_day"
            " WHERE day >= %(first)s AND day <= %(last)s",
            {"first": date(year, 1, 1), "last": date(year, 12, 31)},
        )
        overrides = {d: (bool(w), n) for d, w, n in cur.fetchall()}
    return YearStatus(
        year,
        year_days(year, overrides),
        package_knows(year),
        confirmed_years(conn).get(year),
        len(overrides),
    )


# ---- changes ---------------------------------------------------------------------------------


@dataclass
class ChangeResult:
    """What a change did: the plan (rows, changed days, warnings), the tickets and tasks
    re-timed, and the years newly confirmed (or found confirmed already)."""

    plan: Plan | None = None
    tickets: int = 0
    tasks: int = 0
    confirmed: list[int] = field(default_factory=list)
    already_confirmed: list[int] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return (self.plan.writes if self.plan else 0) + len(self.confirmed)


def check_actor(conn: psycopg.Connection, actor: Actor) -> None:
    """Refuse an actor whose jurisdiction does not hold every grid (see module docstring)."""
    if not actor.scope.prefix:
        return
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM grid WHERE code NOT LIKE %s)", (actor.scope.like,)
    ).fetchone()
    if row and row[0]:
        raise AdminError(
            "calendar",
            "工作日历对整个系统有效，只有辖区覆盖全部网格的管理员可以修改",
        )


def apply_edits(
    conn: psycopg.Connection,
    actor: Actor,
    about: str,
    edits: Sequence[DayEdit],
    now: datetime,
    *,
    tz: str,
    how: str,
    confirm: Sequence[int] = (),
    source: str | None = None,
) -> ChangeResult:
    """Apply day edits (set, unset, an import: ``how``) and confirm the ``confirm`` years, in
    one transaction: the rows of ``calendar_day``, the re-timing of open tickets and tasks with
    their 'retime' events, one ``calendar_change`` audit row (when anything was written) and
    one ``calendar_confirm`` row per newly confirmed year. ``about`` is the deployment's
    jurisdiction (setting ``jurisdiction``). Re-running the same edits writes nothing."""
    result = ChangeResult()
    with conn.transaction():
        check_actor(conn, actor)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CHANGE_LOCK,))
        before = load_overrides(conn)
        p = plan(edits, before, base_is_workday)
        result.plan = p
        if p.writes:
            _write_rows(conn, p, actor.name, now)
        if p.changed_days:
            old = WorkCalendar(tz=tz, overrides={d: w for d, (w, _) in before.items()})
            new = WorkCalendar(tz=tz, overrides=new_overrides(before, p))
            result.tickets, result.tasks = retime_open(conn, old, new, p.changed_days, now)
        if p.writes:
            audit.write(
                conn, _change_event(actor, about, p, result, how, source), now, commit=False
            )
        if confirm:
            result.confirmed, result.already_confirmed = _confirm(
                conn, actor, about, confirm, now, source
            )
    return result


def confirm_year(
    conn: psycopg.Connection,
    actor: Actor,
    about: str,
    year: int,
    now: datetime,
    source: str | None = None,
) -> ChangeResult:
    """Record that an administrator confirmed ``year``'s schedule is entered (audited
    ``calendar_confirm``); a year confirmed already is left as it is."""
    result = ChangeResult()
    with conn.transaction():
        check_actor(conn, actor)
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CHANGE_LOCK,))
        result.confirmed, result.already_confirmed = _confirm(
            conn, actor, about, [year], now, source
        )
    return result


def _write_rows(conn: psycopg.Connection, p: Plan, by: str, now: datetime) -> None:
    with conn.cursor() as cur:
        if p.deletes:
            cur.execute("DELETE FROM calendar_day WHERE day = ANY(%s)", (list(p.deletes),))
        if p.upserts:
            cur.executemany(
                "INSERT INTO calendar_day (day, is_workday, note, updated_at, updated_by)"
                " VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (day) DO UPDATE SET is_workday = EXCLUDED.is_workday,"
                " note = EXCLUDED.note, updated_at = EXCLUDED.updated_at,"
                " updated_by = EXCLUDED.updated_by",
                [(d, w, n, now, by[:200]) for d, (w, n) in sorted(p.upserts.items())],
            )


def _confirm(
    conn: psycopg.Connection,
    actor: Actor,
    about: str,
    years: Sequence[int],
    now: datetime,
    source: str | None,
) -> tuple[list[int], list[int]]:
    done: list[int] = []
    already: list[int] = []
    for year in sorted(set(years)):
        row = conn.execute(
            "INSERT INTO calendar_year (year, confirmed_at, confirmed_by, source)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (year) DO NOTHING RETURNING year",
            (year, now, actor.name[:200], source),
        ).fetchone()
        if row is None:
            already.append(year)
            continue
        done.append(year)
        entered = conn.execute(
            "SELECT count(*) FROM calendar_day WHERE extract(year FROM day) = %s", (year,)
        ).fetchone()
        event = actor.event(
            "calendar_confirm",
            about,
            object="calendar_year",
            object_ids=[str(year)],
            detail={
                "year": year,
                "source": source,
                "known_to_package": package_knows(year),
                "overrides": int(entered[0]) if entered else 0,
            },
        )
        audit.write(conn, event, now, commit=False)
    return done, already


def _change_event(
    actor: Actor, about: str, p: Plan, r: ChangeResult, how: str, source: str | None
) -> audit.AuditEvent:
    holidays = sorted(d.isoformat() for d, (w, _) in p.upserts.items() if not w)
    workdays = sorted(d.isoformat() for d, (w, _) in p.upserts.items() if w)
    return actor.event(
        "calendar_change",
        about,
        object="calendar_day",
        object_ids=[d.isoformat() for d in p.changed_days],
        count=len(p.changed_days),
        detail={
            "how": how,
            "source": source,
            "days_changed": [d.isoformat() for d in p.changed_days],
            "set_holiday": holidays,
            "set_workday": workdays,
            "removed": [d.isoformat() for d in p.deletes],
            "tickets_retimed": r.tickets,
            "tasks_retimed": r.tasks,
        },
    )
