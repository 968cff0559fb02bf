"""Grid features out of a GIS layer: code, name, community, type and counts from the field
mapping, each checked; geometries repaired; duplicate codes refused."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import shapely

from domain.codes import get_code_rule
from domain.vocabulary import EXCLUSIVE_KIND_NAMES_ZH, GRID_TYPE_NAMES_ZH

from .. import topology
from ..errors import ImportRefused
from .options import GridImportOptions, GridImportReport

# The grid type as written in a file: the code, its Chinese name, or the name without 网格.
GRID_TYPES = {
    spelling: code
    for code, name in GRID_TYPE_NAMES_ZH.items()
    for spelling in (code, name, name.removesuffix("网格"))
}
# Kinds of exclusive grids (domain.vocabulary); an unknown kind is kept as 'other'.
EXCLUSIVE_KINDS: tuple[str, ...] = tuple(EXCLUSIVE_KIND_NAMES_ZH)


class Findings(Protocol):
    """What the shared checks add to: an import report's refused and repaired features."""

    rejected: list[dict[str, Any]]
    repaired: list[dict[str, Any]]


@dataclass
class Feature:
    index: int  # 0-based position in the layer
    code: str
    community: str
    row: dict[str, Any]
    geom: Any


def text_of(value: Any) -> str:
    """An attribute as text: integral floats lose their '.0', missing values become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value).strip()


def count_of(value: Any) -> int | None:
    """A non-negative integer attribute (households, population); None when it is not one."""
    text = text_of(value)
    if text == "":
        return 0
    try:
        n = float(text)
    except ValueError:
        return None
    return int(n) if n >= 0 and n.is_integer() else None


def check_fields(frame: pd.DataFrame, opts: GridImportOptions, path: Path) -> None:
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


def build_features(
    frame: pd.DataFrame, geoms: np.ndarray, opts: GridImportOptions, report: GridImportReport
) -> list[Feature]:
    rule = get_code_rule(opts.code_rule)
    features: list[Feature] = []
    for i in range(len(frame)):
        rec = frame.iloc[i]
        raw_code = text_of(rec[opts.code_field]) if opts.code_field else ""

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
            community = text_of(rec[opts.community_field])
        else:
            community = code[:-3] if opts.code_rule == "national" else ""
        if not community:
            reject("no community code", code)
            continue
        if (err := rule.validate_grid(code, community)) is not None:
            reject(err, code)
            continue
        name = opts.name_prefix + (text_of(rec[opts.name_field]) if opts.name_field else code)
        grid_type = opts.grid_type
        if opts.type_field:
            value = text_of(rec[opts.type_field])
            if value:
                if value.lower() not in GRID_TYPES and value not in GRID_TYPES:
                    reject(
                        f"unknown grid type {value!r} (comprehensive/综合 or exclusive/专属)", code
                    )
                    continue
                grid_type = GRID_TYPES.get(value.lower(), GRID_TYPES.get(value, grid_type))
        kind = None
        if grid_type == "exclusive":
            kind = text_of(rec[opts.exclusive_kind_field]) if opts.exclusive_kind_field else ""
            if kind not in EXCLUSIVE_KINDS:
                if kind:
                    report.warnings.append(
                        f"feature {i + 1} ({code}): exclusive kind {kind!r} unknown, kept as"
                        f" 'other'"
                    )
                kind = "other"
        counts = {
            key: (count_of(rec[fld]) if fld else 0)
            for key, fld in (
                ("households", opts.households_field),
                ("population", opts.population_field),
            )
        }
        bad = [k for k, v in counts.items() if v is None]
        if bad:
            fld = opts.households_field if bad[0] == "households" else opts.population_field
            reject(f"{bad[0]} must be a non-negative integer, got {text_of(rec[fld])!r}", code)
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
        features.append(Feature(i, code, community, row, geom))
    return features


def repair_all(features: list[Any], report: Findings, metric: Any) -> list[Any]:
    """Make each feature's geometry valid (polygonal parts kept); repairs are reported, a
    feature with no area left is refused."""
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


def drop_duplicates(features: list[Any], report: Findings) -> list[Any]:
    """The features whose code is unique in the file; every copy of a duplicate is refused."""
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


def same(f: Feature, current: dict[str, Any]) -> bool:
    keys = ("name", "community_code", "grid_type", "exclusive_kind", "households", "population")
    if any(f.row.get(k, 0) != current[k] for k in keys):
        return False
    old = shapely.from_wkb(bytes(current["wkb"]))
    return bool(shapely.equals(f.geom, old))
