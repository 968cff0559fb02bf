"""`gridscope import micro-grids`: the run, from reading the layer to the commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import shapely
from tqdm import tqdm

from domain.codes import get_code_rule
from domain.config import Settings
from queries.admin import Actor

from .. import geo_run
from ..errors import ImportRefused
from ..geofile import read_geofile
from ..grids.decision import require_decision
from .features import MicroFeature, build_features, resolve_fields
from .nesting import check_coverage, check_nesting
from .options import MicroGridImportOptions, MicroGridImportReport
from .parents import resolve_parents
from .rejects import check_rejects_path, default_rejects_path, write_rejects

KIND = "micro_grid"  # the table, issued_code.kind, the audit object; import_run.kind + "s"
ATTRIBUTES = ("name", "grid_code", "households", "household_groups")


def import_micro_grids(
    settings: Settings,
    path: Path,
    opts: MicroGridImportOptions,
    echo: Callable[[str], None] = print,
    *,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> MicroGridImportReport:
    """Import (or with ``opts.dry_run`` only check) the micro-grids of ``path``; see
    ``gridscope.imports.micro``.

    ``now`` (aware; default: the settings' clock) is the instant a changed micro-grid's old
    version ends and its new one starts (unless ``opts.valid_from`` says otherwise) and the
    run's start. Changing a current micro-grid needs ``opts.decision_no``. ``actor`` (default:
    the command line) signs the audit event ``micro_grid_import``. ImportRefused (nothing
    written) for a file that cannot be used, and with ``opts.strict`` for any refused feature.
    """
    t0 = time.perf_counter()
    get_code_rule(opts.code_rule)  # ValueError for an unknown rule, before any work
    now = geo_run.start(settings, opts, now)
    rejects_path = opts.rejects or default_rejects_path(path)
    check_rejects_path(rejects_path)
    gf = read_geofile(path, layer=opts.layer, crs=opts.crs)
    frame = gf.frame
    fields = resolve_fields(frame, opts, path)
    report, geoms = geo_run.begin_report(
        MicroGridImportReport, gf, opts, fields=fields, rejects_path=str(rejects_path)
    )
    with _bar(opts, len(frame), "feature", "micro-grids") as bar:
        features = build_features(frame, geoms, fields, opts, report, bar.update)
    report.seconds["read"] = time.perf_counter() - t0
    if not features:
        _refuse_empty(path, report, rejects_path, frame)
    features, metric = geo_run.repair(features, report)

    def finish() -> None:
        write_rejects(rejects_path, frame, report.rejected)

    try:
        _run(settings, path, opts, report, features, metric, now, actor, t0, finish)
    except ImportRefused:
        # Refused as a whole (--strict, no decision): the database is untouched, but the
        # features refused so far are still worth a look.
        finish()
        raise
    return report


def _bar(opts: MicroGridImportOptions, total: int, unit: str, desc: str) -> tqdm:
    """A progress bar when ``opts.progress``, cleared when done."""
    disable = None if opts.progress else True  # None: only on a terminal
    return tqdm(total=total, unit=unit, desc=desc, disable=disable, mininterval=0.5, leave=False)


def _refuse_empty(path: Path, report: MicroGridImportReport, rejects: Path, frame: Any) -> None:
    write_rejects(rejects, frame, report.rejected)
    first = report.rejected[0] if report.rejected else None
    why = f"; first: feature {first['feature']}: {first['reason']}" if first else ""
    raise ImportRefused(f"{path}: no feature can be imported{why} (rejects: {rejects})")


def same(f: MicroFeature, current: dict[str, Any]) -> bool:
    """True when the feature equals the current version (attributes and geometry)."""
    if any(f.row[k] != current[k] for k in ATTRIBUTES):
        return False
    return bool(shapely.equals(f.geom, shapely.from_wkb(bytes(current["wkb"]))))


def _run(
    settings: Settings,
    path: Path,
    opts: MicroGridImportOptions,
    report: MicroGridImportReport,
    features: list[MicroFeature],
    metric: Any,
    now: datetime,
    actor: Actor | None,
    t0: float,
    finish: Callable[[], None],
) -> None:
    """Everything that needs the database, in one transaction; ``finish`` (writing the
    rejects file) runs before the commit, so an unwritable file leaves nothing loaded."""
    from queries import imports as qi
    from queries import micro_grids as q
    from queries.cache import bump_data_version
    from queries.db import connect

    with connect(settings) as conn:
        try:
            if not opts.dry_run:
                # One lock for every boundary import: a grid import must not move a parent
                # while its micro-grids are checked against it.
                qi.lock_grid_import(conn)
            t = time.perf_counter()
            features, grids = resolve_parents(conn, features, opts, report)
            features = check_nesting(features, grids, metric, opts, report)
            report.seconds["nesting"] = time.perf_counter() - t
            t = time.perf_counter()
            codes = [f.code for f in features]
            current = {r["code"]: r for r in q.current_micro_grids(conn, codes, sorted(grids))}
            history = qi.code_history(conn, codes, KIND)
            change_at = opts.valid_from or now
            accepted, to_insert, to_version = _versions(
                features, current, history, change_at, report
            )
            with _bar(opts, len({f.grid for f in accepted}), "grid", "overlaps and gaps") as bar:
                check_coverage(
                    accepted, current, grids, metric, opts.min_area_m2, report, bar.update
                )
            report.seconds["topology"] = time.perf_counter() - t
            if opts.strict and report.rejected:
                first = min(report.rejected, key=lambda r: r.get("feature") or 0)
                raise ImportRefused(
                    f"{path}: {len(report.rejected)} feature(s) refused (--strict), first:"
                    f" feature {first['feature']} ({first['code']}): {first['reason']}"
                )
            report.inserted = [f.code for f in to_insert]
            report.new_versions = [f.code for f in to_version]
            if geo_run.end_dry_run(conn, opts, report):
                _timing(report, t0)
                finish()
                return
            require_decision(path, "micro-grid", report.new_versions, opts.decision_no)
            t = time.perf_counter()
            for f in to_version + to_insert:
                f.row["decision_no"] = opts.decision_no
                f.row["wkb"] = shapely.to_wkb(f.geom)
            q.close_micro_grid_versions(conn, report.new_versions, change_at)
            q.insert_micro_grids(conn, [f.row for f in to_version], change_at)
            q.insert_micro_grids(conn, [f.row for f in to_insert], opts.valid_from)
            qi.issue_codes(conn, report.inserted, KIND)
            report.seconds["write"] = time.perf_counter() - t
            _timing(report, t0)
            geo_run.record(
                conn, settings, path, opts, report, kind=KIND, about=grids, now=now, actor=actor
            )
            finish()
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        bump_data_version(conn)
        conn.commit()


def _versions(
    features: list[MicroFeature],
    current: dict[str, dict[str, Any]],
    history: dict[str, dict[str, Any]],
    change_at: datetime,
    report: MicroGridImportReport,
) -> tuple[list[MicroFeature], list[MicroFeature], list[MicroFeature]]:
    """(accepted, new codes, changed current micro-grids); unchanged ones are listed in
    ``report.unchanged``, codes issued before to anything else or retired are refused."""
    accepted: list[MicroFeature] = []
    to_insert: list[MicroFeature] = []
    to_version: list[MicroFeature] = []
    for f in features:
        cur = current.get(f.code)
        # A name or counts the file does not carry keep their stored value ("where given").
        for key, default in (("name", f.code), ("households", 0), ("household_groups", None)):
            f.row.setdefault(key, cur[key] if cur is not None else default)
        if cur is not None:
            if same(f, cur):
                report.unchanged.append(f.code)
            elif change_at <= cur["valid_from"]:
                report.rejected.append(
                    {
                        "feature": f.index + 1,
                        "code": f.code,
                        "grid": f.grid,
                        "reason": f"change time {change_at.isoformat()} is not after the current"
                        f" version's valid_from {cur['valid_from'].isoformat()}",
                    }
                )
                continue
            else:
                to_version.append(f)
            accepted.append(f)
            continue
        h = history.get(f.code)
        if h is not None:
            if h["retired_at"] is not None:
                why = f"belonged to a micro-grid retired at {h['retired_at'].isoformat()}"
            elif h["has_grid"] or h["kind"] == "grid":
                why = "was issued before as a grid code"
            else:
                why = f"was issued before as a {h['kind'] or 'micro_grid'} code"
            report.rejected.append(
                {
                    "feature": f.index + 1,
                    "code": f.code,
                    "grid": f.grid,
                    "reason": f"code {why}; codes are never reused",
                }
            )
            continue
        to_insert.append(f)
        accepted.append(f)
    return accepted, to_insert, to_version


def _timing(report: MicroGridImportReport, t0: float) -> None:
    total = time.perf_counter() - t0
    report.seconds["total"] = total
    report.rows_per_s = report.features / total if total > 0 else 0.0
