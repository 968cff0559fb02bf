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

from .features import EXCLUSIVE_KINDS, GRID_TYPES
from .options import GridImportOptions, GridImportReport
from .report import format_report
from .run import import_grids

__all__ = [
    "EXCLUSIVE_KINDS",
    "GRID_TYPES",
    "GridImportOptions",
    "GridImportReport",
    "format_report",
    "import_grids",
]
