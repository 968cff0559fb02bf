"""`gridscope grids history [CODE]`: the boundary adjustments (decisions with their effective
dates and the codes they changed), or every version of one grid or micro-grid
(docs/imports-micro-grids.md)."""

from __future__ import annotations

import click

from .common import AppContext, fail, local_minute, main, pass_app

SHOWN_CODES = 8


@main.group("grids")
def grids_group() -> None:
    """The grid system: boundary versions and the decisions that drew them."""


def _codes(codes: list[str]) -> str:
    more = f" … (+{len(codes) - SHOWN_CODES})" if len(codes) > SHOWN_CODES else ""
    return ", ".join(codes[:SHOWN_CODES]) + more


@grids_group.command("history")
@click.argument("code", required=False)
@click.option(
    "--limit",
    type=click.IntRange(1, 500),
    default=100,
    show_default=True,
    help="At most this many decisions (newest first).",
)
@pass_app
def history_cmd(app: AppContext, code: str | None, limit: int) -> None:
    """The boundary adjustments in the jurisdiction, newest first: effective date, decision
    number (决定文号), the codes changed and added. With CODE: every version of that grid or
    micro-grid (local times, setting ``timezone``)."""
    from queries import boundaries
    from queries.db import DatabaseUnavailable, connect
    from queries.scope import Scope, ScopeError

    settings = app.settings
    tz = settings.tz
    try:
        scope = Scope(settings.jurisdiction)
        if code is not None:
            Scope(code)  # a code has the shape of a code prefix
    except ScopeError:
        raise click.BadParameter(f"{code!r} is not a code", param_hint="CODE") from None
    try:
        with connect(settings) as conn:
            if code is not None:
                rows = boundaries.versions(conn, scope, code)
            else:
                rows = boundaries.decisions(conn, scope, limit)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    if code is not None:
        if not rows:
            fail(f"no grid or micro-grid {code} in the jurisdiction")
        for r in rows:
            until = local_minute(r["valid_to"], tz) if r["valid_to"] else "current"
            click.echo(
                f"{r['layer']} {r['code']} ({r['name']}, in {r['parent']}):"
                f" {local_minute(r['valid_from'], tz)} → {until};"
                f" decision {r['decision_no'] or '-'}; {r['area_m2']:,.0f} m²"
            )
        return
    if not rows:
        click.echo("no boundary adjustments recorded")
        return
    for r in rows:
        parts = []
        if r["changed"]:
            parts.append(f"{len(r['changed'])} changed: {_codes(r['changed'])}")
        if r["added"]:
            parts.append(f"{len(r['added'])} new: {_codes(r['added'])}")
        click.echo(
            f"{local_minute(r['valid_from'], tz)}  {r['decision_no'] or '(no decision)'}"
            f"  {r['layer']}: " + "; ".join(parts)
        )
