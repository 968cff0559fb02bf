"""What a micro-grid import is told (``MicroGridImportOptions``) and what it reports
(``MicroGridImportReport``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# The columns of a micro-grid file (gridscope.imports.columns.MICRO_GRIDS keys) and the
# option that names each one's attribute when the heading is not one the declaration knows.
FIELD_OPTIONS = {
    "code": "code_field",
    "name": "name_field",
    "grid": "grid_field",
    "households": "households_field",
    "household_groups": "household_groups_field",
}


@dataclass
class MicroGridImportOptions:
    """How to read a micro-grid file. Field names are the file's attribute names; a field not
    named is found by its heading (微网格编码, 所属网格编码, 户数, 联户数 … or an alias,
    ``gridscope.imports.columns.MICRO_GRIDS``)."""

    code_field: str | None = None
    code_prefix: str = ""
    code_width: int | None = None
    grid_field: str | None = None
    grid_prefix: str = ""
    grid_width: int | None = None
    name_field: str | None = None
    name_prefix: str = ""
    households_field: str | None = None
    household_groups_field: str | None = None
    code_rule: str = "national"
    crs: str | None = None
    gcj02: bool = False
    layer: str | None = None
    valid_from: datetime | None = None
    decision_no: str | None = None  # 决定文号: required to change a current micro-grid
    # A micro-grid may stick out of its grid by at most this many m² (digitising noise along a
    # shared edge), or by at most this share of its own area when tolerance_share > 0; beyond
    # both it is refused with the area stated. Never clipped.
    tolerance_m2: float = 1.0
    tolerance_share: float = 0.0
    min_area_m2: float = 1.0  # overlaps/uncovered pieces below this are counted, not listed
    rejects: Path | None = None  # default: <file>.rejects.geojson next to the file
    dry_run: bool = False
    strict: bool = False
    progress: bool = False

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("progress")
        if self.valid_from is not None:
            d["valid_from"] = self.valid_from.isoformat()
        if self.rejects is not None:
            d["rejects"] = str(self.rejects)
        return {k: v for k, v in d.items() if v not in (None, "", False)}


@dataclass
class MicroGridImportReport:
    """What an import found and did; JSON-serialisable via ``as_json``."""

    file: str
    features: int = 0
    crs: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # column key → the file's attribute
    inserted: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    repaired: list[dict[str, Any]] = field(default_factory=list)
    # How the micro-grids sit in their grids: counts, the accepted ones that stick out within
    # the tolerance, the refused ones' total area outside (see nesting.py).
    nesting: dict[str, Any] = field(default_factory=dict)
    # Per parent grid: overlaps between its micro-grids and the grid area they leave uncovered.
    grids: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    decision_no: str | None = None
    valid_from: str | None = None
    needs_decision: list[str] = field(default_factory=list)
    rejects_path: str | None = None
    dry_run: bool = False
    import_run_id: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    rows_per_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def overlap_count(self) -> int:
        return sum(g["overlaps"]["count"] for g in self.grids.values())

    @property
    def uncovered_count(self) -> int:
        return sum(g["gaps"]["count"] for g in self.grids.values())
