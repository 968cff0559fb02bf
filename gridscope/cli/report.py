"""`gridscope report`: the monthly situation report (PDF and xlsx).

    gridscope report --jurisdiction 330402 --period 2026-10 [--format pdf,xlsx] [--out DIR]

The data is the leadership page's (``queries.analytics.collect``) for the jurisdiction and
period, as of the command's clock (setting ``fixed_now`` honoured). Writes
``report_<code>_<period>.pdf|xlsx`` into ``--out``, prints their paths and the seconds taken,
and records an ``analytics_report`` audit row. Without ``--period`` the report is of the last
whole month (what a job run on the 1st wants). Bad input (period, jurisdiction outside the
deployment, unknown format) is a usage error (exit 2); Chromium missing or the database away,
one line and exit 1.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from .common import AppContext, fail, main, pass_app
from .user import cli_actor

_ROLES = click.Choice(["leader", "analyst", "dispatcher", "admin"])


def _period(text: str | None, now, tz):
    """The period to report: ``text`` parsed (cut at now), or the last whole month."""
    from domain.analytics.periods import PeriodError, containing, parse_period

    try:
        if text is None or not text.strip():
            return containing("month", now.astimezone(tz).date()).previous()
        return parse_period(text).cut(now, tz)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


def _scope(code: str, deployment: str):
    """The report's scope: ``code`` when it lies inside the deployment's jurisdiction."""
    from queries.scope import Scope, ScopeError

    code = code.strip()
    if not code:
        raise click.BadParameter(
            "empty: give a region or grid code, e.g. 330402", param_hint="--jurisdiction"
        )
    try:
        scope = Scope(code)
        bound = Scope(deployment)
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from None
    if not scope.within(bound):
        raise click.BadParameter(
            f"{code!r} is outside this deployment's jurisdiction {deployment!r}"
            " (setting jurisdiction)",
            param_hint="--jurisdiction",
        )
    return scope


@main.command("report")
@click.option(
    "--jurisdiction", "code", required=True, help="Region or grid code the report is about."
)
@click.option(
    "--period",
    default=None,
    help="2026-10 (also 2026-W43, 2026-Q3, 2026, 2026-10-01..2026-10-15); default: last month.",
)
@click.option(
    "--format", "formats", default="pdf,xlsx", show_default=True, help="pdf, xlsx or both."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory the files are written to (created if missing).",
)
@click.option(
    "--role",
    type=_ROLES,
    default="leader",
    show_default=True,
    help="Reader whose tier personal columns (worker names, phones) are masked for.",
)
@pass_app
def report(
    app: AppContext, code: str, period: str | None, formats: str, out: Path, role: str
) -> None:
    """Write the situation report of a jurisdiction and period as PDF and/or xlsx."""
    from domain.access import tier_of
    from gridscope.report import ReportError, parse_formats, write_report
    from queries import audit as audit_q
    from queries.accounts import region_or_grid_exists
    from queries.analytics.collect import collect
    from queries.analytics.query import Query
    from queries.db import DatabaseUnavailable, connect

    started = time.perf_counter()
    settings = app.settings
    try:
        wanted = parse_formats(formats)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    now = app.clock.now()
    tz = settings.tz
    chosen = _period(period, now, tz)
    scope = _scope(code, settings.jurisdiction)
    try:
        with connect(settings) as conn:
            if not region_or_grid_exists(conn, scope.prefix):
                raise click.BadParameter(
                    f"{scope.prefix!r} names no current region or grid", param_hint="--jurisdiction"
                )
            data = collect(conn, Query(scope, chosen, now, tz, settings))
            conn.rollback()  # the reads' transaction: the audit row goes in its own
            try:
                paths = write_report(
                    data, wanted, out, org=settings.title, tier=tier_of(role), tz=tz
                )
            except ReportError as exc:
                fail(str(exc))
            event = cli_actor(app).event(
                "analytics_report",
                scope.prefix,
                object="report." + ",".join(wanted),
                detail={
                    "period": chosen.key,
                    "formats": list(wanted),
                    "files": [p.name for p in paths],
                    "reader_role": role,
                },
            )
            audit_q.write(conn, event, now)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    seconds = time.perf_counter() - started
    for p in paths:
        click.echo(str(p))
    click.echo(
        f"report: {data.get('meta', {}).get('area_name') or scope.prefix} {chosen.label_zh}"
        f" ({chosen.key}) in {seconds:.1f} s"
    )
