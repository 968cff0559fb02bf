"""Each micro-grid's parent grid: named by the file (the grid field) or derived from the code,
then checked: the code must follow the code rule under that parent, and the parent must be a
current grid.

Derived parents: under the national rule the code's first 15 of 18 digits; under another rule
(the code rule is pluggable and says only that a child's code extends its parent's) the longest
current grid code that the micro-grid code extends — e.g. the Boston precinct ``US-MA-BOS-W0113``
lies in ward ``US-MA-BOS-W01``.
"""

from __future__ import annotations

from typing import Any

import psycopg

from domain.codes import get_code_rule

from .features import MicroFeature
from .options import MicroGridImportOptions, MicroGridImportReport


def _prefixes(code: str) -> list[str]:
    return [code[:n] for n in range(1, len(code))]


def resolve_parents(
    conn: psycopg.Connection,
    features: list[MicroFeature],
    opts: MicroGridImportOptions,
    report: MicroGridImportReport,
) -> tuple[list[MicroFeature], dict[str, dict[str, Any]]]:
    """(the features whose parent is a current grid and whose code fits it, {grid code: current
    grid row with "wkb"}); the others are refused in ``report`` with the reason."""
    from queries import micro_grids as q

    rule = get_code_rule(opts.code_rule)
    wanted: set[str] = set()
    for f in features:
        if f.grid:
            wanted.add(f.grid)
        elif opts.code_rule == "national":
            wanted.add(f.code[:-3])
        else:
            wanted.update(_prefixes(f.code))
    grids = q.current_grids(conn, sorted(wanted))
    kept: list[MicroFeature] = []
    for f in features:
        if not f.grid:
            if opts.code_rule == "national":
                f.grid = f.code[:-3]
            else:
                f.grid = next((p for p in reversed(_prefixes(f.code)) if p in grids), "")
                if not f.grid:
                    _refuse(
                        report,
                        f,
                        "no current grid code is a prefix of the code: name the parent with"
                        " --grid-field (or a 所属网格编码 column)",
                    )
                    continue
        if (err := rule.validate_micro_grid(f.code, f.grid)) is not None:
            _refuse(report, f, err)
            continue
        if f.grid not in grids:
            _refuse(report, f, f"parent grid {f.grid} is not a current grid")
            continue
        f.row["grid_code"] = f.grid
        kept.append(f)
    used = {f.grid for f in kept}
    return kept, {code: row for code, row in grids.items() if code in used}


def _refuse(report: MicroGridImportReport, f: MicroFeature, reason: str) -> None:
    report.rejected.append(
        {"feature": f.index + 1, "code": f.code, "grid": f.grid or None, "reason": reason}
    )
