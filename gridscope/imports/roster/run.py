"""What the staff and department imports share: reading the file, the one transaction with
its import run and audit event, the data version, the rejects file and the timings."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from domain.clock.now import clock_for
from domain.config import Settings
from queries.admin import Actor
from queries.scope import Scope

from ..actor import command_line_actor
from ..errors import ImportRefused
from ..table_source import Table, read_table
from ..tickets.report import check_writable
from .report import Rejects, RosterReport, default_rejects_path, write_rejects

AUDIT_ACTIONS = {"staff": "staff_import", "departments": "department_import"}


@dataclass
class Job:
    """One import in progress: its file, report, rejects, clock and progress bars."""

    settings: Settings
    path: Path
    table: Table
    records: list[dict[str, str]]
    report: RosterReport
    rejects: Rejects
    rejects_path: Path
    now: datetime
    actor: Actor
    started: float
    progress: bool

    @property
    def scope(self) -> Scope:
        return Scope(self.settings.jurisdiction)

    def phase(self, name: str, since: float) -> float:
        """Record the seconds since ``since`` as phase ``name``; returns the time now."""
        t = time.perf_counter()
        self.report.seconds[name] = self.report.seconds.get(name, 0.0) + t - since
        return t

    def bar(self, desc: str, total: int) -> Any:
        """A progress bar over ``total`` rows (hidden unless ``progress``), cleared when done."""
        from tqdm import tqdm

        return tqdm(total=total, unit="row", desc=desc, disable=not self.progress, leave=False)


def start(
    settings: Settings,
    path: Path,
    kind: str,
    *,
    encoding: str | None,
    sheet: str | None,
    rejects_path: Path | None,
    dry_run: bool,
    progress: bool,
    now: datetime | None,
    actor: Actor | None,
) -> Job:
    """Read ``path`` as a ``kind`` file (refused as a whole when unreadable, empty or without
    a required heading) and check the rejects file can be written. ``now`` (default: the
    settings' clock) is the import's instant, ``job.now``."""
    now = now or clock_for(settings.fixed_now).now()
    t0 = time.perf_counter()
    rejects_path = rejects_path or default_rejects_path(path)
    check_writable(rejects_path)
    table = read_table(path, encoding=encoding, sheet=sheet)
    records = table.records(kind)
    report = RosterReport(
        kind=kind,
        file=str(path),
        rows=len(records),
        dry_run=dry_run,
        rejects_path=str(rejects_path),
    )
    actor = actor or command_line_actor(settings)
    job = Job(
        settings, path, table, records, report, Rejects(), rejects_path, now, actor, t0, progress
    )
    job.phase("read", t0)
    return job


@contextmanager
def transaction(job: Job) -> Iterator[psycopg.Connection]:
    """The import's connection inside its one transaction: committed by ``record`` (or rolled
    back for a dry run, or on any error); the database's refusal of a write (a constraint) is
    reported as a refused file, nothing written."""
    from queries.db import connect

    with connect(job.settings) as conn:
        try:
            yield conn
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
            conn.rollback()
            raise ImportRefused(
                f"{job.path}: the database refused the changes, nothing was written: "
                f"{exc.diag.message_primary or exc}"
            ) from None
        except BaseException:
            conn.rollback()
            raise
        if job.report.dry_run:
            conn.rollback()


def record(
    conn: psycopg.Connection,
    job: Job,
    options: dict[str, Any],
    about: Sequence[str],
    object_ids: Sequence[str],
) -> int:
    """The import_run row and the audit event (staff_import / department_import) of ``job``,
    in its transaction; ``about`` are the region codes concerned (their common prefix is the
    event's jurisdiction). Returns the import run's id."""
    from queries import audit
    from queries import imports as q

    r = job.report
    r.rejected = len(job.rejects)
    r.reasons = job.rejects.counts()
    run_id = q.record_import_run(
        conn,
        kind=r.kind,
        file_name=job.path.name,
        file_sha256=job.table.sha256,
        options=options,
        started_at=job.now,
        rows_total=r.rows,
        rows_loaded=r.rows_loaded,
        rows_skipped=r.rows_unchanged,
        rows_rejected=r.rejected,
        report=r.as_json(),
    )
    r.import_run_id = run_id
    event = job.actor.event(
        AUDIT_ACTIONS[r.kind],
        os.path.commonprefix(list(about)) if about else job.scope.prefix,
        object=r.kind,
        object_ids=list(object_ids),
        count=r.rows_loaded,
        detail={
            "file": job.path.name,
            "sha256": job.table.sha256,
            "import_run_id": run_id,
            "rows": r.rows,
            "rejected": r.rejected,
            "unchanged": r.rows_unchanged,
            **r.counts,
        },
    )
    audit.write(conn, event, job.now, commit=False)
    return run_id


def finish(conn: psycopg.Connection, job: Job, changed: bool) -> None:
    """Commit (not for a dry run) with the import run's final report; bump the data version
    when something changed."""
    from queries import roster
    from queries.cache import bump_data_version

    r = job.report
    if r.dry_run:
        return
    t = time.perf_counter()
    r.seconds["total"] = t - job.started
    assert r.import_run_id is not None
    roster.finish_import_run(conn, r.import_run_id, r.as_json())
    conn.commit()
    if changed:
        bump_data_version(conn)
        conn.commit()
    job.phase("commit", t)


def close(job: Job) -> RosterReport:
    """Write the rejects file and the last timings; the report."""
    r = job.report
    r.rejected = len(job.rejects)
    r.reasons = job.rejects.counts()
    t = time.perf_counter()
    write_rejects(job.rejects_path, job.table, job.rejects)
    job.phase("rejects", t)
    r.seconds["total"] = time.perf_counter() - job.started
    return r
