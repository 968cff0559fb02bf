"""`gridscope items`: the item list (事项清单, docs/item-list.md).

``show`` prints the list in force on a day (text, CSV or JSON); ``history`` the decisions of
one entry or of the whole list; ``admit``/``amend``/``withdraw`` record one decision (decision
number and effective date required); ``import`` records a file of decisions (csv or xlsx, the
columns of ``gridscope import template items``) row by row, in one transaction, with a rejects
file. Every decision is audited (actor_kind 'cli', actor_name $USER); the rules are those of
the admin page /admin/items and the API (``domain.item_list``). A refusal by the rules is a
usage error (exit 2) with the rule's message; an entry the guard refuses (licensing, penalty,
enforcement) quotes the clauses and is audited as ``item_refused``. Sending a recorded
decision again changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from .common import AppContext, fail, local_minute, main, pass_app
from .user import cli_actor

_DATE = click.DateTime(["%Y-%m-%d"])
_OPTION = {
    "code": "CODE",
    "action": "ACTION",
    "decision_no": "--decision",
    "effective_on": "--effective",
    "name_zh": "--name",
    "name_en": "--name-en",
    "normal_limit": "--limit",
    "urgent_limit": "--urgent-limit",
    "matter": "--matter",
    "note": "--note",
}
LISTING_COLUMNS = (
    "code",
    "parent_code",
    "name_zh",
    "name_en",
    "matter",
    "normal_limit",
    "urgent_limit",
    "normal_inherited",
    "urgent_inherited",
    "decision_no",
    "effective_on",
)


@main.group()
def items() -> None:
    """The item list (事项清单): what is in force, its history, its decisions."""


def _today(app: AppContext) -> date:
    return app.clock.now().astimezone(app.settings.tz).date()


def _pad(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (CJK characters take two)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - cols)


def _connect(app: AppContext):
    from queries.db import DatabaseUnavailable, connect

    try:
        return connect(app.settings)
    except DatabaseUnavailable as exc:
        fail(str(exc))


@items.command("show")
@click.option("--on", "on", type=_DATE, help="The day (YYYY-MM-DD).  [default: today]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
)
@pass_app
def items_show(app: AppContext, on: datetime | None, fmt: str) -> None:
    """The list in force on a day: codes, names, limits, decision number, effective date."""
    from queries.item_list import listing_rows, load_timeline

    day = on.date() if on else _today(app)
    with _connect(app) as conn:
        rows = listing_rows(load_timeline(conn), day)
    if fmt == "json":
        out = [
            {**r, "effective_on": r["effective_on"] and r["effective_on"].isoformat()} for r in rows
        ]
        click.echo(json.dumps({"on": day.isoformat(), "items": out}, ensure_ascii=False, indent=1))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, LISTING_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
        return
    click.echo(f"item list in force on {day}: {len(rows)} entries")
    click.echo(
        f"{_pad('code', 8)}{_pad('name', 26)}{_pad('limit', 9)}{_pad('urgent', 9)}"
        f"{_pad('decision', 26)}effective"
    )
    for r in rows:
        code = r["code"] if r["parent_code"] is None else "  " + r["code"]
        normal = (r["normal_limit"] or "-") + ("*" if r["normal_inherited"] else "")
        urgent = (r["urgent_limit"] or "-") + ("*" if r["urgent_inherited"] else "")
        click.echo(
            f"{_pad(code, 8)}{_pad(r['name_zh'], 26)}{_pad(normal, 9)}{_pad(urgent, 9)}"
            f"{_pad(r['decision_no'] or '（原清单）', 26)}{r['effective_on'] or '-'}"
        )
    if any(r["normal_inherited"] or r["urgent_inherited"] for r in rows):
        click.echo("* the major category's limit (the entry has none of its own)")


@items.command("history")
@click.argument("code", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
def items_history(app: AppContext, code: str | None, fmt: str) -> None:
    """The decisions of entry CODE (or of the whole list), in effective order."""
    from queries.item_list import history_rows

    with _connect(app) as conn:
        rows = history_rows(conn, code.strip() if code else None)
    if code and not rows:
        fail(
            f"no decisions recorded for {code} (an entry without decisions is in force as the"
            " list says: gridscope items show)"
        )
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
        return
    if not rows:
        click.echo("no decisions recorded: the list is the one loaded (gridscope items show)")
        return
    for r in rows:
        when = "since always" if r["baseline"] else str(r["effective_on"])
        limits = "/".join(x for x in (r["normal_limit"], r["urgent_limit"]) if x) or "-"
        click.echo(
            f"{_pad(when, 13)}{_pad(r['code'], 6)}{_pad(r['action'], 9)}"
            f"{_pad(r['decision_no'], 26)}{_pad(r['name_zh'], 22)}{_pad(limits, 12)}"
            f"{r['actor']} {local_minute(r['recorded_at'], app.settings.tz)}"
            + (f"  ({r['note']})" if r["note"] and not r["baseline"] else "")
        )


def _refuse(exc: Any) -> NoReturn:
    raise click.BadParameter(exc.message, param_hint=_OPTION.get(exc.field, exc.field))


def _decide(app: AppContext, fields: dict[str, Any]) -> None:
    """Record one decision from the command's options (audited), and say what it did."""
    from domain.item_list import ItemRefused, decision_from
    from queries.cache import bump_data_version
    from queries.item_decisions import record_decision, record_refusal

    actor, now, today = cli_actor(app), app.clock.now(), _today(app)
    about = app.settings.jurisdiction
    with _connect(app) as conn:
        try:
            proposal = decision_from(**fields)
            done = record_decision(
                conn, actor, now, today, proposal, about=about, tz=app.settings.tz
            )
            conn.commit()
        except ItemRefused as exc:
            conn.rollback()
            if exc.guarded:
                record_refusal(conn, actor, now, exc, fields, about=about)
                conn.commit()
            _refuse(exc)
        if done.created:
            bump_data_version(conn)
            conn.commit()
    d = done.decisions[0]
    if not done.created:
        click.echo(f"already recorded: {d.code} {d.action} {d.decision_no} (nothing changed)")
        return
    state = "in force now" if done.in_force else f"takes effect on {d.effective_on}"
    click.echo(
        f"recorded: {d.code} {d.action} {d.decision_no} effective {d.effective_on} ({state})"
    )
    for m in done.decisions[1:]:
        click.echo(f"  withdrew minor {m.code} with it")


def _decision_options(f):
    f = click.option("--note", help="Free text kept with the decision.")(f)
    f = click.option(
        "--effective", "effective_on", type=_DATE, required=True, help="Effective date."
    )(f)
    return click.option(
        "--decision", "decision_no", required=True, help="Decision number (决定文号)."
    )(f)


def _entry_options(f):
    f = click.option(
        "--matter",
        help="事项性质 (default 服务管理); licensing, penalty and enforcement matters are refused.",
    )(f)
    f = click.option(
        "--urgent-limit", "urgent", help="Urgent handling limit (紧急时限), e.g. 24h."
    )(f)
    f = click.option("--limit", "normal", help="Handling limit (一般时限), e.g. 5WD, 3WH, 24h.")(f)
    return click.option("--name-en", "name_en", help="English name.")(f)


@items.command("admit")
@click.argument("code")
@click.option("--name", "name_zh", required=True, help="Chinese name (事项名称).")
@_entry_options
@_decision_options
@pass_app
def items_admit(app: AppContext, code: str, effective_on: datetime, **fields: Any) -> None:
    """Admit CODE (CC major, CCSS minor) to the list from the effective date."""
    _decide(app, {"code": code, "action": "admit", "effective_on": effective_on.date(), **fields})


@items.command("amend")
@click.argument("code")
@click.option("--name", "name_zh", help="New Chinese name.")
@_entry_options
@_decision_options
@pass_app
def items_amend(app: AppContext, code: str, effective_on: datetime, **fields: Any) -> None:
    """Amend CODE's name, limits or matter from the effective date."""
    _decide(app, {"code": code, "action": "amend", "effective_on": effective_on.date(), **fields})


@items.command("withdraw")
@click.argument("code")
@_decision_options
@pass_app
def items_withdraw(app: AppContext, code: str, effective_on: datetime, **fields: Any) -> None:
    """Withdraw CODE from the list from the effective date (a major takes its minors)."""
    _decide(
        app, {"code": code, "action": "withdraw", "effective_on": effective_on.date(), **fields}
    )


def _code_text(value: str) -> str:
    # A code a spreadsheet stored as a number lost its leading zero (0910 → 910): codes have 2
    # or 4 digits, so a 1- or 3-digit number can only be that.
    return value.zfill(len(value) + 1) if value.isdigit() and len(value) in (1, 3) else value


def rows_of(table: Any) -> list[tuple[int, dict[str, Any]]]:
    """(spreadsheet row number, fields for ``domain.item_list.decision_from``) of each row of
    an items file (``gridscope.imports.table_source.Table``); refuses a file lacking a
    required column (ImportRefused)."""
    out = []
    for number, rec in zip(table.row_numbers, table.records("items"), strict=True):
        out.append(
            (
                number,
                {
                    "code": _code_text(rec["code"]),
                    "action": rec["action"],
                    "decision_no": rec["decision_no"],
                    "effective_on": rec["effective_on"],
                    "name_zh": rec["name_zh"] or None,
                    "name_en": rec["name_en"] or None,
                    "normal": rec["normal_limit"] or None,
                    "urgent": rec["urgent_limit"] or None,
                    "matter": rec["matter"] or None,
                    "note": rec["note"] or None,
                },
            )
        )
    return out


def import_rows(app: AppContext, conn: Any, rows: list, *, dry_run: bool) -> list:
    """Record ``rows`` in one transaction (rolled back for a dry run); the outcome of each."""
    from queries.cache import bump_data_version
    from queries.item_decisions import record_rows

    try:
        outcomes = record_rows(
            conn,
            cli_actor(app),
            app.clock.now(),
            _today(app),
            rows,
            about=app.settings.jurisdiction,
            tz=app.settings.tz,
        )
    except BaseException:
        conn.rollback()
        raise
    if dry_run:
        conn.rollback()
        return outcomes
    conn.commit()
    if any(o.outcome == "recorded" for o in outcomes):
        bump_data_version(conn)
        conn.commit()
    return outcomes


def write_rejects(path: Path, table: Any, outcomes: list) -> None:
    """The refused rows with their original columns, ``source_row`` and ``reject_reason``
    (UTF-8 with a byte-order mark, so Excel opens it as text)."""
    refused = {o.row: o.message for o in outcomes if o.outcome == "refused"}
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*table.header, "source_row", "reject_reason"])
        for number, row in zip(table.row_numbers, table.rows, strict=True):
            if number in refused:
                writer.writerow([*row, number, refused[number]])


@items.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV for the refused rows with their reasons  [default: <file>.rejects.csv]",
)
@click.option("--sheet", help="The xlsx sheet to read (default: the first).")
@click.option("--encoding", help="Text encoding of a CSV file (default: UTF-8, else GB18030).")
@click.option(
    "--dry-run", is_flag=True, help="Check every row and write the rejects; record nothing."
)
@pass_app
def items_import(
    app: AppContext,
    file: Path,
    rejects_path: Path | None,
    sheet: str | None,
    encoding: str | None,
    dry_run: bool,
) -> None:
    """Record the decisions of FILE (.xlsx or .csv), row by row in file order."""
    from gridscope.imports import ImportRefused
    from gridscope.imports.table_source import read_table

    try:
        table = read_table(file, encoding=encoding, sheet=sheet)
        records = rows_of(table)
    except ImportRefused as exc:
        fail(str(exc))
    rejects = rejects_path or file.with_name(f"{file.name.rsplit('.', 1)[0]}.rejects.csv")
    with _connect(app) as conn:
        outcomes = import_rows(app, conn, records, dry_run=dry_run)
    for o in outcomes:
        note = f": {o.message}" if o.message else ""
        click.echo(f"row {o.row}: {o.code or '-'} {o.action or '-'}: {o.outcome}{note}")
    counts = {
        k: sum(o.outcome == k for o in outcomes)
        for k in ("recorded", "already recorded", "refused")
    }
    try:
        write_rejects(rejects, table, outcomes)
    except OSError as exc:
        fail(f"cannot write the rejects file {rejects}: {exc.strerror or exc}")
    verb = "would record" if dry_run else "recorded"
    click.echo(
        f"{'dry run: ' if dry_run else ''}{file}: {len(outcomes)} rows; {verb}"
        f" {counts['recorded']}, already recorded {counts['already recorded']},"
        f" refused {counts['refused']}; rejects: {rejects}"
    )
