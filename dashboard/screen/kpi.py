"""The KPI ribbon: eight cards, each with its definition or formula as the tooltip. The feed
(dashboard/feeds.py) sends them display-ready; the page draws their skeleton."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dash import html

from domain.measures import MEASURES

from .theme import fmt_int, fmt_pct


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    definition: str
    tone: str = ""  # css modifier: "" | "danger" | "warn" | "good"
    rate: bool = False


KPIS: tuple[Kpi, ...] = (
    Kpi("created_today", "今日上报", "今日（本地时间0时起）新建的事项数，含就地解决"),
    Kpi("closed_today", "今日结案", "今日结案的事项数"),
    Kpi("in_progress", "处置中", "未结案且未挂账的事项数"),
    Kpi("overdue", "超期", "未结案、未挂账且当前环节已超过时限的事项数", tone="danger"),
    Kpi("warning", "预警", "未挂账、当前环节剩余时限不足20%且尚未超期的事项数", tone="warn"),
    Kpi(
        "closure_rate",
        "结案率",
        f"{MEASURES['closure_rate'].formula_zh}；应结案数 = {MEASURES['due_to_close'].formula_zh}",
        tone="good",
        rate=True,
    ),
    Kpi(
        "on_time_rate",
        "按期结案率",
        f"{MEASURES['on_time_rate'].formula_zh}；应结案数 = {MEASURES['due_to_close'].formula_zh}",
        tone="good",
        rate=True,
    ),
    Kpi("workers_online", "在线网格员", "最近10分钟内有定位且在岗的网格员人数"),
)


def kpi_caption(spec: Kpi, k: dict[str, Any]) -> str:
    """The small line under a value: raw counts behind a rate, or context for a count."""
    if spec.key == "closure_rate":
        return f"本月 {fmt_int(k.get('closed_mtd'))}/{fmt_int(k.get('due_to_close_mtd'))}"
    if spec.key == "on_time_rate":
        return f"本月 {fmt_int(k.get('closed_on_time_mtd'))}/{fmt_int(k.get('due_to_close_mtd'))}"
    if spec.key == "created_today":
        return f"就地解决 {fmt_int(k.get('self_resolved_today'))}"
    if spec.key == "in_progress":
        return f"另挂账 {fmt_int(k.get('suspended'))}"
    if spec.key == "workers_online":
        return f"网格 {fmt_int(k.get('grids'))} 个"
    if spec.key in ("overdue", "warning"):
        return "当前环节"
    if spec.key == "closed_today":
        return f"本月 {fmt_int(k.get('closed_mtd'))}"
    return ""


def kpi_tooltip(spec: Kpi, k: dict[str, Any]) -> str:
    """The title text of a card: name, definition or formula, and the period."""
    period = f"统计期：本月累计（{k.get('month_start', '')} 至今）" if spec.rate else ""
    return "\n".join(x for x in (spec.label, spec.definition, period) if x)


def kpi_cards(k: dict[str, Any]) -> list[dict[str, str]]:
    """The eight KPI cards from ``kpis()`` output, display-ready for the wall's JS: [{"key",
    "label", "value" (formatted; '—' when missing), "caption", "tone" (css modifier or ""),
    "title" (definition or formula and period)}]."""
    cards = []
    for spec in KPIS:
        value = k.get(spec.key)
        cards.append(
            {
                "key": spec.key,
                "label": spec.label,
                "value": fmt_pct(value) if spec.rate else fmt_int(value),
                "caption": kpi_caption(spec, k),
                "tone": spec.tone if (value or spec.rate) else "",
                "title": kpi_tooltip(spec, k),
            }
        )
    return cards


def kpi_skeleton() -> list[html.Div]:
    """The ribbon as the page first draws it: each card with its label and definition, its
    value '—'; the wall's JS (assets/30_wall.js) fills the cards in place by ``data-key``."""
    return [
        html.Div(
            [
                html.Div(card["label"], className="gs-kpi-label"),
                html.Div(card["value"], className="gs-kpi-value"),
                html.Div(card["caption"], className="gs-kpi-caption"),
            ],
            className="gs-kpi",
            title=card["title"],
            **{"data-key": card["key"]},
        )
        for card in kpi_cards({})
    ]
