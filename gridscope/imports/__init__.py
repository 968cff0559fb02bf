"""File imports: grid boundaries from GIS files, tickets from CSV exports (docs/imports.md).

``grids`` and ``tickets`` hold the two pipelines, ``mapping`` the TOML column mappings (shipped
ones in ``mappings/``), ``geofile``/``csv_source`` the readers, ``topology`` the overlap and gap
checks, ``gcj02`` the datum conversion. Every SQL statement they run is in ``queries.imports``.
"""

from .errors import ImportRefused

__all__ = ["ImportRefused"]
