"""`gridscope import staff|departments FILE` and `gridscope import template KIND`: the people
and departments of a town from CSV or xlsx files, and the xlsx templates of every onboarding
file (docs/imports-roster.md)."""

from __future__ import annotations

from pathlib import Path

import click

from gridscope.imports.columns import KINDS

from .common import AppContext, fail, pass_app
from .imports import import_group


def _file_options(func):
    """The options both imports take."""
    for option in reversed(
        (
            click.option(
                "--rejects",
                "rejects_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="CSV for the refused rows with their reasons  "
                "[default: <file>.rejects.csv next to FILE]",
            ),
            click.option(
                "--encoding", help="Text encoding of a CSV FILE (default: UTF-8, else GB18030)."
            ),
            click.option("--sheet", help="Sheet of an xlsx FILE to read (default: the first)."),
            click.option(
                "--dry-run",
                is_flag=True,
                help="Check every row, write the rejects file; load nothing.",
            ),
            click.option("--quiet", is_flag=True, help="No progress bar."),
        )
    ):
        func = option(func)
    return func


def _check_encoding(encoding: str | None) -> None:
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise click.BadParameter(
                f"unknown encoding {encoding!r}", param_hint="--encoding"
            ) from None


def _print(report) -> None:
    from gridscope.imports.roster import format_report

    for line in format_report(report):
        click.echo(line)


@import_group.command("staff")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@_file_options
@click.option(
    "--retire-missing",
    is_flag=True,
    help="Retire the active staff of the jurisdiction the file does not list: close their "
    "assignments and mark them inactive (default: leave them, and count them).",
)
@pass_app
def import_staff_cmd(
    app: AppContext,
    file: Path,
    rejects_path: Path | None,
    encoding: str | None,
    sheet: str | None,
    dry_run: bool,
    quiet: bool,
    retire_missing: bool,
) -> None:
    """Import grid staff and their assignments from a CSV or xlsx FILE (see the template)."""
    from gridscope.imports import ImportRefused
    from gridscope.imports.roster import import_staff
    from queries.db import DatabaseUnavailable

    from .user import cli_actor

    _check_encoding(encoding)
    try:
        report = import_staff(
            app.settings,
            file,
            rejects_path=rejects_path,
            encoding=encoding,
            sheet=sheet,
            dry_run=dry_run,
            retire_missing=retire_missing,
            progress=not quiet,
            now=app.clock.now(),
            actor=cli_actor(app),
        )
    except (ImportRefused, DatabaseUnavailable) as exc:
        fail(str(exc))
    _print(report)


@import_group.command("departments")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@_file_options
@pass_app
def import_departments_cmd(
    app: AppContext,
    file: Path,
    rejects_path: Path | None,
    encoding: str | None,
    sheet: str | None,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Import departments (tree, lead and assist categories) from a CSV or xlsx FILE."""
    from gridscope.imports import ImportRefused
    from gridscope.imports.roster import import_departments
    from queries.db import DatabaseUnavailable

    from .user import cli_actor

    _check_encoding(encoding)
    try:
        report = import_departments(
            app.settings,
            file,
            rejects_path=rejects_path,
            encoding=encoding,
            sheet=sheet,
            dry_run=dry_run,
            progress=not quiet,
            now=app.clock.now(),
            actor=cli_actor(app),
        )
    except (ImportRefused, DatabaseUnavailable) as exc:
        fail(str(exc))
    _print(report)


@import_group.command("template")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the xlsx  [default: gridscope-KIND-template.xlsx here]",
)
def import_template_cmd(kind: str, output: Path | None) -> None:
    """Write the xlsx template of a KIND of onboarding file (headings, example, notes sheet)."""
    from gridscope.imports.templates import template_bytes, template_filename

    output = output or Path(template_filename(kind))
    try:
        output.write_bytes(template_bytes(kind))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    click.echo(f"{output}: the {kind} template (sheet 说明 lists every column)")
