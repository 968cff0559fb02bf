"""What a ticket import read, loaded, skipped and rejected; where its rejects go."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import ImportRefused

if TYPE_CHECKING:
    from .parse import Rows


class RowRate:
    """The rate and JSON form of a row import's report (ticket, staff, department), a
    dataclass with ``rows`` and ``seconds`` (``seconds["total"]``: the whole import)."""

    rows: int
    seconds: dict[str, float]

    @property
    def rows_per_s(self) -> float:
        """Rows of the file handled per second of the whole import (read to commit)."""
        return self.rows / max(1e-9, self.seconds.get("total", 0.0))

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values (with the rate)."""
        return {**asdict(self), "rows_per_s": round(self.rows_per_s)}  # type: ignore[call-overload]


@dataclass
class TicketImportReport(RowRate):
    """What a ticket import read, loaded, skipped and rejected, and how long each phase took."""

    file: str
    mapping: str
    namespace: str
    rows: int = 0
    loaded: int = 0
    already_loaded: int = 0
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    closed: int = 0
    open: int = 0
    open_past_due: int = 0
    multi_grid_points: int = 0
    ignored_closing_times: int = 0
    # Closed rows loaded although closed before they opened, within the mapping's tolerance
    # (closed_at set to the open time, 'clock_skew' in ticket.import_flags), and the largest
    # such gap.
    clock_skew: int = 0
    clock_skew_max_s: float = 0.0
    clock_skew_tolerance_s: float = 0.0
    # The zone that reads the file's local times (the mapping's) and the one that decides the
    # rollup days and ticket numbers (the deployment's); how many loaded tickets fall on another
    # local day in the second than in the first.
    mapping_timezone: str = ""
    timezone: str = ""
    tickets_on_another_day: int = 0
    warnings: list[str] = field(default_factory=list)
    seeded_item_list: bool = False
    rejects_path: str | None = None
    dry_run: bool = False
    import_run_id: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def default_rejects_path(path: Path, suffixes: Sequence[str] = (".gz", ".csv", ".txt")) -> Path:
    """``<name>.rejects.csv`` next to the input (``suffixes`` dropped, in this order)."""
    name = path.name
    for suffix in suffixes:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return path.with_name(f"{name}.rejects.csv")


def check_writable(path: Path) -> None:
    """Refuse a rejects path whose directory is missing or not writable (before any work)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ImportRefused(f"rejects file {path}: directory {parent} does not exist")
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(parent, os.W_OK):
        raise ImportRefused(f"rejects file {path} is not writable: choose one with --rejects")


def write_rejects(path: Path, table: pa.Table, rows: Rows) -> None:
    """The refused rows as CSV: original columns, ``source_row`` (1-based), ``reject_reason``."""
    bad = np.flatnonzero(~rows.ok)
    out = table.take(pa.array(bad, pa.int64()))
    out = out.append_column("source_row", pa.array(bad + 1, pa.int64()))
    out = out.append_column("reject_reason", pa.array(rows.reason[bad].tolist(), pa.string()))
    pacsv.write_csv(out, path)
