"""`gridscope import grids`: the run, from reading the layer to the commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from domain.codes import REGION_LEVELS, get_code_rule
from domain.config import Settings
from queries.admin import Actor

from .. import geo_run, topology
from ..errors import ImportRefused
from ..geofile import read_geofile
from .decision import require_decision
from .features import Feature, build_features, check_fields, same
from .options import GridImportOptions, GridImportReport


def import_grids(
    settings: Settings,
    path: Path,
    opts: GridImportOptions,
    echo: Callable[[str], None] = print,
    *,
    now: datetime | None = None,
    actor: Actor | None = None,
) -> GridImportReport:
    """Import (or with ``opts.dry_run`` only check) the grids of ``path``; see
    ``gridscope.imports.grids``.

    ``now`` (aware; default: the settings' clock, ``fixed_now`` or the system clock) is the
    instant a changed grid's old version ends and its new one starts (unless
    ``opts.valid_from`` says otherwise) and the import run's start. Changing a current grid
    needs ``opts.decision_no`` (ImportRefused otherwise, nothing written); an effective date
    after ``now`` is refused. ``actor`` (default: the command line) signs the audit event
    ``grid_import`` written in the import's transaction.
    """
    from queries import imports as q
    from queries.cache import bump_data_version
    from queries.db import connect

    if opts.parent_level not in REGION_LEVELS:
        raise ImportRefused(f"unknown parent level {opts.parent_level!r}")
    rule = get_code_rule(opts.code_rule)
    if opts.create_parent is not None:
        pcode, _ = opts.create_parent
        if (err := rule.validate_region(pcode, opts.parent_level)) is not None:
            raise ImportRefused(f"--create-parent: {err}")
        if opts.community is None and opts.community_field is None:
            opts.community = pcode
    if (
        opts.community is not None
        and (err := rule.validate_region(opts.community, "community")) is not None
        and opts.create_parent is None
    ):
        raise ImportRefused(f"--community: {err}")

    now = geo_run.start(settings, opts, now)
    gf = read_geofile(path, layer=opts.layer, crs=opts.crs)
    frame = gf.frame
    check_fields(frame, opts, path)
    report, geoms = geo_run.begin_report(GridImportReport, gf, opts)

    features = build_features(frame, geoms, opts, report)
    if not features:
        first = report.rejected[0] if report.rejected else None
        why = f"; first: feature {first['feature']}: {first['reason']}" if first else ""
        raise ImportRefused(f"{path}: no feature can be imported{why}")
    features, metric = geo_run.repair(features, report)
    if opts.strict and report.rejected:
        first = report.rejected[0]
        raise ImportRefused(
            f"{path}: {len(report.rejected)} feature(s) refused (--strict), first: feature "
            f"{first['feature']} ({first['code']}): {first['reason']}"
        )
    areas = topology.areas_m2([f.geom for f in features], metric) if features else []
    for f, a in zip(features, areas, strict=True):
        f.row["area_m2"] = float(a)
        f.row["wkb"] = shapely.to_wkb(f.geom)

    communities = sorted({f.community for f in features})
    with connect(settings) as conn:
        try:
            if not opts.dry_run:
                q.lock_grid_import(conn)
            change_at = opts.valid_from or now
            codes = [f.code for f in features]
            current = {r["code"]: r for r in q.current_grids(conn, codes, communities)}
            history = q.code_history(conn, codes)
            parents = q.current_regions(conn, communities)
            if opts.create_parent is not None:
                pcode, pname = opts.create_parent
                if pcode not in q.current_regions(conn, [pcode]):
                    report.created_parent = pcode
                    if not opts.dry_run:
                        q.create_region(conn, pcode, pname, opts.parent_level)
                    parents.setdefault(
                        pcode,
                        {"code": pcode, "name": pname, "level": opts.parent_level, "wkb": None},
                    )
            accepted: list[Feature] = []
            to_insert: list[Feature] = []
            to_version: list[Feature] = []
            for f in features:
                cur = current.get(f.code)
                if cur is not None:
                    if same(f, cur):
                        report.unchanged.append(f.code)
                    elif change_at <= cur["valid_from"]:
                        report.rejected.append(
                            {
                                "feature": f.index + 1,
                                "code": f.code,
                                "reason": f"change time {change_at.isoformat()} is not after the"
                                f" current version's valid_from",
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
                        why = f"belonged to a grid retired at {h['retired_at'].isoformat()}"
                    else:
                        why = f"was issued before as a {h['kind'] or 'grid'} code"
                    report.rejected.append(
                        {
                            "feature": f.index + 1,
                            "code": f.code,
                            "reason": f"code {why}; codes are never reused",
                        }
                    )
                    continue
                to_insert.append(f)
                accepted.append(f)
            for community in communities:
                _check_topology(
                    report, community, accepted, current, parents, metric, opts.min_area_m2
                )
            if opts.strict and report.rejected:
                raise ImportRefused(f"{path}: {len(report.rejected)} feature(s) refused (--strict)")
            report.inserted = [f.code for f in to_insert]
            report.new_versions = [f.code for f in to_version]
            report.micro_grids_outside = _micro_grids_outside(
                conn, to_version, metric, opts.min_area_m2
            )
            if geo_run.end_dry_run(conn, opts, report):
                return report
            require_decision(path, "grid", report.new_versions, opts.decision_no)
            for f in to_version + to_insert:
                f.row["decision_no"] = opts.decision_no
            for f in to_version:
                q.close_grid_version(conn, f.code, change_at)
                q.insert_grid(conn, f.row, change_at)
            for f in to_insert:
                q.insert_grid(conn, f.row, opts.valid_from)
            q.issue_codes(conn, report.inserted, "grid")
            geo_run.record(
                conn,
                settings,
                path,
                opts,
                report,
                kind="grid",
                about=communities,
                now=now,
                actor=actor,
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        bump_data_version(conn)
        conn.commit()
    return report


def _micro_grids_outside(
    conn: Any, changed: list[Feature], metric: Any, min_area: float
) -> list[dict[str, Any]]:
    """The current micro-grids of the changed grids that stick out of the new boundary by at
    least ``min_area`` m², largest first: {"micro_grid", "grid", "outside_m2", "share"}. They
    are reported, not changed: their own adjustment is a micro-grid import."""
    from queries import micro_grids as qm

    new = {f.code: f.geom for f in changed}
    rows = qm.current_micro_grids(conn, (), sorted(new)) if new else []
    if not rows:
        return []
    geoms = shapely.from_wkb(np.array([bytes(r["wkb"]) for r in rows], dtype=object))
    parents = np.array([new[r["grid_code"]] for r in rows], dtype=object)
    outside = topology.areas_m2(shapely.difference(geoms, parents), metric)
    own = topology.areas_m2(geoms, metric)
    out = [
        {
            "micro_grid": r["code"],
            "grid": r["grid_code"],
            "outside_m2": round(float(o), 1),
            "share": round(float(o / a), 6) if a > 0 else 0.0,
        }
        for r, o, a in zip(rows, outside, own, strict=True)
        if o >= max(min_area, 1e-6)
    ]
    return sorted(out, key=lambda d: -d["outside_m2"])


def _check_topology(
    report: GridImportReport,
    community: str,
    accepted: list[Feature],
    current: dict[str, dict[str, Any]],
    parents: dict[str, dict[str, Any]],
    metric: Any,
    min_area: float,
) -> None:
    mine = [f for f in accepted if f.community == community]
    in_file = {f.code for f in mine}
    others = [
        r for r in current.values() if r["community_code"] == community and r["code"] not in in_file
    ]
    codes = [f.code for f in mine] + [r["code"] for r in others]
    geoms = [f.geom for f in mine] + [shapely.from_wkb(bytes(r["wkb"])) for r in others]
    parent = parents.get(community)
    pgeom = shapely.from_wkb(bytes(parent["wkb"])) if parent and parent.get("wkb") else None
    result = topology.check_community(codes, geoms, pgeom, metric, min_area)
    result["grids_in_file"] = len(mine)
    result["other_current_grids"] = sorted(r["code"] for r in others)
    if parent is None:
        result["parent"] = "not in region: gaps are holes between grids only"
    elif pgeom is None:
        result["parent"] = f"{parent['name']} has no boundary: gaps are holes between grids only"
    else:
        result["parent"] = parent["name"]
    report.communities[community] = result
