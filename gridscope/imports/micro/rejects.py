"""The rejects file of a micro-grid import: every refused feature with its reason, as GeoJSON
(the feature as the file had it, in EPSG:4326, to open on a map next to the grids) or CSV
(attributes only, with a point inside the piece that sticks out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..errors import ImportRefused
from ..tickets.report import check_writable

SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV"}


def default_rejects_path(path: Path) -> Path:
    """``<name>.rejects.geojson`` next to the input."""
    return path.with_name(f"{path.stem}.rejects.geojson")


def check_rejects_path(path: Path) -> None:
    """Refuse a rejects path of an unknown kind, in a missing directory or not writable
    (before any work)."""
    if path.suffix.lower() not in SUFFIXES:
        raise ImportRefused(f"rejects file {path}: name a .geojson or .csv file")
    if path.is_dir():
        raise ImportRefused(f"rejects file {path} is a directory: choose a file with --rejects")
    check_writable(path)


def write_rejects(path: Path, frame: gpd.GeoDataFrame, rejected: list[dict[str, Any]]) -> None:
    """The refused features (``rejected`` items carry a 1-based "feature"; features refused
    before they had a position, none) with ``reject_feature``, ``reject_code``,
    ``reject_reason`` and, for those that stick out of their grid, ``reject_grid``,
    ``reject_outside_m2``, ``reject_outside_share``, ``reject_lon``/``reject_lat``."""
    items = sorted((r for r in rejected if r.get("feature")), key=lambda r: r["feature"])
    if not items:
        empty = "reject_feature,reject_code,reject_reason\n"
        if SUFFIXES[path.suffix.lower()] != "CSV":
            empty = '{"type": "FeatureCollection", "features": []}\n'
        try:
            path.write_text(empty, encoding="utf-8")
        except OSError as exc:
            raise ImportRefused(f"cannot write the rejects file {path}: {exc}") from None
        return
    out = frame.iloc[[r["feature"] - 1 for r in items]].copy()
    out["reject_feature"] = [r["feature"] for r in items]
    out["reject_code"] = [r.get("code") or "" for r in items]
    out["reject_reason"] = [r["reason"] for r in items]
    out["reject_grid"] = [r.get("grid") or "" for r in items]
    out["reject_outside_m2"] = [r.get("outside_m2") for r in items]
    out["reject_outside_share"] = [r.get("outside_share") for r in items]
    out["reject_lon"] = [(r.get("at") or [None, None])[0] for r in items]
    out["reject_lat"] = [(r.get("at") or [None, None])[1] for r in items]
    try:
        if SUFFIXES[path.suffix.lower()] == "CSV":
            pd.DataFrame(out.drop(columns=out.geometry.name)).to_csv(path, index=False)
        else:
            if path.exists():
                path.unlink()  # the GeoJSON driver does not overwrite
            out.to_file(path, driver="GeoJSON")
    except OSError as exc:
        raise ImportRefused(f"cannot write the rejects file {path}: {exc}") from None
