"""Micro-grid features out of a GIS layer: which attribute holds what (the declared headings
or the options), then per feature its code, parent grid (when the file names it), name and
counts, each checked. Parents named by the code alone are resolved against the database in
``parents.py``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..columns import MICRO_GRIDS, match_headers
from ..errors import ImportRefused
from ..grids.features import count_of, text_of
from ..topology import POLYGONAL
from .options import FIELD_OPTIONS, MicroGridImportOptions, MicroGridImportReport


@dataclass
class MicroFeature:
    """One micro-grid of the file; ``grid`` is "" until the parent is resolved."""

    index: int  # 0-based position in the layer
    code: str
    grid: str
    row: dict[str, Any]
    geom: Any


def resolve_fields(frame: pd.DataFrame, opts: MicroGridImportOptions, path: Path) -> dict[str, str]:
    """{column key: attribute name} of the file: a named option wins (it must exist), else the
    attribute whose heading is the column's Chinese heading or an alias. ImportRefused when a
    named attribute is missing or no attribute holds the code."""
    names = [str(c) for c in frame.columns if c != frame.geometry.name]
    found, _missing = match_headers("micro-grids", names)
    fields = {key: names[i] for key, i in found.items()}
    absent = []
    for key, option in FIELD_OPTIONS.items():
        named = getattr(opts, option)
        if named:
            if named not in names:
                absent.append(f"{option.replace('_', '-')} {named!r}")
            fields[key] = named
    if absent:
        raise ImportRefused(f"{path}: no field {'; '.join(absent)} (fields: {', '.join(names)})")
    if "code" not in fields:
        code = next(c for c in MICRO_GRIDS if c.key == "code")
        headings = " / ".join((code.header, *code.aliases))
        raise ImportRefused(
            f"{path}: no micro-grid code field: name it with --code-field or head it {headings}"
            f" (fields: {', '.join(names)})"
        )
    return fields


def _coded(value: str, width: int | None, prefix: str) -> str:
    if width and value.isdigit():
        value = value.zfill(width)
    return prefix + value


def build_features(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    fields: dict[str, str],
    opts: MicroGridImportOptions,
    report: MicroGridImportReport,
    progress: Any = None,
) -> list[MicroFeature]:
    """The features with a code, valid counts and a polygonal geometry; the others are added
    to ``report.rejected`` with the reason. ``progress(n)`` is told of each feature read."""
    columns = {key: frame[name].to_numpy(dtype=object) for key, name in fields.items()}
    features: list[MicroFeature] = []
    for i in range(len(frame)):
        if progress is not None:
            progress(1)
        raw = text_of(columns["code"][i])

        def reject(reason: str, code: str = raw, i: int = i) -> None:
            report.rejected.append({"feature": i + 1, "code": code, "reason": reason})

        if raw == "":
            reject(f"empty {fields['code']!r}")
            continue
        code = _coded(raw, opts.code_width, opts.code_prefix)
        grid = ""
        if "grid" in columns:
            value = text_of(columns["grid"][i])
            grid = _coded(value, opts.grid_width, opts.grid_prefix) if value else ""
        row: dict[str, Any] = {"code": code}
        if "name" in columns:  # not in the file: the stored name is kept (run.py)
            name = text_of(columns["name"][i])
            row["name"] = opts.name_prefix + name if name else code
        bad = False
        for key in ("households", "household_groups"):
            if key not in columns:
                continue  # not in the file: the stored value is kept (run.py)
            text = text_of(columns[key][i])
            if text == "":
                row[key] = 0 if key == "households" else None
                continue
            n = count_of(text)
            if n is None:
                reject(f"{key} must be a non-negative integer, got {text!r}", code)
                bad = True
                break
            row[key] = n
        if bad:
            continue
        geom = geoms[i]
        if geom is None or shapely.is_empty(geom):
            reject("no geometry", code)
            continue
        if shapely.get_type_id(geom) not in POLYGONAL:
            reject(f"{geom.geom_type} is not a polygon", code)
            continue
        features.append(MicroFeature(i, code, grid, row, geom))
    return features
