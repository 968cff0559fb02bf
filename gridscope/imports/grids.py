"""`gridscope import grids FILE`: grid boundaries from a GIS file into versioned ``grid`` rows.

Order of work: read the layer and settle its CRS (``geofile``), optionally convert GCJ-02
vertices to WGS84, build each feature's code, name, community and attributes from the field
mapping, make geometries valid (polygonal parts kept, each repair reported), check codes with the
chosen code rule, then compare with the database: a new code is inserted and recorded in
``issued_code``; a changed grid gets a new version (the current one is closed at the same
instant: history is never rewritten); an unchanged one is skipped; a code that was issued before
to anything else, or belonged to a retired grid, is refused (codes are never reused).

Overlaps and gaps are reported per community with their areas in m², counting the community's
current grids that the file does not mention. All writes happen in one transaction together with
the ``import_run`` row; the data version is bumped after commit. ``dry_run`` reads the database
and reports everything but writes nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from domain.codes import REGION_LEVELS, get_code_rule
from domain.config import Settings

from . import topology
from .errors import ImportRefused
from .gcj02 import geometries_gcj02_to_wgs84, in_china
from .geofile import read_geofile

GRID_TYPES = {
    "comprehensive": "comprehensive",
    "综合": "comprehensive",
    "综合网格": "comprehensive",
    "exclusive": "exclusive",
    "专属": "exclusive",
    "专属网格": "exclusive",
}
EXCLUSIVE_KINDS = (
    "school",
    "hospital",
    "industrial_park",
    "enterprise",
    "market",
    "office",
    "government",
    "scenic",
    "other",
)


@dataclass
class GridImportOptions:
    """How to read a grid file (field names are the file's attribute names)."""

    code_field: str | None = None
    code_prefix: str = ""
    code_width: int | None = None
    name_field: str | None = None
    name_prefix: str = ""
    community_field: str | None = None
    community: str | None = None
    create_parent: tuple[str, str] | None = None
    parent_level: str = "community"
    type_field: str | None = None
    exclusive_kind_field: str | None = None
    grid_type: str = "comprehensive"
    households_field: str | None = None
    population_field: str | None = None
    code_rule: str = "national"
    crs: str | None = None
    gcj02: bool = False
    layer: str | None = None
    valid_from: datetime | None = None
    min_area_m2: float = 1.0
    dry_run: bool = False
    strict: bool = False

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        if self.valid_from is not None:
            d["valid_from"] = self.valid_from.isoformat()
        return {k: v for k, v in d.items() if v not in (None, "", False)}


@dataclass
class GridImportReport:
    """What an import found and did; JSON-serialisable via ``as_json``."""

    file: str
    features: int = 0
    crs: dict[str, Any] = field(default_factory=dict)
    inserted: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    repaired: list[dict[str, Any]] = field(default_factory=list)
    communities: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    created_parent: str | None = None
    dry_run: bool = False
    import_run_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def overlap_count(self) -> int:
        return sum(c["overlaps"]["count"] for c in self.communities.values())

    @property
    def gap_count(self) -> int:
        return sum(c["gaps"]["count"] for c in self.communities.values())


@dataclass
class _Feature:
    index: int  # 0-based position in the layer
    code: str
    community: str
    row: dict[str, Any]
    geom: Any


def _text(value: Any) -> str:
    """An attribute as text: integral floats lose their '.0', missing values become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value).strip()


def _count(value: Any) -> int | None:
    """A non-negative integer attribute (households, population); None when it is not one."""
    text = _text(value)
    if text == "":
        return 0
    try:
        n = float(text)
    except ValueError:
        return None
    return int(n) if n >= 0 and n.is_integer() else None


def _check_fields(frame: pd.DataFrame, opts: GridImportOptions, path: Path) -> None:
    named = {
        k: getattr(opts, k)
        for k in (
            "code_field",
            "name_field",
            "community_field",
            "type_field",
            "exclusive_kind_field",
            "households_field",
            "population_field",
        )
    }
    missing = [
        f"{k.replace('_', '-')} {v!r}" for k, v in named.items() if v and v not in frame.columns
    ]
    if missing:
        fields = ", ".join(c for c in frame.columns if c != frame.geometry.name)
        raise ImportRefused(f"{path}: no field {'; '.join(missing)} (fields: {fields})")


def _build_features(
    frame: pd.DataFrame, geoms: np.ndarray, opts: GridImportOptions, report: GridImportReport
) -> list[_Feature]:
    rule = get_code_rule(opts.code_rule)
    features: list[_Feature] = []
    for i in range(len(frame)):
        rec = frame.iloc[i]
        raw_code = _text(rec[opts.code_field]) if opts.code_field else ""

        def reject(reason: str, code: str = raw_code, i: int = i) -> None:
            report.rejected.append({"feature": i + 1, "code": code, "reason": reason})

        if raw_code == "":
            reject(f"empty {opts.code_field!r}")
            continue
        if opts.code_width and raw_code.isdigit():
            raw_code = raw_code.zfill(opts.code_width)
        code = opts.code_prefix + raw_code
        if opts.community:
            community = opts.community
        elif opts.community_field:
            community = _text(rec[opts.community_field])
        else:
            community = code[:-3] if opts.code_rule == "national" else ""
        if not community:
            reject("no community code", code)
            continue
        if (err := rule.validate_grid(code, community)) is not None:
            reject(err, code)
            continue
        name = opts.name_prefix + (_text(rec[opts.name_field]) if opts.name_field else code)
        grid_type = opts.grid_type
        if opts.type_field:
            value = _text(rec[opts.type_field])
            if value:
                if value.lower() not in GRID_TYPES and value not in GRID_TYPES:
                    reject(
                        f"unknown grid type {value!r} (comprehensive/综合 or exclusive/专属)", code
                    )
                    continue
                grid_type = GRID_TYPES.get(value.lower(), GRID_TYPES.get(value, grid_type))
        kind = None
        if grid_type == "exclusive":
            kind = _text(rec[opts.exclusive_kind_field]) if opts.exclusive_kind_field else ""
            if kind not in EXCLUSIVE_KINDS:
                if kind:
                    report.warnings.append(
                        f"feature {i + 1} ({code}): exclusive kind {kind!r} unknown, kept as"
                        f" 'other'"
                    )
                kind = "other"
        counts = {
            key: (_count(rec[fld]) if fld else 0)
            for key, fld in (
                ("households", opts.households_field),
                ("population", opts.population_field),
            )
        }
        bad = [k for k, v in counts.items() if v is None]
        if bad:
            fld = opts.households_field if bad[0] == "households" else opts.population_field
            reject(f"{bad[0]} must be a non-negative integer, got {_text(rec[fld])!r}", code)
            continue
        geom = geoms[i]
        if geom is None or shapely.is_empty(geom):
            reject("no geometry", code)
            continue
        if shapely.get_type_id(geom) not in topology.POLYGONAL:
            reject(f"{geom.geom_type} is not a polygon", code)
            continue
        row = {
            "code": code,
            "name": name,
            "community_code": community,
            "grid_type": grid_type,
            "exclusive_kind": kind,
            **counts,
        }
        features.append(_Feature(i, code, community, row, geom))
    return features


def _repair_all(features: list[_Feature], report: GridImportReport, metric: Any) -> list[_Feature]:
    kept = []
    for f in features:
        geom, rep = topology.repair(f.geom, metric)
        if rep is not None:
            report.repaired.append(
                {
                    "feature": f.index + 1,
                    "code": f.code,
                    "reason": rep.reason,
                    "dropped_parts": rep.dropped,
                    "area_m2": rep.area_m2,
                }
            )
        if shapely.is_empty(geom):
            report.rejected.append(
                {
                    "feature": f.index + 1,
                    "code": f.code,
                    "reason": "no polygonal area left after repair",
                }
            )
            continue
        f.geom = geom
        kept.append(f)
    return kept


def _drop_duplicates(features: list[_Feature], report: GridImportReport) -> list[_Feature]:
    seen: dict[str, list[int]] = defaultdict(list)
    for f in features:
        seen[f.code].append(f.index + 1)
    dups = {c: idx for c, idx in seen.items() if len(idx) > 1}
    for f in features:
        if f.code in dups:
            others = ", ".join(str(i) for i in dups[f.code] if i != f.index + 1)
            report.rejected.append(
                {
                    "feature": f.index + 1,
                    "code": f.code,
                    "reason": f"duplicate code (also feature {others})",
                }
            )
    return [f for f in features if f.code not in dups]


def _same(f: _Feature, current: dict[str, Any]) -> bool:
    keys = ("name", "community_code", "grid_type", "exclusive_kind", "households", "population")
    if any(f.row.get(k, 0) != current[k] for k in keys):
        return False
    old = shapely.from_wkb(bytes(current["wkb"]))
    return bool(shapely.equals(f.geom, old))


def import_grids(
    settings: Settings, path: Path, opts: GridImportOptions, echo: Callable[[str], None] = print
) -> GridImportReport:
    """Import (or with ``opts.dry_run`` only check) the grids of ``path``; see the module doc."""
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

    gf = read_geofile(path, layer=opts.layer, crs=opts.crs)
    frame = gf.frame
    _check_fields(frame, opts, path)
    report = GridImportReport(file=str(path), features=len(frame), dry_run=opts.dry_run)
    report.crs = {"file": gf.file_crs, "used": gf.used_crs, "notes": gf.notes}
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if opts.gcj02:
        c = shapely.centroid(geoms[~shapely.is_empty(geoms) & (geoms != None)])  # noqa: E711
        outside = int((~in_china(shapely.get_x(c), shapely.get_y(c))).sum())
        if outside:
            report.warnings.append(
                f"--gcj02: {outside} feature(s) lie outside China, where"
                f" GCJ-02 equals WGS84; left unchanged"
            )
        geoms = geometries_gcj02_to_wgs84(geoms)
        report.crs["notes"].append("GCJ-02 vertices converted to WGS84")

    features = _build_features(frame, geoms, opts, report)
    if not features:
        first = report.rejected[0] if report.rejected else None
        why = f"; first: feature {first['feature']}: {first['reason']}" if first else ""
        raise ImportRefused(f"{path}: no feature can be imported{why}")
    metric = topology.metric_transformer([f.geom for f in features])
    features = _repair_all(features, report, metric)
    features = _drop_duplicates(features, report)
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
            now = q.transaction_now(conn)
            started = now
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
            accepted: list[_Feature] = []
            to_insert: list[_Feature] = []
            to_version: list[_Feature] = []
            for f in features:
                cur = current.get(f.code)
                if cur is not None:
                    if _same(f, cur):
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
            if opts.dry_run:
                conn.rollback()
                return report
            for f in to_version:
                q.close_grid_version(conn, f.code, change_at)
                q.insert_grid(conn, f.row, change_at)
            for f in to_insert:
                q.insert_grid(conn, f.row, opts.valid_from)
            q.issue_codes(conn, report.inserted, "grid")
            report.import_run_id = q.record_import_run(
                conn,
                kind="grids",
                file_name=path.name,
                file_sha256=_sha256(path),
                options=opts.as_json(),
                started_at=started,
                rows_total=report.features,
                rows_loaded=len(to_insert) + len(to_version),
                rows_skipped=len(report.unchanged),
                rows_rejected=len(report.rejected),
                report=report.as_json(),
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        bump_data_version(conn)
        conn.commit()
    return report


def _check_topology(
    report: GridImportReport,
    community: str,
    accepted: list[_Feature],
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


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def format_report(r: GridImportReport) -> list[str]:
    """The report as lines for the terminal."""
    lines = [
        f"{r.file}: {r.features} feature(s); CRS {r.crs.get('file') or 'none'}"
        + (f" → used {r.crs['used']}" if r.crs.get("used") != r.crs.get("file") else "")
    ]
    lines += [f"  note: {n}" for n in r.crs.get("notes", [])]
    if r.created_parent:
        lines.append(
            f"  parent region {r.created_parent} {'would be created' if r.dry_run else 'created'}"
        )
    for rep in r.repaired:
        extra = f"; dropped {rep['dropped_parts']}" if rep["dropped_parts"] else ""
        lines.append(
            f"  repaired feature {rep['feature']} ({rep['code']}): {rep['reason']}"
            f" → valid, {rep['area_m2']:,.1f} m²{extra}"
        )
    for rej in r.rejected:
        lines.append(f"  REJECTED feature {rej['feature']} ({rej['code'] or '-'}): {rej['reason']}")
    for w in r.warnings:
        lines.append(f"  warning: {w}")
    for community, c in r.communities.items():
        o, g = c["overlaps"], c["gaps"]
        lines.append(
            f"  community {community} ({c['parent']}): {c['grids_in_file']} grid(s) in "
            f"file, {len(c['other_current_grids'])} other current; "
            f"{o['count']} overlap(s) {o['total_m2']:,.1f} m², "
            f"{g['count']} gap(s) {g['total_m2']:,.1f} m²"
        )
        for item in o["listed"]:
            lines.append(
                f"    overlap {item['grids'][0]} × {item['grids'][1]}: "
                f"{item['area_m2']:,.1f} m² at {item['at'][0]}, {item['at'][1]}"
            )
        for item in g["listed"]:
            lines.append(
                f"    gap ({item['kind']}): {item['area_m2']:,.1f} m² at "
                f"{item['at'][0]}, {item['at'][1]}"
            )
        for kind, part in (("overlap", o), ("gap", g)):
            if part["not_listed"]:
                lines.append(f"    … and {part['not_listed']} more {kind}(s)")
            if part["below_min_area"]:
                lines.append(
                    f"    {part['below_min_area']} {kind} sliver(s) below the minimum "
                    f"area, {part['below_min_area_total_m2']:,.3f} m² in all"
                )
        out = c.get("outside_parent")
        if out and out["count"]:
            lines.append(
                f"    {out['count']} part(s) outside the parent, {out['total_m2']:,.1f} m²"
            )
    lines.append(
        f"{'dry run: ' if r.dry_run else ''}{len(r.inserted)} new, {len(r.new_versions)} changed"
        f" (old version closed, new version added), {len(r.unchanged)} unchanged,"
        f" {len(r.rejected)} rejected"
    )
    if r.dry_run:
        lines.append("dry run: nothing was written")
    return lines
