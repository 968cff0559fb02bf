"""`gridscope calendar`: the work calendar's holidays and make-up working days (调休) for the
years the chinese_calendar package does not know (docs/calendar.md).

``show`` prints a year month by month; ``set``/``unset`` enter or remove days and ranges;
``import`` reads a small CSV (and confirms the years it covers unless ``--no-confirm``);
``confirm`` records that a year's schedule is entered. Every change re-times the open tickets
whose clocks run over the changed days, and is audited (actor_kind 'cli', actor_name $USER), in
one transaction: on any error nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click

from .common import AppContext, fail, local_minute, main, pass_app
from .user import cli_actor

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
KIND_EN = {"holiday": "holiday", "makeup": "make-up", "workday": "workday", "weekend": "weekend"}


@main.group()
def calendar() -> None:
    """Work calendar: holidays and make-up working days (docs/calendar.md)."""


def _bad(exc: Any, hint: str) -> NoReturn:
    raise click.BadParameter(exc.message.en, param_hint=hint)


def _this_year(app: AppContext) -> int:
    return app.clock.now().astimezone(app.settings.tz).year


def _report(result: Any, verb: str) -> None:
    """The warnings (stderr) and the one summary line of a change."""
    from domain.clock.calendar_edit import describe_days

    p = result.plan
    for w in p.warnings:
        click.echo(f"warning: {w.en}", err=True)
    if p.skipped:
        click.echo(
            f"note: {p.skipped} day(s) inside the ranges were already of that kind (not stored)",
            err=True,
        )
    if not p.writes:
        click.echo(f"nothing to {verb}: the calendar already says so")
        return
    changed = describe_days(p.changed_days) if p.changed_days else "none (notes only)"
    click.echo(
        f"stored {len(p.upserts)} day(s), removed {len(p.deletes)}; working status changed on"
        f" {len(p.changed_days)} day(s): {changed}"
    )
    click.echo(
        f"re-timed {result.tickets} open ticket(s) and {result.tasks} open task(s)"
        " whose clocks run over the changed days"
    )


def _run_change(app: AppContext, edits: list, how: str, confirm=(), source=None):
    """Apply ``edits`` (and confirm ``confirm``) in one transaction; commit and bump."""
    from queries import calendar as cal
    from queries.admin import AdminError
    from queries.cache import commit_and_bump
    from queries.db import DatabaseUnavailable, connect

    settings = app.settings
    try:
        with connect(settings) as conn:
            try:
                result = cal.apply_edits(
                    conn,
                    cli_actor(app),
                    settings.jurisdiction,
                    edits,
                    app.clock.now(),
                    tz=settings.timezone,
                    how=how,
                    confirm=confirm,
                    source=source,
                )
            except AdminError as exc:
                fail(exc.message)
            if result.writes:
                commit_and_bump(conn)
            else:
                conn.rollback()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    return result


@calendar.command("set")
@click.argument("dates", nargs=-1, required=True, metavar="DATE[..DATE]...")
@click.option("--holiday", "kind", flag_value="holiday", help="The days are off (节假日).")
@click.option("--workday", "kind", flag_value="workday", help="The days are worked (调休上班).")
@click.option("--note", default=None, help="What the days are, e.g. 春节 or 春节调休.")
@pass_app
def calendar_set(app: AppContext, dates: tuple[str, ...], kind: str | None, note: str | None):
    """Enter holidays or make-up working days: dates or ranges, e.g. 2027-02-05..2027-02-13."""
    from domain.clock.calendar_edit import CalendarInputError, span_edits

    if kind is None:
        raise click.UsageError("say what the days are: --holiday or --workday")
    try:
        edits = span_edits(dates, kind == "workday", note)
    except CalendarInputError as exc:
        _bad(exc, "DATE")
    _report(_run_change(app, edits, "set"), "set")


@calendar.command("unset")
@click.argument("dates", nargs=-1, required=True, metavar="DATE[..DATE]...")
@pass_app
def calendar_unset(app: AppContext, dates: tuple[str, ...]):
    """Remove entered days: they follow chinese_calendar (or Monday–Friday) again."""
    from domain.clock.calendar_edit import CalendarInputError, span_edits

    try:
        edits = span_edits(dates, None)
    except CalendarInputError as exc:
        _bad(exc, "DATE")
    _report(_run_change(app, edits, "unset"), "unset")


@calendar.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--confirm/--no-confirm",
    default=True,
    help="Confirm the years the file covers (default) or leave them unconfirmed.",
)
@pass_app
def calendar_import(app: AppContext, file: Path, confirm: bool):
    """Import holidays and make-up days from a CSV: date,type|is_workday,note (docs/calendar.md)."""
    from domain.clock.calendar_edit import CalendarInputError, decode, read_csv, years_of

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        edits = read_csv(decode(data))
    except CalendarInputError as exc:
        for line in exc.lines[:20]:
            click.echo(f"{file.name}: {line.en}", err=True)
        if len(exc.lines) > 20:
            click.echo(f"{file.name}: … and {len(exc.lines) - 20} more", err=True)
        fail(f"{file.name}: {exc.message.en}")
    years = years_of(e.day for e in edits) if confirm else []
    result = _run_change(app, edits, "import", confirm=years, source=file.name)
    _report(result, "import")
    if result.confirmed:
        click.echo("confirmed " + ", ".join(map(str, result.confirmed)))
    if result.already_confirmed:
        click.echo("already confirmed " + ", ".join(map(str, result.already_confirmed)))
    if not confirm:
        click.echo("years left unconfirmed (--no-confirm): run `gridscope calendar confirm YEAR`")


@calendar.command("confirm")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option(
    "--source", default=None, help="Where the schedule comes from, e.g. 国办发明电〔2026〕号."
)
@pass_app
def calendar_confirm(app: AppContext, year: int, source: str | None):
    """State that YEAR's holidays and make-up days are entered (ends the 60-day notice)."""
    from domain.clock.calendar_years import package_knows
    from queries import calendar as cal
    from queries.admin import AdminError
    from queries.cache import commit_and_bump
    from queries.db import DatabaseUnavailable, connect

    settings = app.settings
    try:
        with connect(settings) as conn:
            status = cal.year_status(conn, year)
            try:
                result = cal.confirm_year(
                    conn, cli_actor(app), settings.jurisdiction, year, app.clock.now(), source
                )
            except AdminError as exc:
                fail(exc.message)
            if result.confirmed:
                commit_and_bump(conn)
            else:
                conn.rollback()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if result.already_confirmed:
        c = status.confirmation or {}
        when = local_minute(c.get("confirmed_at"), settings.tz)
        click.echo(f"{year} was confirmed already (by {c.get('confirmed_by')} at {when})")
        return
    if package_knows(year):
        click.echo(f"note: chinese_calendar knows {year} already; the confirmation is recorded")
    elif status.overrides == 0:
        click.echo(f"warning: no days are entered for {year}: Monday–Friday will be used", err=True)
    click.echo(f"confirmed {year}")


@calendar.command("show")
@click.argument("year", type=click.IntRange(2000, 2100), required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True
)
@pass_app
def calendar_show(app: AppContext, year: int | None, fmt: str):
    """Print YEAR's holidays and make-up days (default: this year) and its confirmation."""
    from queries import calendar as cal
    from queries.db import DatabaseUnavailable, connect

    year = year or _this_year(app)
    today = app.clock.now().astimezone(app.settings.tz).date()
    try:
        with connect(app.settings) as conn:
            status = cal.year_status(conn, year)
            pending = cal.unconfirmed_years(conn, today)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(_as_json(status), ensure_ascii=False, indent=2, default=str))
    elif fmt == "csv":
        click.echo("date,type,note,source")
        for d in status.days:
            if d.special:
                kind = "workday" if d.is_workday else "holiday"
                click.echo(f"{d.day},{kind},{_csv_cell(d.note or '')},{d.source}")
    else:
        for line in _as_text(status, app.settings.tz):
            click.echo(line)
        if pending:
            click.echo(_notice(pending), err=True)


def _notice(years: list[int]) -> str:
    return (
        f"warning: the work calendar of {', '.join(map(str, years))} is not confirmed and starts"
        " within 60 days: enter the State Council's schedule (gridscope calendar import|set)"
        " and confirm it (docs/calendar.md)"
    )


def _csv_cell(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def _status_line(status: Any, tz: Any) -> str:
    from domain.clock.calendar_years import package_years

    first, last = package_years()
    if status.known:
        return f"known to chinese_calendar (official schedule, {first}–{last})"
    c = status.confirmation
    if c is not None:
        src = f", source {c['source']}" if c.get("source") else ""
        return f"confirmed by {c['confirmed_by']} at {local_minute(c['confirmed_at'], tz)}{src}"
    return (
        f"NOT CONFIRMED: chinese_calendar knows {first}–{last} only; Monday–Friday is assumed"
        f" except the {status.overrides} day(s) entered"
    )


def _as_text(status: Any, tz: Any) -> list[str]:
    from domain.clock.calendar_days import holiday_runs

    lines = [f"Work calendar {status.year}: {_status_line(status, tz)}"]
    runs = holiday_runs(status.days)
    if runs:
        lines.append(
            "Holidays: "
            + " · ".join(
                f"{r.name or 'holiday'} {_span(r.first, r.last)} ({_days_off(r.days)})"
                for r in runs
            )
        )
    for month in range(1, 13):
        lines.append(MONTHS[month - 1])
        shown = [d for d in status.days if d.day.month == month and d.special]
        if not shown:
            lines.append("  —")
        for d in shown:
            mark = "entered" if d.source == "override" else d.source
            # The note last: CJK text is double width and would break any column after it.
            lines.append(f"  {d.day:%m-%d %a}  {KIND_EN[d.kind]:<8} {mark:<8} {d.note or ''}")
    lines.append(f"{status.working_days} working days in {status.year}.")
    return lines


def _span(first: Any, last: Any) -> str:
    return f"{first:%m-%d}" if first == last else f"{first:%m-%d}..{last:%m-%d}"


def _days_off(n: int) -> str:
    return "1 day off" if n == 1 else f"{n} days off"


def _as_json(status: Any) -> dict[str, Any]:
    from domain.clock.calendar_days import holiday_runs

    return {
        "year": status.year,
        "known_to_package": status.known,
        "confirmed": status.confirmed,
        "confirmation": status.confirmation,
        "working_days": status.working_days,
        "holidays": [
            {"name": r.name, "first": r.first, "last": r.last, "days": r.days}
            for r in holiday_runs(status.days)
        ],
        "days": [
            {
                "date": d.day,
                "is_workday": d.is_workday,
                "kind": d.kind,
                "note": d.note,
                "source": d.source,
            }
            for d in status.days
            if d.special
        ],
    }
