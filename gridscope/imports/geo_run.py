"""What the two boundary imports (``grids``, ``micro``) share around their own checks: the start
(the run's instant, the decision number, the effective date), the report begun from the layer
read with the GCJ-02 conversion of its vertices, the repair of the features, the end of a dry
run, and the ``import_run`` row with the audit event written in the import's transaction.

``opts`` is a ``GridImportOptions`` or ``MicroGridImportOptions`` and ``report`` the matching
report: the fields used here mean the same in both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import shapely

from domain.clock.now import clock_for
from domain.config import Settings
from domain.geo.gcj02 import geometries_gcj02_to_wgs84, in_china
from queries.admin import Actor

from . import topology
from .actor import command_line_actor
from .geofile import GeoFile
from .grids.decision import check_effective_date, decision_number
from .grids.features import Findings, drop_duplicates, repair_all

R = TypeVar("R")


def start(settings: Settings, opts: Any, now: datetime | None) -> datetime:
    """The run's instant (``now``, default the settings' clock), with ``opts.decision_no``
    normalised and ``opts.valid_from`` checked against it (ImportRefused)."""
    now = now or clock_for(settings.fixed_now).now()
    opts.decision_no = decision_number(opts.decision_no)
    check_effective_date(opts.valid_from, now)
    return now


def begin_report(
    report_type: Callable[..., R], gf: GeoFile, opts: Any, **fields: Any
) -> tuple[R, Any]:
    """A ``report_type`` for the layer ``gf`` (with ``fields``, those only one kind has) and
    the layer's geometries, GCJ-02 vertices converted with ``opts.gcj02``; the CRS decisions
    and the conversion are in ``report.crs``."""
    report: Any = report_type(
        file=str(gf.path),
        features=len(gf.frame),
        dry_run=opts.dry_run,
        decision_no=opts.decision_no,
        valid_from=opts.valid_from.isoformat() if opts.valid_from else None,
        **fields,
    )
    report.crs = {"file": gf.file_crs, "used": gf.used_crs, "notes": gf.notes}
    geoms = np.asarray(gf.frame.geometry.values, dtype=object)
    if opts.gcj02:
        geoms = from_gcj02(geoms, report.warnings, report.crs["notes"])
    return report, geoms


def repair(features: list[Any], report: Findings) -> tuple[list[Any], Any]:
    """The features made valid (each repair reported) without duplicate codes, and the metric
    transformer (for areas in m²) of their extent."""
    metric = topology.metric_transformer([f.geom for f in features])
    features = repair_all(features, report, metric)
    return drop_duplicates(features, report), metric


def end_dry_run(conn: Any, opts: Any, report: Any) -> bool:
    """For a dry run: the changes a real run would refuse without a decision noted in
    ``report.needs_decision``, the transaction rolled back; True. Else False."""
    if not opts.dry_run:
        return False
    if not opts.decision_no:
        report.needs_decision = list(report.new_versions)
    conn.rollback()
    return True


def record(
    conn: Any,
    settings: Settings,
    path: Path,
    opts: Any,
    report: Any,
    *,
    kind: str,
    about: Iterable[str],
    now: datetime,
    actor: Actor | None,
) -> None:
    """The ``import_run`` row (kind ``<kind>s``) and the audit event ``<kind>_import`` of an
    import of ``kind`` ('grid', 'micro_grid') in the caller's transaction, signed by ``actor``
    (default: the command line); ``about`` are the region or grid codes concerned, whose common
    prefix is the event's jurisdiction. Sets ``report.import_run_id``."""
    from queries import audit
    from queries import imports as q

    changed = report.inserted + report.new_versions
    report.import_run_id = q.record_import_run(
        conn,
        kind=f"{kind}s",
        file_name=path.name,
        file_sha256=file_sha256(path),
        options=opts.as_json(),
        started_at=now,
        rows_total=report.features,
        rows_loaded=len(changed),
        rows_skipped=len(report.unchanged),
        rows_rejected=len(report.rejected),
        report=report.as_json(),
    )
    who = actor or command_line_actor(settings)
    event = who.event(
        f"{kind}_import",
        os.path.commonprefix(sorted(about)),
        object=kind,
        object_ids=changed,
        count=len(changed),
        detail={
            "file": path.name,
            "import_run_id": report.import_run_id,
            "inserted": len(report.inserted),
            "new_versions": len(report.new_versions),
            "unchanged": len(report.unchanged),
            "rejected": len(report.rejected),
            "decision_no": opts.decision_no,
            "valid_from": report.valid_from,
        },
    )
    audit.write(conn, event, now, commit=False)


def from_gcj02(geoms: np.ndarray, warnings: list[str], notes: list[str]) -> np.ndarray:
    """GCJ-02 vertices (AutoNavi/Tencent web maps) converted to WGS84; features outside
    China (where GCJ-02 equals WGS84) are left as they are and counted in ``warnings``."""
    c = shapely.centroid(geoms[~shapely.is_empty(geoms) & (geoms != None)])  # noqa: E711
    outside = int((~in_china(shapely.get_x(c), shapely.get_y(c))).sum())
    if outside:
        warnings.append(
            f"--gcj02: {outside} feature(s) lie outside China, where GCJ-02 equals WGS84;"
            f" left unchanged"
        )
    notes.append("GCJ-02 vertices converted to WGS84")
    return geometries_gcj02_to_wgs84(geoms)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file (hex), read in 1 MiB chunks."""
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
