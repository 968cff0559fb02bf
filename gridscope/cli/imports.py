"""`gridscope import`: grids and tickets from files (docs/imports.md), and what every import
command shares: the --encoding check, the run whose refusal ends the command, the report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from domain.codes import CODE_RULES, REGION_LEVELS

from .common import AppContext, fail, main, pass_app
from .geo_options import CODE_WIDTH, LAYER, OUTCOME, adjustment_options
from .user import cli_actor


@main.group("import")
def import_group() -> None:
    """Import grids and tickets from files (docs/imports.md)."""


def check_encoding(encoding: str | None) -> None:
    """A usage error (exit 2) for an --encoding Python does not know, before any work."""
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise click.BadParameter(
                f"unknown encoding {encoding!r}", param_hint="--encoding"
            ) from None


def run_import(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)``, an import; a refused file or an unreachable database ends the
    command with its one-line message (exit 1)."""
    from gridscope.imports import ImportRefused
    from queries.db import DatabaseUnavailable

    try:
        return run(*args, **kwargs)
    except (ImportRefused, DatabaseUnavailable) as exc:
        fail(str(exc))


def run_and_report(
    app: AppContext,
    run: Callable[..., Any],
    format_report: Callable[[Any], Iterable[str]],
    file: Path,
    opts: Any,
    report_path: Path | None,
) -> None:
    """A boundary import (``import_grids``, ``import_micro_grids``) of ``file`` with ``opts``,
    signed by the command line; its report printed and, with --report, written as JSON."""
    report = run_import(
        run, app.settings, file, opts, echo=click.echo, now=app.clock.now(), actor=cli_actor(app)
    )
    for line in format_report(report):
        click.echo(line)
    if report_path is not None:
        try:
            report_path.write_text(
                json.dumps(report.as_json(), ensure_ascii=False, indent=1, default=str),
                encoding="utf-8",
            )
        except OSError as exc:
            fail(f"cannot write the report to {report_path}: {exc.strerror or exc}")


def _parent_option(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    code, sep, name = value.partition(":")
    if not sep or not code.strip() or not name.strip():
        raise click.BadParameter(
            "expected CODE:NAME, e.g. US-MA-BOS:Boston", param_hint="--create-parent"
        )
    return code.strip(), name.strip()


@import_group.command("grids")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--mapping",
    "mapping_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML file whose [grids] table sets any option below (options win).",
)
@LAYER
@click.option("--code-field", help="Attribute holding the grid code.")
@click.option("--code-prefix", help="Text put before every code (e.g. the parent code + '-').")
@CODE_WIDTH
@click.option("--name-field", help="Attribute holding the grid name (default: the code).")
@click.option("--name-prefix", help="Text put before every name (e.g. 'Ward ').")
@click.option("--community-field", help="Attribute holding each grid's community code.")
@click.option(
    "--community",
    "--region-code",
    "community",
    help="Community/region code every imported grid belongs to.",
)
@click.option(
    "--create-parent",
    metavar="CODE:NAME",
    help="Create this region (without boundary) when missing and attach the grids.",
)
@click.option(
    "--parent-level",
    type=click.Choice(REGION_LEVELS),
    default=None,
    help="Level of the region made by --create-parent.  [default: community]",
)
@click.option("--type-field", help="Attribute holding comprehensive/综合 or exclusive/专属.")
@click.option("--exclusive-kind-field", help="Attribute holding the kind of exclusive grids.")
@click.option(
    "--grid-type",
    type=click.Choice(["comprehensive", "exclusive"]),
    default=None,
    help="Type of grids without a type attribute.  [default: comprehensive]",
)
@click.option("--households-field", help="Attribute holding the number of households.")
@click.option("--population-field", help="Attribute holding the population.")
@click.option(
    "--code-rule",
    type=click.Choice(sorted(CODE_RULES)),
    default=None,
    help="Code rule the codes must follow.  [default: national]",
)
@click.option(
    "--crs",
    help="CRS of the coordinates (required when the file has none; "
    "overrides a wrong one), e.g. EPSG:4490.",
)
@adjustment_options("grid", gcj02=None)  # None: the mapping file's value, if any
@click.option(
    "--min-area",
    "min_area_m2",
    type=click.FloatRange(min=0),
    default=None,
    help="Overlaps/gaps smaller than this many m² are counted, not listed. [default: 1]",
)
@OUTCOME
@pass_app
def import_grids_cmd(
    app: AppContext, file: Path, mapping_file: Path | None, report_path: Path | None, **options
) -> None:
    """Import grid boundaries from a GeoJSON, Shapefile or GeoPackage FILE.

    Changing a current grid (boundary or any attribute) is a boundary adjustment: it needs
    --decision (and usually --valid-from, the decision's effective date)."""
    from gridscope.imports import ImportRefused
    from gridscope.imports.grids import GridImportOptions, format_report, import_grids
    from gridscope.imports.mapping import load_grid_mapping

    settings = app.settings
    try:
        values = load_grid_mapping(mapping_file).values if mapping_file else {}
    except ImportRefused as exc:
        fail(str(exc))
    options["create_parent"] = _parent_option(options["create_parent"])
    values.update({k: v for k, v in options.items() if v is not None and v is not False})
    values.setdefault("dry_run", False)
    values.setdefault("strict", False)
    if not values.get("code_field"):
        raise click.UsageError("name the attribute holding the grid code: --code-field")
    rule = values.get("code_rule", "national")
    if rule != "national" and not (
        values.get("community") or values.get("community_field") or values.get("create_parent")
    ):
        raise click.UsageError(
            f"with the {rule} code rule say which community the grids belong to: --community, "
            f"--community-field or --create-parent"
        )
    if values.get("valid_from") is not None:
        values["valid_from"] = values["valid_from"].replace(tzinfo=settings.tz)
    opts = GridImportOptions(**values)
    run_and_report(app, import_grids, format_report, file, opts, report_path)


@import_group.command("tickets")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--mapping",
    "mapping_name",
    required=True,
    metavar="NAME_OR_PATH",
    help="A shipped mapping (open311, boston311) or the path of a mapping TOML file.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV for the refused rows with their reasons  [default: <file>.rejects.csv next to FILE]",
)
@click.option("--encoding", help="Text encoding of FILE (overrides the mapping's).")
@click.option(
    "--dry-run", is_flag=True, help="Check every row and write the rejects file; load nothing."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@pass_app
def import_tickets_cmd(
    app: AppContext,
    file: Path,
    mapping_name: str,
    rejects_path: Path | None,
    encoding: str | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Import service requests from a CSV FILE (plain or gzip) through a column mapping."""
    from gridscope.imports import ImportRefused
    from gridscope.imports.mapping import MappingError, load_ticket_mapping, resolve_mapping
    from gridscope.imports.tickets import import_tickets
    from queries.db import DatabaseUnavailable

    settings = app.settings
    try:
        resolve_mapping(mapping_name)
    except MappingError as exc:
        raise click.BadParameter(str(exc), param_hint="--mapping") from None
    check_encoding(encoding)
    try:
        mapping = load_ticket_mapping(mapping_name)
        r = import_tickets(
            settings,
            file,
            mapping,
            rejects_path=rejects_path,
            encoding=encoding,
            dry_run=dry_run,
            progress=not quiet,
            echo=click.echo,
        )
    except (ImportRefused, DatabaseUnavailable) as exc:
        fail(str(exc))
    prefix = "dry run: " if r.dry_run else ""
    verb = "would load" if r.dry_run else "loaded"
    click.echo(
        f"{prefix}{r.file}: {r.rows:,} rows; {verb} {r.loaded:,} ({r.closed:,} closed, "
        f"{r.open:,} open of which {r.open_past_due:,} past due); "
        f"{r.already_loaded:,} already loaded ({r.namespace}); {r.rejected:,} rejected"
    )
    for reason, n in sorted(r.reasons.items(), key=lambda kv: -kv[1]):
        click.echo(f"  rejected: {reason}: {n:,}")
    if r.multi_grid_points:
        click.echo(
            f"  {r.multi_grid_points:,} point(s) lie in more than one grid (overlap or "
            f"shared edge): assigned to the lowest grid code"
        )
    if r.ignored_closing_times:
        click.echo(f"  {r.ignored_closing_times:,} open row(s) carry a closing time: ignored")
    if r.seeded_item_list:
        click.echo("  the item list was empty: seeded the default categories (DOMAIN.md §3)")
    click.echo(f"  rejects: {r.rejects_path}")
    click.echo(
        f"{prefix}{r.rows_per_s:,.0f} rows/s ({r.seconds['total']:.1f} s: "
        + ", ".join(f"{k} {v:.2f}" for k, v in r.seconds.items() if k != "total")
        + ")"
    )
