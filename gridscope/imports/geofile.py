"""Reading a polygon file (GeoJSON, Shapefile, GeoPackage, anything GDAL reads) into EPSG:4326.

The CRS comes from the file. A file without one is refused unless the caller names it; a file
whose coordinates cannot be longitude/latitude although its CRS says so (the Boston precincts:
MA State Plane feet in a GeoJSON without a ``crs`` member, which readers take as WGS84) is
refused with the range that gave it away. Nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
from pyproj.exceptions import CRSError

from .errors import ImportRefused


@dataclass
class GeoFile:
    """The features of one layer in EPSG:4326, with what was decided about the CRS."""

    path: Path
    frame: gpd.GeoDataFrame
    file_crs: str | None
    used_crs: str
    notes: list[str] = field(default_factory=list)


def _crs_name(crs: pyproj.CRS | None) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _parse_crs(text: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(text)
    except CRSError:
        raise ImportRefused(f"--crs {text!r} is not a CRS pyproj knows (try EPSG:4490)") from None


def read_geofile(path: Path, layer: str | None = None, crs: str | None = None) -> GeoFile:
    """Read one polygon layer and reproject it to EPSG:4326; ImportRefused on any doubt."""
    if not path.exists():
        raise ImportRefused(f"{path}: no such file")
    try:
        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportRefused(f"{path}: not a readable GIS file: {reason}") from None
    if layer is None and len(layers) > 1:
        raise ImportRefused(
            f"{path} has {len(layers)} layers ({', '.join(layers)}): choose one with --layer"
        )
    if layer is not None and layer not in layers:
        raise ImportRefused(f"{path}: no layer {layer!r} (layers: {', '.join(layers)})")
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportRefused(f"{path}: cannot read features: {reason}") from None
    if len(frame) == 0:
        raise ImportRefused(f"{path}: the layer has no features")

    notes: list[str] = []
    file_crs = _crs_name(frame.crs)
    bounds = _finite_bounds(frame)
    if crs is not None:
        wanted = _parse_crs(crs)
        if frame.crs is not None and not frame.crs.equals(wanted):
            notes.append(f"the file declares {file_crs}; --crs {_crs_name(wanted)} overrides it")
        frame = frame.set_crs(wanted, allow_override=True)
    elif frame.crs is None:
        hint = (
            " (the coordinates look projected)" if bounds is not None and _projected(bounds) else ""
        )
        raise ImportRefused(
            f"{path} has no CRS{hint}: name it with --crs (e.g. --crs EPSG:4490 for CGCS2000 "
            f"lon/lat, --crs EPSG:4326 for WGS84)"
        )
    used = frame.crs
    if bounds is not None:
        if used.is_geographic and _projected(bounds):
            raise ImportRefused(
                f"{path}: coordinates up to x={_fmt(bounds[2])}, y={_fmt(bounds[3])} are far "
                f"outside longitude/latitude range, but the CRS is {_crs_name(used)}"
                f"{' (a GeoJSON without a crs member is read as WGS84)' if crs is None else ''}"
                f": the data are projected; give their real CRS with --crs "
                f"(e.g. --crs EPSG:2249 for Massachusetts State Plane feet)"
            )
        if not used.is_geographic and not _projected(bounds):
            raise ImportRefused(
                f"{path}: every coordinate is within ±180/±90 although the CRS "
                f"{_crs_name(used)} is projected: the data look like longitude/latitude; "
                f"give --crs EPSG:4326 (or EPSG:4490)"
            )
    if not used.equals(pyproj.CRS.from_epsg(4326)):
        notes.append(f"reprojected from {_crs_name(used)} to EPSG:4326")
        frame = frame.to_crs(4326)
    return GeoFile(
        path=path, frame=frame, file_crs=file_crs, used_crs=_crs_name(used) or "", notes=notes
    )


def _finite_bounds(frame: gpd.GeoDataFrame) -> np.ndarray | None:
    geoms = frame.geometry
    geoms = geoms[geoms.notna() & ~geoms.is_empty]
    if len(geoms) == 0:
        return None
    b = geoms.total_bounds
    return b if np.isfinite(b).all() else None


def _projected(b: np.ndarray) -> bool:
    return bool(b[0] < -180 or b[2] > 180 or b[1] < -90 or b[3] > 90)


def _fmt(v: float) -> str:
    return f"{v:,.0f}"
