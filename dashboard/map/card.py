"""The unit card shown on click: the full public grid card (DOMAIN.md §2) for a grid, name and
code for other units. Staff names and phones are shown as the viewer's tier allows
(domain.access FIELD_TIERS, domain.masking): whole for leaders, dispatchers and
administrators, 张* and 138****1234 for the wall and analysts, with a "已脱敏" hint."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.screen.theme import fmt_int, fmt_pct
from domain.masking import Masker
from layers.grids import LEVEL_NAMES_ZH
from layers.labels import grid_type_name, kind_name, role_name


def _row(label: str, value: Any, cls: str = "") -> html.Div:
    return html.Div(
        [html.Span(label, className="gs-card-k"), html.Span(value, className="gs-card-v")],
        className=f"gs-card-row {cls}".strip(),
    )


STAFF_FIELDS = {"name": "staff.name", "phone": "staff.phone"}


def mask_card(card: dict[str, Any], masker: Masker) -> tuple[dict[str, Any], bool]:
    """(the card with each staff member's name and phone as ``masker`` shows them, True when
    the masker hides any of them)."""
    masked = not all(masker.sees(f) for f in STAFF_FIELDS.values())
    staff = [masker.record(s, STAFF_FIELDS) for s in card["staff"]]
    return {**card, "staff": staff}, masked


def _phone(phone: str | None, masked: bool) -> html.Span | html.A:
    if masked or not phone:  # a masked number is not dialable: no tel: link
        return html.Span(phone or "—", className="gs-staff-phone")
    return html.A(phone, href=f"tel:{phone}", className="gs-staff-phone")


def render_grid_card(card: dict[str, Any], hotline: str, *, masked: bool = False) -> list:
    """The grid card (queries.grid_card.grid_card, already masked by ``mask_card`` when
    ``masked``) as components; type, kind and roles named from domain."""
    kind = kind_name(card.get("kind"))
    gtype = grid_type_name(card["type"]) + (f"·{kind}" if kind else "")
    staff = [
        html.Li(
            [
                html.Span(role_name(s["role"]), className="gs-staff-role"),
                html.Span(s["name"], className="gs-staff-name"),
                _phone(s["phone"], masked),
            ],
            className="gs-card-staff",
            **{"data-role": s["role"]},
        )
        for s in card["staff"]
    ]
    today, month = card["today"], card["month"]
    return [
        html.H3(card["name"], className="gs-card-title"),
        html.Div(card["code"], className="gs-card-code"),
        _row("类型", gtype, "gs-card-type"),
        _row("所属", f"{card['town']} · {card['community']}", "gs-card-community"),
        _row("户数", fmt_int(card["households"]), "gs-card-households"),
        _row("人口", fmt_int(card["population"])),
        _row("微网格", f"{card['micro_grids']} 个 · 微网格长 {card['micro_grid_chiefs']} 人"),
        html.H4(
            [
                "网格人员",
                *(
                    [html.Span("已脱敏", className="gs-card-masked", title="个人信息按权限脱敏")]
                    if masked
                    else []
                ),
            ],
            className="gs-card-sub",
        ),
        html.Ul(staff, className="gs-card-staff-list"),
        _row("监督电话", hotline, "gs-card-hotline"),
        html.H4("今日", className="gs-card-sub"),
        html.Div(
            [
                _row("上报", fmt_int(today["created"]), "gs-card-today-created"),
                _row("结案", fmt_int(today["closed"]), "gs-card-today-closed"),
                _row("在办", fmt_int(today["open"]), "gs-card-open"),
                _row("超期", fmt_int(today["overdue"]), "gs-card-overdue"),
            ],
            className="gs-card-grid",
        ),
        html.H4("本月", className="gs-card-sub"),
        html.Div(
            [
                _row("上报", fmt_int(month["created"]), "gs-card-month-created"),
                _row("结案", fmt_int(month["closed"]), "gs-card-month-closed"),
                _row("结案率", fmt_pct(month["closure_rate"]), "gs-card-closure"),
                _row("按期结案率", fmt_pct(month["on_time_rate"]), "gs-card-ontime"),
            ],
            className="gs-card-grid",
        ),
    ]


def render_unit_card(unit: dict[str, str]) -> list:
    """A short card for a county, town, community or micro-grid."""
    return [
        html.H3(unit["name"], className="gs-card-title"),
        html.Div(unit["code"], className="gs-card-code"),
        _row("层级", LEVEL_NAMES_ZH.get(unit["level"], unit["level"])),
    ]
