"""`gridscope import micro-grids FILE`: micro-grid (微网格, JX 6) boundaries from a GIS file into
versioned ``micro_grid`` rows, nested in their grids.

Order of work: read the layer and settle its CRS (``geofile``, as the grid import), optionally
convert GCJ-02 vertices to WGS84, find the attributes by their headings
(``gridscope.imports.columns.MICRO_GRIDS``: 微网格编码, 所属网格编码, 微网格名称, 户数, 联户数 or
an alias) unless options name them, build each feature's code, parent grid, name, households
and household groups (联户, AR 11), make geometries valid (each repair reported), refuse
duplicate codes; then against the database: the parent (named or derived from the code) must
be a current grid and the code must follow the code rule under it; the micro-grid must nest in
its grid (``nesting``: what sticks out beyond the tolerance is refused with its area, never
clipped); versions as for grids (new code inserted and recorded in ``issued_code`` as
'micro_grid'; a changed one closes its current version and adds a new one, which needs the
decision number; unchanged skipped; codes never reused). Overlaps between the micro-grids of a
grid and the grid area they leave uncovered are reported. All writes, the ``import_run`` row
and the audit event ``micro_grid_import`` happen in one transaction; the data version is bumped
after commit. The refused features go to a rejects file (GeoJSON or CSV).
"""

from __future__ import annotations

from .options import MicroGridImportOptions, MicroGridImportReport
from .report import format_report
from .run import import_micro_grids

__all__ = [
    "MicroGridImportOptions",
    "MicroGridImportReport",
    "format_report",
    "import_micro_grids",
]
