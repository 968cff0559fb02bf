"""`gridscope audit`: search the audit trail, purge rows past retention.

The trail (table ``audit_event``) is append-only; the purge is the one deletion it allows, and
a purge that deleted rows is itself recorded (action ``audit_purge``, with the count).
``gridscope sweep`` runs the same purge daily.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import click

from .common import AppContext, Instant, fail, main, pass_app
from .user import cli_actor


@main.group()
def audit() -> None:
    """The audit trail: sign-ins, L3/L4 reads, exports, track reads, administrative changes."""


@audit.command("search")
@click.option("--since", type=Instant(), default=None, help="From this instant (ISO 8601).")
@click.option("--until", type=Instant(), default=None, help="Before this instant (ISO 8601).")
@click.option("--actor", default=None, help="Actor name contains this text.")
@click.option("--action", default=None, help="Exactly this action, e.g. login_failure.")
@click.option(
    "--jurisdiction", default="", help="Only events about this code prefix (default: all)."
)
@click.option(
    "--limit", type=click.IntRange(1, 500), default=50, show_default=True, help="At most rows."
)
@pass_app
def audit_search(
    app: AppContext,
    since: datetime | None,
    until: datetime | None,
    actor: str | None,
    action: str | None,
    jurisdiction: str,
    limit: int,
) -> None:
    """Print audit rows, newest first (time, actor, role, jurisdiction, action, object)."""
    from queries.audit import search
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope, ScopeError

    try:
        scope = Scope(jurisdiction.strip())
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--jurisdiction") from None
    try:
        with connect(app.settings) as conn:
            rows = search(
                conn, scope, since=since, until=until, actor=actor, action=action, limit=limit
            )
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if not rows:
        click.echo("no audit events match")
        return
    tz = app.settings.tz
    for r in rows:
        who = f"{r['actor_kind']}:{r['actor_name'] or '-'}"
        what = r["object"] or ""
        if r["count"] is not None:
            what += f" ×{r['count']}"
        detail = json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else ""
        click.echo(
            f"{r['at'].astimezone(tz):%Y-%m-%d %H:%M:%S} {who:<24} {r['role'] or '-':<10} "
            f"{r['jurisdiction'] or '(all)':<12} {r['action']:<18} {r['outcome']:<8} "
            f"{r['client_addr'] or '-':<15} {what} {detail}".rstrip()
        )
    if len(rows) == limit:
        click.echo(f"(first {limit} rows; narrow the search or raise --limit)", err=True)


def purge_audit(conn, app: AppContext, now: datetime) -> int:
    """Delete audit rows older than the retention (by ``now``) and record the purge when it
    deleted anything; returns how many were deleted. The caller commits."""
    from queries import audit as audit_q

    days = app.settings.audit_retention_days
    before = now - timedelta(days=days)
    n = audit_q.purge(conn, before)
    if n:
        event = cli_actor(app).event(
            "audit_purge",
            "",
            count=n,
            detail={"before": before.isoformat(), "retention_days": days},
        )
        audit_q.write(conn, event, now, commit=False)
    return n


@audit.command("purge")
@pass_app
def audit_purge(app: AppContext) -> None:
    """Delete audit rows older than setting audit_retention_days (by the command's clock)."""
    from queries.db import DatabaseUnavailable, connect

    try:
        with connect(app.settings) as conn:
            n = purge_audit(conn, app, app.clock.now())
            conn.commit()
    except DatabaseUnavailable as exc:
        fail(str(exc))
    click.echo(f"audit: {n} row(s) older than {app.settings.audit_retention_days} days purged")
