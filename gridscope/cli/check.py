"""`gridscope check staffing`: the staffing report (docs/staffing.md).

    gridscope check staffing [--jurisdiction CODE] [--format text|csv|json] [--fail-on-violation]

The grids that break the staffing rules (a grid chief, full-time workers in urban comprehensive
grids, a worker in every grid), the grids whose public contact is missing, the workers with no
grid, assignments past their end date, micro-grids without a chief and an empty supervision
hotline (setting ``hotline``), as of the command's clock (setting ``fixed_now`` honoured). The
rules and their articles are domain/staffing.py's table. Exit status: 0, or 1 with
``--fail-on-violation`` when a violation-level finding exists (for cron jobs and CI of a
deployment's data); a jurisdiction outside the deployment is a usage error (2), the database
away one line and 1. Staff names are public information by law (DOMAIN.md §2), so the report is
not an audited read.
"""

from __future__ import annotations

import json
import sys

import click

from .common import AppContext, fail, local_minute, main, pass_app
from .report import _scope


@main.group()
def check() -> None:
    """Checks of the loaded data against the regulations' rules."""


@check.command("staffing")
@click.option(
    "--jurisdiction",
    "code",
    default=None,
    help="Region or grid code to check (default: the deployment's jurisdiction, all of it).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
    help="text: summary and list; csv: the list (UTF-8); json: both.",
)
@click.option(
    "--fail-on-violation",
    is_flag=True,
    help="Exit 1 when any violation (违规) is found; notices (提示) never fail.",
)
@pass_app
def staffing(app: AppContext, code: str | None, fmt: str, fail_on_violation: bool) -> None:
    """Report the grids and people that break the staffing rules (JX 7, ZJ 16, PY 10, …)."""
    from domain.staffing_report import findings_csv
    from queries.accounts import region_or_grid_exists
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope
    from queries.screen.basic import jurisdiction_name
    from queries.staffing import staffing_report

    settings = app.settings
    scope = _scope(code, settings.jurisdiction) if code is not None else None
    now = app.clock.now()
    tz = settings.tz
    try:
        with connect(settings) as conn:
            if scope is None:
                scope = Scope(settings.jurisdiction)
            elif not region_or_grid_exists(conn, scope.prefix):
                raise click.BadParameter(
                    f"{scope.prefix!r} names no current region or grid", param_hint="--jurisdiction"
                )
            report = staffing_report(conn, scope, now, now.astimezone(tz).date(), settings.hotline)
            name = jurisdiction_name(conn, scope)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    as_of = local_minute(now, tz)
    if fmt == "csv":
        sys.stdout.write(findings_csv(report.findings))
    elif fmt == "json":
        data = _json(report, scope.prefix, name, as_of)
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
    else:
        _text(report, scope.prefix, name, as_of)
    if fail_on_violation and report.summary.violations:
        sys.exit(1)


def _json(report, prefix: str, name: str | None, as_of: str) -> dict:
    return {
        "jurisdiction": prefix,
        "jurisdiction_name": name,
        "as_of": as_of,
        "grids": report.grids,
        "violations": report.summary.violations,
        "notices": report.summary.notices,
        "grids_with_violations": report.grids_with_violations,
        "summary": report.summary.rows(),
        "findings": [f.row() for f in report.findings],
    }


def _text(report, prefix: str, name: str | None, as_of: str) -> None:
    s = report.summary
    where = f"{name or '—'} ({prefix or 'all'})"
    grids = f"{report.grids:,} grid" + ("" if report.grids == 1 else "s")
    click.echo(f"staffing report: {where}, {grids}, as of {as_of}")
    click.echo("")
    for r in s.rows():
        click.echo(
            f"  {r['count']:>7,}  {r['severity_zh']}  {r['rule']:<24} {r['name']}（{r['clauses']}）"
        )
    click.echo("")
    click.echo(
        f"violations (违规): {s.violations:,} ({report.grids_with_violations:,} grids);"
        f" notices (提示): {s.notices:,}"
    )
    if not report.findings:
        return
    click.echo("")
    for f in report.findings:
        row = f.row()
        place = "/".join(p for p in (row["town"], row["community"]) if p)
        who = " ".join(p for p in (row["staff_no"], row["person"], row["role"]) if p)
        subject = "  ".join(p for p in (row["grid_code"], row["grid_name"], place, who) if p)
        subject = subject or "（全局）"
        click.echo(f"{row['severity_zh']}  {row['rule']:<24} {subject}  {row['missing']}")
