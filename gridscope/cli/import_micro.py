"""`gridscope import micro-grids`: micro-grid boundaries from GIS files, nested in their grids
(docs/imports-micro-grids.md)."""

from __future__ import annotations

from pathlib import Path

import click

from domain.codes import CODE_RULES

from .common import AppContext, pass_app
from .geo_options import CODE_WIDTH, LAYER, OUTCOME, adjustment_options
from .imports import import_group, run_and_report


@import_group.command("micro-grids")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@LAYER
@click.option(
    "--code-field", help="Attribute holding the micro-grid code [default: heading 微网格编码/code]."
)
@click.option("--code-prefix", default="", help="Text put before every code.")
@CODE_WIDTH
@click.option(
    "--grid-field",
    help="Attribute holding the parent grid code [default: heading 所属网格编码/grid_code; "
    "without one the parent is derived from the code].",
)
@click.option("--grid-prefix", default="", help="Text put before every parent grid code.")
@click.option(
    "--grid-width",
    type=click.IntRange(1, 32),
    help="Zero-pad numeric parent grid codes to this width before the prefix is added.",
)
@click.option("--name-field", help="Attribute holding the name [default: heading 微网格名称].")
@click.option("--name-prefix", default="", help="Text put before every name.")
@click.option("--households-field", help="Attribute holding households [default: heading 户数].")
@click.option(
    "--household-groups-field",
    help="Attribute holding household groups (联户单位) [default: heading 联户数].",
)
@click.option(
    "--code-rule",
    type=click.Choice(sorted(CODE_RULES)),
    default="national",
    show_default=True,
    help="Code rule the codes must follow.",
)
@click.option("--crs", help="CRS of the coordinates (required when the file has none).")
@adjustment_options("micro-grid", gcj02=False)
@click.option(
    "--tolerance-m2",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="A micro-grid may stick out of its grid by this many m² (accepted, noted, not "
    "clipped); more is refused.",
)
@click.option(
    "--tolerance-share",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Also accept a micro-grid sticking out by at most this share of its own area "
    "(e.g. 0.001 = 0.1 %); 0: off.",
)
@click.option(
    "--min-area",
    "min_area_m2",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Overlaps/uncovered parts smaller than this many m² are counted, not listed.",
)
@click.option(
    "--rejects",
    type=click.Path(path_type=Path, dir_okay=False),
    help="GeoJSON (.geojson) or CSV (.csv) of the refused features with their reasons  "
    "[default: <file>.rejects.geojson next to FILE]",
)
@OUTCOME
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def import_micro_grids_cmd(
    app: AppContext, file: Path, report_path: Path | None, quiet: bool, **options
) -> None:
    """Import micro-grid boundaries (微网格) from a GeoJSON, Shapefile or GeoPackage FILE.

    Each micro-grid must nest in its grid: one sticking out by more than the tolerance is
    refused with the area outside (never clipped). Changing a current micro-grid needs
    --decision. Attributes are found by their headings (微网格编码, 所属网格编码, 微网格名称,
    户数, 联户数 or English aliases) unless the --*-field options name them."""
    from gridscope.imports.micro import MicroGridImportOptions, format_report, import_micro_grids

    settings = app.settings
    if options["valid_from"] is not None:
        options["valid_from"] = options["valid_from"].replace(tzinfo=settings.tz)
    opts = MicroGridImportOptions(**options, progress=not quiet)
    run_and_report(app, import_micro_grids, format_report, file, opts, report_path)
