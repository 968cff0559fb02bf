"""What a grid import is told (``GridImportOptions``) and what it reports (``GridImportReport``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


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
    decision_no: str | None = None  # 决定文号: required to change a current grid
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
    decision_no: str | None = None
    valid_from: str | None = None  # the effective date of new versions (ISO), None: now
    # Dry run only: the changed grids a real run would refuse to change without --decision.
    needs_decision: list[str] = field(default_factory=list)
    # Current micro-grids of the changed grids that stick out of the new boundary (m²).
    micro_grids_outside: list[dict[str, Any]] = field(default_factory=list)
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
