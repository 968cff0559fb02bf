"""`gridscope import departments FILE`: the run, from reading the file to the commit."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from domain.config import Settings
from queries.admin import Actor

from ..columns import match_headers
from .department_rows import check_departments, plan_departments
from .report import RosterReport
from .run import close, finish, record, start, transaction


def import_departments(
    settings: Settings,
    path: Path,
    *,
    rejects_path: Path | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> RosterReport:
    """Import (or with ``dry_run`` only check) the departments of a CSV or xlsx file; see
    ``gridscope.imports.roster.department_rows``. An empty item list is seeded with the
    default categories first (DOMAIN.md §3), as the ticket import does. ``now`` (default the
    settings' clock) stamps updated_at, the import run and the audit event."""
    from queries import roster as q
    from queries.item_list import seed_defaults

    job = start(
        settings,
        path,
        "departments",
        encoding=encoding,
        sheet=sheet,
        rejects_path=rejects_path,
        dry_run=dry_run,
        progress=progress,
        now=now,
        actor=actor,
    )
    r = job.report
    found, _missing = match_headers("departments", job.table.header)
    with_duties = "lead" in found or "assist" in found
    with transaction(job) as conn:
        t = time.perf_counter()
        if not dry_run:
            q.lock(conn, "departments")
        categories = q.category_codes(conn)
        if not categories and any(rec["lead"] or rec["assist"] for rec in job.records):
            # A database that never loaded the demo: the default item list, said in the report.
            r.seeded_item_list = seed_defaults(conn) > 0
            categories = q.category_codes(conn)
        known = q.departments(conn)
        regions = q.current_region_codes(conn)
        t = job.phase("lookup", t)
        with job.bar("check", len(job.records)) as bar:
            rows = check_departments(
                job.records, known, regions, job.scope, categories, job.rejects
            )
            bar.update(len(job.records))
        plan = plan_departments(rows, known, q.duties(conn), with_duties)
        t = job.phase("check", t)
        r.counts = dict(plan.counts)
        changed_rows = {row.index for row in plan.new} | {row.index for _, row in plan.changed}
        r.rows_loaded = len(changed_rows)
        r.rows_unchanged = r.rows - len(job.rejects) - r.rows_loaded
        if not dry_run:
            record(
                conn,
                job,
                {
                    "encoding": job.table.encoding,
                    "sheet": job.table.sheet,
                    "rejects": str(job.rejects_path),
                },
                [row.fields[5] for row in plan.rows],
                [row.code for row in plan.new] + [row.code for _, row in plan.changed],
            )
        ids = q.write_departments(
            conn,
            [(dept_id, row.fields) for dept_id, row in plan.changed],
            [row.fields for row in plan.new],
            job.now,
        )
        if with_duties:
            ids |= {code: known[code][0] for code in rows if code in known}
            wanted = [
                (cat, ids[row.code], duty) for row in plan.rows for cat, duty in row.duties.items()
            ]
            written, removed = q.replace_duties(conn, [ids[c] for c in rows], wanted)
            r.counts["duties_written"], r.counts["duties_removed"] = written, removed
        job.phase("write", t)
        finish(conn, job, bool(r.rows_loaded))
    return close(job)
