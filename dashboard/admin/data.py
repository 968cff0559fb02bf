"""/admin/data (基础数据): the staffing report of the administrator's jurisdiction (counts per
rule as cards, the findings filtered by rule, town and severity, a CSV download), the recent
onboarding imports and the file templates with how to import each (docs/staffing.md,
docs/imports.md).

The report is recomputed on the server for every filter change and download (a few hundred
milliseconds for a whole city of 11,000 grids), in the caller's scope from acting(), never from
a value the browser sent; grid staff names are public information by law (DOMAIN.md §2), so
reading or downloading the report is not an audited read of personal data.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from domain.staffing import RULES_BY_ID
from domain.staffing_report import Report, findings_csv
from queries import audit
from queries.imports import import_runs
from queries.scope import Scope
from queries.screen.basic import jurisdiction_name
from queries.services import Services
from queries.staffing import staffing_report
from queries.viewer import Viewer

from .common import DENIED, UNAVAILABLE, acting, admin_page, field, notice, when
from .data_view import (
    IMPORT_KINDS,
    SEVERITY_OPTIONS,
    cards,
    findings_table,
    headline,
    imports_table,
    pick,
    rule_options,
    templates_list,
    town_options,
)

log = logging.getLogger(__name__)

PATH = "/admin/data"
IMPORTS_SHOWN = 12


def report_for(svc: Services, scope: Scope) -> tuple[Report, str, str]:
    """(the staffing report of ``scope`` now, the jurisdiction's name, the local as-of)."""
    now = svc.clock.now()
    tz = svc.settings.tz
    with svc.pool.connection() as conn:
        report = staffing_report(conn, scope, now, now.astimezone(tz).date(), svc.settings.hotline)
        name = jurisdiction_name(conn, scope) or scope.prefix or "全部辖区"
    return report, name, when(now, tz)


def recent_imports(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """The latest onboarding import runs of every kind, newest first."""
    runs: list[dict[str, Any]] = []
    for kind in IMPORT_KINDS:
        runs += [r | {"kind": kind} for r in import_runs(conn, kind, IMPORTS_SHOWN)]
    runs.sort(key=lambda r: r["started_at"], reverse=True)
    return runs[:IMPORTS_SHOWN]


def _filters(report: Report) -> html.Div:
    dropdown = {"clearable": False, "className": "gs-admin-dropdown"}
    return html.Div(
        [
            field("规则", dcc.Dropdown(rule_options(), "", id="adm-data-rule", **dropdown)),
            field(
                "镇（街道）",
                dcc.Dropdown(town_options(report.findings), "", id="adm-data-town", **dropdown),
            ),
            field(
                "级别",
                dcc.Dropdown(
                    SEVERITY_OPTIONS, "", id="adm-data-severity", searchable=False, **dropdown
                ),
            ),
            html.Div(
                [
                    html.Button("刷新", id="adm-data-refresh", className="gs-admin-button"),
                    html.Button(
                        "下载 CSV",
                        id="adm-data-csv",
                        className="gs-admin-button gs-admin-button--plain",
                    ),
                ],
                className="gs-admin-actions",
            ),
            dcc.Download(id="adm-data-download"),
        ],
        className="adm-data-filters",
    )


def _body(svc: Services, viewer: Viewer) -> list:
    report, name, as_of = report_for(svc, viewer.scope)
    with svc.pool.connection() as conn:
        runs = recent_imports(conn)
    staffing = html.Section(
        [
            html.Div(
                [
                    html.H2("人员配备检查"),
                    html.Span(
                        "网格长、网格员配备与公示信息，依据 JX 7、15；ZJ 16、23；PY 10、13",
                        className="adm-data-sub",
                    ),
                ],
                className="adm-data-title",
            ),
            html.Div(headline(report, name, as_of), id="adm-data-headline"),
            html.Div(cards(report), id="adm-data-cards"),
            _filters(report),
            html.Div(id="adm-data-msg", className="gs-admin-msg"),
            html.Div(findings_table(report.findings), id="adm-data-table"),
        ],
        className="gs-admin-card gs-admin-wide adm-data-report",
    )
    onboarding = html.Div(
        [
            html.Section(
                [html.H2("最近导入"), imports_table(runs, svc.settings.tz)],
                className="gs-admin-card adm-data-imports",
            ),
            html.Section(
                [
                    html.H2("导入模板"),
                    html.P(
                        "下载模板（xlsx，含中文列名与填写说明），填写后在服务器上用命令导入；"
                        "被拒绝的行及原因写入同名 .rejects.csv。详见 docs/imports.md。",
                        className="adm-data-sub",
                    ),
                    templates_list(),
                ],
                className="gs-admin-card",
            ),
        ],
        className="adm-data-onboarding",
    )
    return [staffing, onboarding]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def _choice(value: Any, allowed: set[str]) -> str:
    """A dropdown value from the browser: one the page offers, else '' (all)."""
    return value if isinstance(value, str) and value in allowed else ""


def data_action(trigger: Any, rule: Any, town: Any, severity: Any) -> tuple:
    """Outputs (headline, cards, table, message, download) for a filter change, a refresh
    or the CSV button (``trigger``)."""
    acting_now = acting()
    if acting_now is None:
        return (no_update,) * 3 + (notice(False, DENIED), no_update)
    svc, actor = acting_now
    rule = _choice(rule, set(RULES_BY_ID))
    severity = _choice(severity, {"violation", "notice"})
    town = town if isinstance(town, str) and len(town) <= 32 else ""
    try:
        report, name, as_of = report_for(svc, actor.scope)
    except psycopg.Error:
        log.exception("admin: staffing report failed")
        return (no_update,) * 3 + (notice(False, UNAVAILABLE), no_update)
    chosen = pick(report.findings, rule, town, severity)
    download: Any = no_update
    if trigger == "adm-data-csv":
        # The findings name staff with their phones (L3, domain.access FIELD_TIERS): the
        # download is an export and audited like every other one.
        try:
            with svc.pool.connection() as conn:
                event = audit.event_for(
                    svc.viewer,
                    "export",
                    object="staffing_report",
                    count=len(chosen),
                    detail={"rule": rule, "town": town, "severity": severity},
                )
                audit.write(conn, event, svc.clock.now())
        except psycopg.Error:
            log.exception("admin: staffing export not audited")
            return (no_update,) * 3 + (notice(False, UNAVAILABLE), no_update)
        stamp = as_of.replace("-", "").replace(":", "").replace(" ", "-")
        download = {
            "content": findings_csv(chosen, bom=True),
            "filename": f"staffing_{actor.scope.prefix or 'all'}_{stamp}.csv",
            "type": "text/csv",
        }
    return (
        headline(report, name, as_of),
        cards(report, rule),
        findings_table(chosen),
        None,
        download,
    )


def card_rule(trigger: Any, clicked: Any, current: Any) -> Any:
    """The rule filter after a click on a rule card (``trigger`` its id): that rule, or all
    rules when it was already chosen; no change when nothing was clicked (cards redrawn)."""
    if acting() is None or not isinstance(trigger, dict) or not clicked:
        return no_update
    rule = _choice(trigger.get("rule"), set(RULES_BY_ID))
    return "" if rule == current else rule


def register() -> None:
    """The page's callbacks (called by dashboard/pages/admin_data.py once per app)."""

    @callback(
        Output("adm-data-headline", "children"),
        Output("adm-data-cards", "children"),
        Output("adm-data-table", "children"),
        Output("adm-data-msg", "children"),
        Output("adm-data-download", "data"),
        Input("adm-data-rule", "value"),
        Input("adm-data-town", "value"),
        Input("adm-data-severity", "value"),
        Input("adm-data-refresh", "n_clicks"),
        Input("adm-data-csv", "n_clicks"),
        prevent_initial_call=True,
    )
    def apply(rule: Any, town: Any, severity: Any, _refresh: Any, _csv: Any):
        return data_action(ctx.triggered_id, rule, town, severity)

    @callback(
        Output("adm-data-rule", "value"),
        Input({"type": "adm-data-card", "rule": ALL}, "n_clicks"),
        State("adm-data-rule", "value"),
        prevent_initial_call=True,
    )
    def card_clicked(_clicks: Any, current: Any):
        clicked = any(isinstance(t.get("value"), int) and t["value"] for t in ctx.triggered)
        return card_rule(ctx.triggered_id, clicked, current)
