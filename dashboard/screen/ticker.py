"""The bottom ticker of urgent, overdue and supervised open cases (no personal data)."""

from __future__ import annotations

from typing import Any

from dash import html

from layers.labels import category_label, stage_name, state_name, step_name

from .theme import fmt_minutes_zh

# Seconds each item stays in view while scrolling; the loop length follows the item count.
SECONDS_PER_ITEM = 7


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


def render_ticker_item(item: dict[str, Any]) -> html.Span:
    """One ticker item: badges, ticket number, category, grid, and the stage (or state)."""
    stage = (
        f"{stage_name(item['stage'])}环节"
        if item.get("stage")
        else state_name(item.get("state") or "")
    )
    return html.Span(
        [
            *[html.Span(t, className=f"gs-tag gs-tag--{m}") for t, m in ticker_tags(item)],
            html.Span(item["ticket_no"], className="gs-tick-no"),
            html.Span(
                category_label(item.get("major", ""), item.get("minor", "")),
                className="gs-tick-cat",
            ),
            html.Span(item["grid"], className="gs-tick-grid"),
            html.Span(stage, className="gs-tick-stage"),
        ],
        className="gs-tick",
    )


def render_ticker(items: list[dict[str, Any]]) -> tuple[list, dict[str, str]]:
    """(children, style) of the scrolling track: the items twice, so the loop is seamless
    (the CSS animation moves the track by half its width)."""
    if not items:
        return [html.Span("当前无紧急、超期或督办事项", className="gs-tick gs-tick--calm")], {
            "animationDuration": "0s",
            "animationName": "none",
        }
    row = [render_ticker_item(i) for i in items]
    copy = [render_ticker_item(i) for i in items]
    duration = max(20, SECONDS_PER_ITEM * len(items))
    return [
        html.Span(row, className="gs-tick-run"),
        html.Span(copy, className="gs-tick-run", **{"aria-hidden": "true"}),
    ], {"animationDuration": f"{duration}s"}
