"""The options `gridscope import grids` and `gridscope import micro-grids` share: the same flag,
meaning and help in both (where the help names the kind of boundary, it is a parameter). The
step both run, the import with its report, is ``imports.run_and_report``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from .common import option_group

LAYER = click.option("--layer", help="Layer to read (required when the file has several).")
CODE_WIDTH = click.option(
    "--code-width",
    type=click.IntRange(1, 32),
    help="Zero-pad numeric codes to this width before the prefix is added.",
)


def adjustment_options(noun: str, *, gcj02: bool | None) -> Callable:
    """--gcj02 (default ``gcj02``: None where a mapping file may set it), --valid-from and
    --decision, the number a change of a current ``noun`` needs."""
    return option_group(
        click.option(
            "--gcj02/--no-gcj02",
            default=gcj02,
            help="The vertices are GCJ-02 (AutoNavi/Tencent web maps): convert to WGS84.",
        ),
        click.option(
            "--valid-from",
            type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
            help="Start of the new versions (the decision's effective date), local time "
            "(default: now; first versions of new codes: since always); not after now.",
        ),
        click.option(
            "--decision",
            "decision_no",
            metavar="NO",
            help="Number of the decision (决定文号) approving the adjustment: required when a "
            f"current {noun} changes; stored on every version this import creates.",
        ),
    )


OUTCOME = option_group(
    click.option("--dry-run", is_flag=True, help="Check and report everything; write nothing."),
    click.option(
        "--strict", is_flag=True, help="Refuse the whole file when any feature is refused."
    ),
    click.option(
        "--report",
        "report_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Also write the full report as JSON here.",
    ),
)
