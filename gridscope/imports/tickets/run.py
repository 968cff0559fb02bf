"""`gridscope import tickets`: the run, from reading the file to the commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from domain.categories import CATEGORIES
from domain.clock.now import clock_for
from domain.config import Settings

from ..csv_source import read_csv
from ..errors import ImportRefused
from ..mapping import TicketMapping
from .join import join_points
from .parse import Rows, parse
from .report import TicketImportReport, check_writable, default_rejects_path, write_rejects
from .rollup import local_days, stat_counts
from .tables import tables_for, ts_array


def zone_warning(
    report: TicketImportReport, mapping: TicketMapping, tz: str, created: np.ndarray
) -> None:
    """Record (in ``report``) that the mapping reads the file in another zone than the one the
    rollup counts days in, with how many of the ``created`` instants (naive UTC) that moves
    to another local day. Nothing when the two zones are the same."""
    report.mapping_timezone, report.timezone = mapping.timezone, tz
    if mapping.timezone == tz:
        return
    utc = ts_array(created)
    moved = pc.not_equal(local_days(utc, mapping.timezone), local_days(utc, tz))
    report.tickets_on_another_day = int(pc.sum(moved).as_py() or 0)
    report.warnings.append(
        f"time zones differ: the mapping's dates.timezone {mapping.timezone} reads the file's"
        f" local times, but the rollup days and ticket numbers follow the deployment's"
        f" timezone {tz} (GRIDSCOPE_TIMEZONE): {report.tickets_on_another_day:,} of"
        f" {len(created):,} tickets fall on another day in {tz} than in {mapping.timezone}."
        f" Set GRIDSCOPE_TIMEZONE={mapping.timezone} if the days should be the source's"
    )


def _audit_event(settings: Settings, path: Path, report: TicketImportReport):
    """The ``ticket_import`` audit row of a committed import (the operating-system user as the
    command-line actor, the deployment's jurisdiction as the one concerned)."""
    from ..actor import command_line_actor

    return command_line_actor(settings).event(
        "ticket_import",
        settings.jurisdiction,
        object="ticket",
        count=report.loaded,
        detail={
            "file": path.name,
            "mapping": report.mapping,
            "import_run_id": report.import_run_id,
            "loaded": report.loaded,
            "already_loaded": report.already_loaded,
            "rejected": report.rejected,
        },
    )


def import_tickets(
    settings: Settings,
    path: Path,
    mapping: TicketMapping,
    *,
    rejects_path: Path | None = None,
    encoding: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    now: datetime | None = None,
) -> TicketImportReport:
    """Import the tickets of a CSV file under ``mapping`` (see ``gridscope.imports.tickets``).

    ``now`` (aware; default: the settings' clock, ``fixed_now`` or the system clock) stamps
    ``updated_at`` and the import run and decides which open rows are already past due.
    ``echo`` receives the report's warnings and the clock-skew note at the end.
    """
    from tqdm import tqdm

    from queries import audit
    from queries import imports as q
    from queries.analytics import backlog
    from queries.cache import bump_data_version
    from queries.db import connect
    from queries.item_list import known_categories, load_timeline, seed_defaults
    from queries.scope import Scope

    t0 = time.perf_counter()
    now = now or clock_for(settings.fixed_now).now()
    report = TicketImportReport(
        file=str(path), mapping=mapping.name, namespace=mapping.namespace, dry_run=dry_run
    )
    rejects_path = rejects_path or default_rejects_path(path)
    report.rejects_path = str(rejects_path)
    check_writable(rejects_path)
    scope = Scope(settings.jurisdiction)

    with connect(settings) as conn:
        known = set(known_categories(conn))
        seed_items = not known
        # The item list through time: a row whose category is not in force on its local day
        # is refused (none when the defaults are about to be seeded: all in force).
        items = None if seed_items else load_timeline(conn)
        if seed_items:
            # An empty item list (a database that never loaded the demo): the defaults of
            # DOMAIN.md §3 are seeded in the import's transaction, and the report says so.
            known = {c.code for c in CATEGORIES}
        unknown = sorted(mapping.category_codes() - known)
        if unknown:
            raise ImportRefused(
                f"mapping {mapping.name} uses category code(s) not in the item"
                f" list: {', '.join(unknown)}"
            )
        grids = q.grids_for_join(conn, scope)
        micro = q.micro_grids_for_join(conn, scope)
        conn.rollback()
    if not grids:
        raise ImportRefused(
            "there are no current grids to place tickets in: import grids first"
            " (gridscope import grids)"
        )

    t = time.perf_counter()
    csv = read_csv(path, encoding or mapping.encoding, mapping.delimiter)
    lacking = [c for c in mapping.source_columns() if c not in csv.columns]
    if lacking:
        raise ImportRefused(
            f"{path}: mapping {mapping.name} names column(s) the file lacks: "
            f"{', '.join(lacking)} (the file has: {', '.join(csv.columns[:40])})"
        )
    report.seconds["read"] = time.perf_counter() - t
    n = csv.table.num_rows
    report.rows = n
    if n == 0:
        raise ImportRefused(f"{path}: no data rows")

    t = time.perf_counter()
    rows = Rows(n)
    parsed = parse(csv.table, mapping, known, rows, report, items, settings.timezone)
    report.seconds["parse"] = time.perf_counter() - t

    with connect(settings) as conn:
        try:
            t = time.perf_counter()
            if not dry_run:
                q.lock_ticket_namespace(conn, mapping.namespace)
            candidates = np.flatnonzero(rows.ok)
            ext_np = parsed.ext
            existing = q.existing_external_ids(
                conn, mapping.namespace, pa.array(ext_np[candidates], pa.string())
            )
            already = np.zeros(n, dtype=bool)
            if existing:
                already[candidates] = pd.Series(ext_np[candidates]).isin(existing).to_numpy()
            report.already_loaded = int(already.sum())
            report.seconds["dedupe"] = time.perf_counter() - t

            t = time.perf_counter()
            todo = np.flatnonzero(rows.ok & ~already)
            g, mg, several = join_points(parsed.lon[todo], parsed.lat[todo], grids, micro)
            grid_of = np.full(n, None, dtype=object)
            micro_of = np.full(n, None, dtype=object)
            grid_of[todo], micro_of[todo] = g, mg
            outside = np.zeros(n, dtype=bool)
            outside[todo] = pd.isna(g)
            rows.flag(
                outside, "point outside every grid", "point outside every grid of the jurisdiction"
            )
            report.multi_grid_points = several
            report.seconds["join"] = time.perf_counter() - t

            load = rows.ok & ~already
            idx = np.flatnonzero(load)
            report.loaded = len(idx)
            report.rejected = int((~rows.ok).sum())
            kinds, counts = np.unique(rows.kind[~rows.ok].astype(str), return_counts=True)
            report.reasons = {str(k): int(c) for k, c in zip(kinds, counts, strict=True)}
            is_closed = parsed.is_closed
            report.closed = int(is_closed[idx].sum())
            report.open = len(idx) - report.closed
            skewed = parsed.clock_skew[idx]
            report.clock_skew = int(skewed.sum())
            report.clock_skew_tolerance_s = mapping.clock_skew_tolerance_s
            if report.clock_skew:
                gap = parsed.created[idx][skewed] - parsed.source_closed_at[idx][skewed]
                report.clock_skew_max_s = float(gap.max() / np.timedelta64(1, "s"))
            zone_warning(report, mapping, settings.timezone, parsed.created[idx])
            open_due = parsed.due[idx][~is_closed[idx]]
            report.open_past_due = int(
                (open_due < np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us")).sum()
            )

            if not dry_run and len(idx):
                t = time.perf_counter()
                if seed_items:
                    report.seeded_item_list = seed_defaults(conn) > 0
                ids = q.allocate_ticket_ids(conn, len(idx))
                tables = tables_for(
                    idx, ids, parsed, grid_of, micro_of, mapping, settings.timezone, now
                )
                report.seconds["build"] = time.perf_counter() - t
                t = time.perf_counter()
                with tqdm(
                    total=3 * len(idx),
                    unit="row",
                    unit_scale=True,
                    desc="COPY",
                    disable=not progress,
                    mininterval=0.5,
                    leave=False,
                ) as bar:
                    q.copy_tickets(
                        conn,
                        tables["ticket"],
                        tables["ticket_event"],
                        tables["ticket_external"],
                        bar.update,
                    )
                report.seconds["copy"] = time.perf_counter() - t
                t = time.perf_counter()
                q.add_stat_daily(conn, stat_counts(tables["ticket"], settings.timezone))
                # Imported tickets may have been open past due on days already snapshotted.
                first = pc.min(tables["ticket"].column("created_at")).as_py()
                if first is not None:
                    backlog.forget_from(conn, first.astimezone(settings.tz).date())
                report.seconds["rollup"] = time.perf_counter() - t
            if dry_run or not len(idx):
                conn.rollback()
            else:
                report.seconds["total"] = time.perf_counter() - t0
                report.import_run_id = q.record_import_run(
                    conn,
                    kind="tickets",
                    file_name=path.name,
                    file_sha256=csv.sha256,
                    options={
                        "mapping": mapping.name,
                        "namespace": mapping.namespace,
                        "mapping_path": str(mapping.path),
                        "encoding": csv.encoding,
                        "rejects": str(rejects_path),
                    },
                    started_at=now,
                    rows_total=n,
                    rows_loaded=report.loaded,
                    rows_skipped=report.already_loaded,
                    rows_rejected=report.rejected,
                    report=report.as_json(),
                )
                # An administrative change like every other import: audited with it.
                audit.write(conn, _audit_event(settings, path, report), now, commit=False)
                conn.commit()
        except BaseException:
            conn.rollback()
            raise
        if not dry_run and report.loaded:
            bump_data_version(conn)
            conn.commit()

    t = time.perf_counter()
    write_rejects(rejects_path, csv.table, rows)
    report.seconds["rejects"] = time.perf_counter() - t
    report.seconds["total"] = time.perf_counter() - t0
    for warning in report.warnings:
        echo(f"warning: {warning}")
    if report.clock_skew:
        echo(
            f"clock skew: {report.clock_skew:,} closed row(s) closed up to"
            f" {report.clock_skew_max_s:g} s before they opened (within the mapping's"
            f" clock_skew_tolerance_s = {report.clock_skew_tolerance_s:g} s): loaded as closed"
            " at their open time, flagged 'clock_skew' in ticket.import_flags"
        )
    return report
