"""What /admin/data (基础数据) draws: the staffing report's cards, filters and findings table,
the recent onboarding imports and the template links. Plain functions of the report
(domain.staffing_report) and query rows; dashboard/admin/data.py lays them out and wires them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import tzinfo
from typing import Any

from dash import html

from domain.staffing import NOTICE, RULES, RULES_BY_ID, SEVERITY_NAMES_ZH, VIOLATION
from domain.staffing_report import Finding, Report

from .common import table, when

# Findings drawn in the page's table; the CSV download has all of them.
TABLE_LIMIT = 500
ALL = ""
SEVERITY_OPTIONS = [
    {"label": "全部级别", "value": ALL},
    {"label": "违规", "value": VIOLATION},
    {"label": "提示", "value": NOTICE},
]
COLUMNS = (
    ("severity", "级别"),
    ("rule", "规则"),
    ("town", "镇（街道）"),
    ("community", "社区（村）"),
    ("grid_code", "网格编码"),
    ("grid_name", "网格名称"),
    ("person", "人员"),
    ("missing", "缺失情况"),
)
# Onboarding imports listed (import_run.kind → name) and the templates offered.
IMPORT_KINDS = {
    "grids": "网格",
    "micro_grids": "微网格",
    "departments": "部门",
    "staff": "人员",
    "items": "事项清单",
}
TEMPLATES = (
    (
        "staff",
        "人员名单",
        "gridscope import staff 文件.xlsx",
        "姓名、手机、角色、网格编码、任职起止日期",
    ),
    (
        "departments",
        "部门",
        "gridscope import departments 文件.xlsx",
        "编码、名称、层级、上级部门、牵头/协办事项；先于人员导入",
    ),
    (
        "micro-grids",
        "微网格",
        "gridscope import micro-grids 文件.geojson",
        "18位编码、所属网格、联户数；边界来自 GeoJSON/Shapefile/GeoPackage",
    ),
    (
        "items",
        "事项清单",
        "gridscope items import 文件.xlsx",
        "纳入、调整、退出决定：决定文号、生效日期、办理时限",
    ),
)


def pick(findings: Iterable[Finding], rule: Any, town: Any, severity: Any) -> list[Finding]:
    """The findings the filters keep; a filter value the page never offers keeps nothing
    (values come from the browser)."""
    out = list(findings)
    if rule:
        out = [f for f in out if f.rule == rule]
    if town:
        out = [f for f in out if f.town_code == town]
    if severity:
        out = [f for f in out if f.severity == severity]
    return out


def rule_options() -> list[dict[str, str]]:
    return [{"label": "全部规则", "value": ALL}] + [
        {"label": f"{SEVERITY_NAMES_ZH[r.severity]} · {r.name_zh}", "value": r.id} for r in RULES
    ]


def town_options(findings: Sequence[Finding]) -> list[dict[str, str]]:
    """The towns that have findings, by code, with their number of findings."""
    counts = Counter(f.town_code for f in findings if f.town_code)
    names = {f.town_code: f.town for f in findings if f.town_code}
    return [{"label": "全部镇（街道）", "value": ALL}] + [
        {"label": f"{names[c] or c}（{counts[c]}）", "value": c} for c in sorted(counts)
    ]


def headline(report: Report, place: str, as_of: str) -> html.Div:
    """The report's one-line verdict over its cards."""
    s = report.summary
    verdict = (
        html.Span(f"违规 {s.violations} 项", className="adm-data-verdict adm-data-verdict--bad")
        if s.violations
        else html.Span("未发现违规", className="adm-data-verdict adm-data-verdict--ok")
    )
    return html.Div(
        [
            verdict,
            html.Span(
                f"涉及 {report.grids_with_violations} 个网格 · 提示 {s.notices} 项 · "
                f"{place} 共 {report.grids:,} 个网格 · 截至 {as_of}",
                className="adm-data-headline-text",
            ),
        ],
        className="adm-data-headline",
    )


def _card(row: dict[str, Any], selected: str) -> html.Button:
    tone = "zero" if not row["count"] else row["severity"]
    cls = f"adm-data-card adm-data-card--{tone}"
    if row["rule"] == selected:
        cls += " adm-data-card--selected"
    return html.Button(
        [
            html.Span(
                [
                    html.Span(f"{row['count']:,}", className="adm-data-card-count"),
                    html.Span(row["severity_zh"], className="adm-data-badge"),
                ],
                className="adm-data-card-top",
            ),
            html.Span(row["name"], className="adm-data-card-name"),
            html.Span(row["clauses"], className="adm-data-card-clauses"),
        ],
        id={"type": "adm-data-card", "rule": row["rule"]},
        className=cls,
        title=f"只看：{row['name']}（{row['rule']}）；再点一次显示全部",
        n_clicks=0,
    )


def cards(report: Report, selected: str = ALL) -> list[html.Div]:
    """The rule cards (count, name, severity, articles) in two groups, violations then
    notices; a click filters the table by the rule."""
    rows = report.summary.rows()
    groups = (
        (VIOLATION, "违规 · 法规要求“应当”配备、公示"),
        (NOTICE, "提示 · 建议核实"),
    )
    return [
        html.Div(
            [
                html.Div(title, className="adm-data-group-title"),
                html.Div(
                    [_card(r, selected) for r in rows if r["severity"] == severity],
                    className="adm-data-cards",
                ),
            ],
            className="adm-data-group",
        )
        for severity, title in groups
    ]


def _cells(f: Finding) -> dict[str, Any]:
    rule = RULES_BY_ID.get(f.rule)
    role = f"（{f.role_zh}）" if f.role else ""
    person = f"{f.person}{role} {f.staff_no}".strip()
    return {
        "severity": html.Span(
            SEVERITY_NAMES_ZH.get(f.severity, f.severity),
            className=f"adm-data-badge adm-data-badge--{f.severity}",
        ),
        "rule": html.Span(rule.name_zh if rule else f.rule, title=rule.label if rule else ""),
        "town": f.town or "—",
        "community": f.community or "—",
        "grid_code": html.Code(f.grid_code) if f.grid_code else "—",
        "grid_name": f.grid_name or "—",
        "person": person or "—",
        "missing": f.missing,
    }


def findings_table(findings: Sequence[Finding]) -> list[Any]:
    """The table (first TABLE_LIMIT findings) and a line saying how many there are."""
    shown = findings[:TABLE_LIMIT]
    note = f"共 {len(findings):,} 条"
    if len(findings) > TABLE_LIMIT:
        note += f"，表中显示前 {TABLE_LIMIT} 条；全部请下载 CSV"
    return [
        html.P(note, className="adm-data-count"),
        html.Div(
            table(COLUMNS, [_cells(f) for f in shown], "没有符合条件的问题"),
            className="adm-data-scroll",
        ),
    ]


def imports_table(runs: Sequence[dict[str, Any]], tz: tzinfo) -> Any:
    """The recent onboarding imports, newest first."""
    rows = [
        {
            "at": when(r["started_at"], tz),
            "kind": IMPORT_KINDS.get(r["kind"], r["kind"]),
            "file": r["file_name"],
            "loaded": f"{r['rows_loaded']:,}",
            "skipped": f"{r['rows_skipped']:,}",
            "rejected": html.Span(
                f"{r['rows_rejected']:,}",
                className="adm-data-rejected" if r["rows_rejected"] else "",
            ),
            "state": "未完成"
            if r["finished_at"] is None
            else ("试运行" if r.get("dry_run") else "已导入"),
        }
        for r in runs
    ]
    columns = (
        ("at", "时间"),
        ("kind", "类型"),
        ("file", "文件"),
        ("loaded", "载入行"),
        ("skipped", "未变行"),
        ("rejected", "拒绝行"),
        ("state", "状态"),
    )
    return table(columns, rows, "还没有导入记录：请先下载模板，按说明填写后用命令导入")


def templates_list() -> html.Ul:
    """The template downloads (route /admin/templates/<kind>.xlsx) with how to import each."""
    return html.Ul(
        [
            html.Li(
                [
                    html.A(
                        [html.Span("⤓ ", className="adm-data-dl"), f"{name}模板"],
                        href=f"/admin/templates/{kind}.xlsx",
                        className="adm-data-template-link",
                        download=f"gridscope-{kind}-template.xlsx",
                    ),
                    html.Span(what, className="adm-data-template-what"),
                    html.Span(
                        ["在服务器上导入：", html.Code(command)], className="adm-data-template-cmd"
                    ),
                ],
                className="adm-data-template",
            )
            for kind, name, command, what in TEMPLATES
        ],
        className="adm-data-templates",
    )
