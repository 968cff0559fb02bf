"""The bar lists of the wall (category mix, town ranking, basic data) as display-ready data:
every number formatted, every code named (layers/labels.py), every width computed, so the
wall's JS (assets/30_wall.js) only draws HTML/CSS bars (they scale with rem, unlike canvas)."""

from __future__ import annotations

from typing import Any

from domain.measures import MEASURES
from domain.staffing import RULES, VIOLATION, role_name
from layers.labels import grid_type_name, kind_name
from queries.screen import RANKING_MAX_ROWS

from .theme import fmt_int, fmt_pct

FIELD_WORKERS = ("fulltime_worker", "parttime_worker")


def category_rows(cats: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One bar per major category (近30日), largest first: [{"name", "count" (formatted),
    "share" ("80%"), "width" (of the largest, "100.0%"), "tone" (colour index 0–9),
    "title"}]."""
    total = sum(c["count"] for c in cats) or 1
    top = max((c["count"] for c in cats), default=0) or 1
    return [
        {
            "name": c["name"],
            "count": fmt_int(c["count"]),
            "share": f"{100 * c['count'] / total:.0f}%",
            "width": f"{100 * c['count'] / top:.1f}%",
            "tone": i % 10,
            "title": f"{c['name']}（{c['code']}）近30日上报 {c['count']} 件",
        }
        for i, c in enumerate(cats)
    ]


def ranking_rows_shown(rows: list[dict[str, Any]], limit: int = RANKING_MAX_ROWS) -> list:
    """The rows to show: all when they fit, else the first limit-3, None (a gap), the last 3."""
    if len(rows) <= limit:
        return list(rows)
    return [*rows[: limit - 3], None, *rows[-3:]]


def ranking_view(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The town ranking (本月综合指标值, ties by 按期结案率): {"head": {"score_title",
    "rate_title"} (the formulas), "rows": [{"rank", "name", "score", "width", "rate", "top"
    (1–3 or 0), "last", "title"} | {"gap": true}]}."""
    out = []
    for r in ranking_rows_shown(rows):
        if r is None:
            out.append({"gap": True})
            continue
        score = r["composite"]
        out.append(
            {
                "rank": r["rank"],
                "name": r["name"],
                "score": "—" if score is None else f"{score:.1f}",
                "width": f"{score or 0:.1f}%",
                "rate": fmt_pct(r["on_time_rate"]),
                "top": r["rank"] if r["rank"] <= 3 else 0,
                "last": r["rank"] > 3 and r is rows[-1],
                "title": (
                    f"{r['name']}：结案 {r['closed']}，按期 {r['closed_on_time']}，"
                    f"超时未结 {r['open_past_due']}，返工 {r['reworked']}；"
                    f"结案率 {fmt_pct(r['closure_rate'])}"
                ),
            }
        )
    return {
        "head": {
            "score_title": MEASURES["composite"].formula_zh,
            "rate_title": MEASURES["on_time_rate"].formula_zh,
        },
        "rows": out,
    }


def _stat(label: str, value: Any, main: bool = False, title: str = "") -> dict[str, Any]:
    return {"label": label, "value": fmt_int(value), "main": main, "title": title}


def _small(label: str, value: Any) -> dict[str, Any]:
    # Exact counts in the tooltip when the card shows 万.
    shown = compact_int(value)
    title = f"{label} {fmt_int(value)}" if shown != fmt_int(value) else ""
    return {"label": label, "value": shown, "main": False, "title": title}


def compact_int(n: int | None) -> str:
    """A count for a quarter-width card: '27,470' below 100,000, else in 万 ('181.2万')."""
    if n is None or n < 100_000:
        return fmt_int(n)
    return f"{n / 10_000:.1f}万"


def staffing_stat(staffing: dict[str, Any]) -> dict[str, Any]:
    """The 配备缺口 card: the jurisdiction's staffing violations (domain.staffing), red when
    there are any; the title names the rules broken and the notices."""
    by_rule = staffing.get("by_rule", {})
    n = int(staffing.get("violations", 0))
    parts = [
        f"{r.name_zh} {by_rule[r.id]}"
        for r in RULES
        if r.severity == VIOLATION and by_rule.get(r.id)
    ]
    title = f"违反配备规定 {n} 项" + (f"：{'，'.join(parts)}" if parts else "")
    title += f"；提示 {int(staffing.get('notices', 0))} 项。明细见 系统管理 › 基础数据"
    return {
        "label": "配备缺口",
        "value": fmt_int(n),
        "main": False,
        "title": title,
        "tone": "alert" if n > 0 else "ok",
    }


def calendar_notices(years: list[int]) -> list[dict[str, str]]:
    """The line shown when the work calendar of the next 60 days has unconfirmed years."""
    if not years:
        return []
    names = "、".join(str(y) for y in years)
    return [
        {
            "text": f"{names}年工作日历未确认",
            "title": f"{names}年的法定节假日与调休安排尚未录入确认，工作日暂按周一至周五计算，"
            "办理期限可能不准。请在 系统管理 › 工作日历 录入并确认。",
        }
    ]


def basic_view(basic: dict[str, Any]) -> dict[str, Any]:
    """The basic-data panel (queries.screen.basic_data): {"stats": grids by type, "small":
    households, population, micro-grids and the 配备缺口 card (when basic has "staffing"),
    "staff": [{"name", "num", "online"}] by role, "online": {"share" (css width), "text"
    ("n/m"), "title"}, "notices": [{"text", "title"}] (the work calendar)}; roles and kinds
    named."""
    g = basic.get("grids", {})
    by_role = basic.get("online", {}).get("by_role", {})
    staff = basic.get("staff", [])
    workers = sum(s["count"] for s in staff if s["role"] in FIELD_WORKERS)
    online_workers = sum(by_role.get(r, 0) for r in FIELD_WORKERS)
    share = 100 * online_workers / workers if workers else 0
    kinds = "、".join(
        f"{kind_name(k['kind'])}{k['count']}" for k in g.get("exclusive_kinds", [])[:4]
    )
    return {
        "stats": [
            _stat("网格总数", g.get("total"), main=True),
            _stat(grid_type_name("comprehensive"), g.get("comprehensive")),
            _stat(
                grid_type_name("exclusive"),
                g.get("exclusive"),
                title=f"其中 {kinds}" if kinds else "",
            ),
        ],
        "small": [
            _small("户数", basic.get("households")),
            _small("人口", basic.get("population")),
            _small("微网格", basic.get("micro_grids")),
            *([staffing_stat(basic["staffing"])] if "staffing" in basic else []),
        ],
        "staff": [
            {
                "name": role_name(s["role"]),
                "num": fmt_int(s["count"]),
                "online": f"在线 {fmt_int(by_role.get(s['role'], 0))}"
                if s["role"] in FIELD_WORKERS
                else "",
            }
            for s in staff
        ],
        "online": {
            "share": f"{share:.1f}%",
            "text": f"{fmt_int(online_workers)}/{fmt_int(workers)}",
            "title": "最近10分钟内有定位且在岗的专职、兼职网格员 / 在册专职、兼职网格员",
        },
        "notices": calendar_notices(basic.get("calendar_unconfirmed", [])),
    }
