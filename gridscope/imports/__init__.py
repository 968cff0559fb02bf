"""File imports: grid boundaries from GIS files, tickets from CSV exports (docs/imports.md).

The packages ``grids`` (options, features, run, report) and ``tickets`` (parse, join, tables,
rollup, report, run) hold the two pipelines (``micro`` and ``roster`` the onboarding ones;
``geo_run`` what the grid and micro-grid runs share), ``mapping`` the TOML column mappings
(shipped ones in ``mappings/``), ``geofile``/``csv_source`` the readers, ``topology`` the
overlap and gap checks; the GCJ-02 datum conversion is ``domain.geo.gcj02`` and the ticket
rules (numbers, warning, on time) come from ``domain``. Every SQL statement they run is in
``queries.imports``.
"""

from .errors import ImportRefused

__all__ = ["ImportRefused"]
