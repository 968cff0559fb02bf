"""`gridscope import staff FILE`: the run, from reading the file to the commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg

from domain.config import Settings
from queries.admin import Actor

from .report import RosterReport
from .run import Job, close, finish, record, start, transaction
from .staff_plan import Existing, OpenAssignment, Plan, plan_staff, staff_fields
from .staff_rows import Known, Person, check_staff


def _known(conn: psycopg.Connection, job: Job) -> tuple[Known, dict[int, tuple]]:
    from queries import roster as q

    scope = job.scope
    staff = q.staff_index(conn)
    by_no = {row[0]: sid for sid, row in staff.items()}
    by_phone: dict[str, list[str]] = {}
    for row in staff.values():
        if row[2]:
            by_phone.setdefault(row[2], []).append(row[0])
    known = Known(
        grids=q.current_grids(conn, scope),
        micro_grids=q.current_micro_grids(conn, scope),
        regions={c for c in q.current_region_codes(conn) if scope.contains(c)},
        departments={code: (d[0], d[5]) for code, d in q.departments(conn).items()},
        staff_by_no=by_no,
        staff_by_phone=by_phone,
    )
    return known, staff


def _existing(conn: psycopg.Connection, people: list[Person], staff: dict[int, tuple]) -> Existing:
    from queries import roster as q

    ids = [p.existing_id for p in people if p.existing_id is not None]
    open_rows, closed = q.assignments_of(conn, ids)
    opens: dict[int, list[OpenAssignment]] = {}
    for aid, sid, grid, micro, role, valid_from, ends_on in open_rows:
        opens.setdefault(sid, []).append(
            OpenAssignment(aid, (grid, micro, role), valid_from, ends_on)
        )
    return Existing(
        staff={i: staff[i] for i in ids},
        open=opens,
        closed_until={(sid, (g, m, r)): until for sid, g, m, r, until in closed},
    )


def _present(job: Job, known: Known) -> list[int]:
    """Staff ids the file mentions in any row, rejected or not (by number or mobile): never
    counted as missing, so a typo cannot retire anybody."""
    from . import values

    ids = set()
    for rec in job.records:
        if (sid := known.staff_by_no.get(rec["staff_no"])) is not None:
            ids.add(sid)
        phone = values.mobile(rec["mobile"]) or ""
        ids.update(known.staff_by_no[n] for n in known.staff_by_phone.get(phone, []))
    return sorted(ids)


def _write(
    conn: psycopg.Connection,
    people: list[Person],
    plan: Plan,
    now: datetime,
    run_id: int | None,
    progress: Callable[[int], object],
) -> None:
    """The staff rows, then the assignments (whose new rows need the new staff ids)."""
    from queries import roster as q

    new_ids = q.write_staff(
        conn,
        [
            (p.existing_id, staff_fields(p))
            for p in plan.changed_people
            if p.existing_id is not None
        ],
        [staff_fields(p) for p in plan.new_people],
        now,
    )
    progress(len(plan.changed_people) + len(plan.new_people))
    ids = {p.staff_no: p.existing_id for p in people if p.existing_id is not None} | new_ids
    inserts = [(ids[row[0]], *row[1:]) for row in plan.inserts]
    q.write_assignments(conn, inserts, plan.updates, plan.deletes, run_id)
    progress(len(inserts) + len(plan.updates) + len(plan.deletes))


def import_staff(
    settings: Settings,
    path: Path,
    *,
    rejects_path: Path | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    retire_missing: bool = False,
    progress: bool = True,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> RosterReport:
    """Import (or with ``dry_run`` only check) the staff of a CSV or xlsx file; see
    ``gridscope.imports.roster``. ``now`` (aware; default the settings' clock) is the import's
    instant: the start of assignments without a start date, the end of those the file drops,
    and "today" for end dates. ``actor`` (default: the command line) signs the audit event."""
    from queries import roster as q

    job = start(
        settings,
        path,
        "staff",
        encoding=encoding,
        sheet=sheet,
        rejects_path=rejects_path,
        dry_run=dry_run,
        progress=progress,
        now=now,
        actor=actor,
    )
    r, now, tz = job.report, job.now, settings.tz
    with transaction(job) as conn:
        t = time.perf_counter()
        if not dry_run:
            q.lock(conn, "staff")
        known, staff = _known(conn, job)
        t = job.phase("lookup", t)
        with job.bar("check", len(job.records)) as bar:
            people = check_staff(
                job.records, job.table.row_numbers, known, now, tz, job.rejects, bar.update
            )
        existing = _existing(conn, people, staff)
        plan = plan_staff(people, existing, now, tz, job.rejects)
        t = job.phase("check", t)
        missing = q.missing_staff(conn, job.scope, _present(job, known))
        r.counts = {
            "people": len(plan.new_people)
            + len(plan.changed_people)
            + plan.counts.get("people_unchanged", 0),
            **plan.counts,
            "missing": len(missing),
        }
        if retire_missing and missing:
            r.counts["retired"] = len(missing)
        r.rows_loaded = len(plan.changed_rows)
        r.rows_unchanged = r.rows - len(job.rejects) - r.rows_loaded
        options = {
            "encoding": job.table.encoding,
            "sheet": job.table.sheet,
            "rejects": str(job.rejects_path),
            "retire_missing": retire_missing,
        }
        run_id = None
        if not dry_run:
            about = [p.region_code for p in people if p.rows[0] not in job.rejects]
            changed = [p.staff_no for p in plan.new_people + plan.changed_people]
            run_id = record(conn, job, options, about, changed)
        writes = len(plan.changed_people) + len(plan.new_people) + len(plan.inserts)
        with job.bar("write", writes + len(plan.updates) + len(plan.deletes)) as bar:
            _write(conn, people, plan, now, run_id, bar.update)
        if retire_missing and missing:
            r.counts["retired_assignments_closed"] = q.retire_staff(conn, missing, job.scope, now)
        t = job.phase("write", t)
        changed_any = bool(r.rows_loaded or r.counts.get("retired") or plan.updates or plan.deletes)
        finish(conn, job, changed_any)
    return close(job)
