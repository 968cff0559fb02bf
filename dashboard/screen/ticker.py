"""The bottom ticker of urgent, overdue and supervised open cases (no personal data), as the
ticker feed sends it."""

from __future__ import annotations

from typing import Any

from layers.labels import category_label, stage_name, state_name, step_name

from .theme import fmt_minutes_zh

# Seconds each item stays in view while scrolling; the loop length follows the item count.
SECONDS_PER_ITEM = 7
CALM_ZH = "当前无紧急、超期或督办事项"


def ticker_tags(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, css modifier) badges of a ticker item (queries.screen.ticker): supervision step
    (named from domain.supervision), urgency, overdue."""
    tags = []
    if item.get("supervision"):
        level = (
            "red" if item["supervision"] >= 3 else "yellow" if item["supervision"] == 2 else "blue"
        )
        tags.append((step_name(item["supervision"]) or "督办", level))
    if item.get("urgent"):
        tags.append(("紧急", "urgent"))
    if item.get("overdue_min"):
        tags.append((f"超期 {fmt_minutes_zh(item['overdue_min'])}", "overdue"))
    return tags


def ticker_view(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The ticker display-ready (assets/30_wall.js draws it twice for a seamless loop):
    {"items": [{"tags": [[text, css modifier]], "no", "category", "grid", "stage"}],
    "duration_s": seconds per loop (0 when calm), "calm": the text shown with no item}."""
    out = []
    for item in items:
        stage = (
            f"{stage_name(item['stage'])}环节"
            if item.get("stage")
            else state_name(item.get("state") or "")
        )
        out.append(
            {
                "tags": [list(t) for t in ticker_tags(item)],
                "no": item["ticket_no"],
                "category": category_label(item.get("major", ""), item.get("minor", "")),
                "grid": item["grid"],
                "stage": stage,
            }
        )
    return {
        "items": out,
        "duration_s": max(20, SECONDS_PER_ITEM * len(out)) if out else 0,
        "calm": CALM_ZH,
    }
