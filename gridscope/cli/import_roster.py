"""`gridscope import staff|departments FILE` and `gridscope import template KIND`: the people
and departments of a town from CSV or xlsx files, and the xlsx templates of every onboarding
file (docs/imports-roster.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gridscope.imports.columns import KINDS

from .common import AppContext, fail, option_group, pass_app
from .imports import check_encoding, import_group, run_import

if TYPE_CHECKING:
    from gridscope.imports.roster import RosterReport

# The options both imports take.
FILE_OPTIONS = option_group(
    click.option(
        "--rejects",
        "rejects_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="CSV for the refused rows with their reasons  "
        "[default: <file>.rejects.csv next to FILE]",
    ),
    click.option("--encoding", help="Text encoding of a CSV FILE (default: UTF-8, else GB18030)."),
    click.option("--sheet", help="Sheet of an xlsx FILE to read (default: the first)."),
    click.option(
        "--dry-run",
        is_flag=True,
        help="Check every row, write the rejects file; load nothing.",
    ),
    click.option("--quiet", is_flag=True, help="No progress bar."),
)


def _run(
    app: AppContext,
    run: Callable[..., RosterReport],
    file: Path,
    *,
    encoding: str | None,
    quiet: bool,
    **options: Any,
) -> None:
    """``run`` (``import_staff`` or ``import_departments``) on ``file`` with the command's
    options, signed by the command line; its report printed."""
    from gridscope.imports.roster import format_report

    from .user import cli_actor

    check_encoding(encoding)
    report = run_import(
        run,
        app.settings,
        file,
        encoding=encoding,
        progress=not quiet,
        now=app.clock.now(),
        actor=cli_actor(app),
        **options,
    )
    for line in format_report(report):
        click.echo(line)


@import_group.command("staff")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@FILE_OPTIONS
@click.option(
    "--retire-missing",
    is_flag=True,
    help="Retire the active staff of the jurisdiction the file does not list: close their "
    "assignments and mark them inactive (default: leave them, and count them).",
)
@pass_app
def import_staff_cmd(app: AppContext, file: Path, **options: Any) -> None:
    """Import grid staff and their assignments from a CSV or xlsx FILE (see the template)."""
    from gridscope.imports.roster import import_staff

    _run(app, import_staff, file, **options)


@import_group.command("departments")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@FILE_OPTIONS
@pass_app
def import_departments_cmd(app: AppContext, file: Path, **options: Any) -> None:
    """Import departments (tree, lead and assist categories) from a CSV or xlsx FILE."""
    from gridscope.imports.roster import import_departments

    _run(app, import_departments, file, **options)


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
