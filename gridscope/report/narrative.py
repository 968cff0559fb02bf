"""The report's 总体情况: a few paragraphs of templated Chinese sentences generated from the
numbers of collect() (no external service, no model): volume, closure, rework and returns, who
is behind and why, satisfaction, hotspots, patrol.

Every number goes through ``domain.analytics.formatting`` so the sentence says exactly what the
page and the measure table show. A measure without data gets a sentence saying so ("本期无有效
回访"), never "0.0%". Directions are words (上升/下降/持平) with the size of the change.
"""

from __future__ import annotations

from typing import Any

from domain.analytics.formatting import direction, fmt_magnitude, fmt_value
from domain.analytics.periods import PeriodError, parse_period
from domain.measures import MEASURES, change

from .data import behind, card

# What "the previous period" is called in a sentence, by period kind.
_PREVIOUS = {"month": "上月", "week": "上周", "quarter": "上季度", "year": "上年", "custom": "上期"}
# Rankings of the units below the area, in the order the summary looks for them.
_UNIT_TABLES = (("towns", "镇街"), ("communities", "社区"), ("grids", "网格"))
BOTTOM_UNITS = 3
BOTTOM_DEPARTMENTS = 5


# Why a measure has no value: its denominator was zero.
NO_DATA = {
    "closure_rate": "本期无应结案事件",
    "on_time_rate": "本期无应结案事件",
    "rework_rate": "本期无结案事件",
    "return_rate": "本期无分办事件",
    "verify_on_time_rate": "本期无应核查事件",
    "report_on_time_rate": "本期无上报事件",
    "self_resolution_rate": "本期无上报或就地解决事件",
    "satisfaction_rate": "本期无有效回访",
    "patrol_coverage": "本期无巡查记录",
    "online_rate": "本期无排班记录",
    "composite": "本期无应结案事件",
}


def whole_area(area_name: str) -> str:
    """'全市', '全区', '全县', '全镇', '全街道' or '全辖区', from the area's name."""
    for suffix in ("街道", "市", "区", "县", "镇", "乡"):
        if area_name.endswith(suffix):
            return "全" + suffix
    return "全辖区"


def previous_word(data: dict[str, Any]) -> str:
    """What the previous period is called in a sentence: 上月, 上周, 上季度, 上年 or 上期."""
    try:
        kind = parse_period(str((data.get("meta") or {}).get("period", ""))).kind
    except PeriodError:
        kind = "custom"
    return _PREVIOUS.get(kind, "上期")


def change_words(kind: str, change: float | None, rise: str = "上升", fall: str = "下降") -> str:
    """'上升2.1个百分点', '下降5.0%', '持平', or '' when there is nothing to compare with."""
    if change is None:
        return ""
    d = direction(change, kind)
    if d == 0:
        return "持平"
    return (rise if d > 0 else fall) + fmt_magnitude(kind, change)


def _vs(kind: str, change: float | None, before: str, rise: str, fall: str) -> str:
    """'，较上月提高2.1个百分点' / '，与上月持平' / ''."""
    words = change_words(kind, change, rise, fall)
    if not words:
        return ""
    return f"，与{before}持平" if words == "持平" else f"，较{before}{words}"


def measure_sentence(c: dict[str, Any] | None, before: str, *, with_yoy: bool = False) -> str:
    """'结案率94.3%，较上月提高2.1个百分点（去年同期90.1%）' or '结案率暂无数据' — no
    trailing punctuation; '' when the card is absent."""
    if c is None:
        return ""
    kind = c.get("kind") or MEASURES.get(c["key"], MEASURES["closure_rate"]).kind
    if c.get("value") is None:
        return f"{c['name']}暂无数据（{NO_DATA.get(c['key'], '本期无可计算的数据')}）"
    text = f"{c['name']}{fmt_value(kind, c['value'])}"
    text += _vs(kind, c.get("mom"), before, "提高", "下降")
    if with_yoy and c.get("year_ago") is not None:
        text += f"（去年同期{fmt_value(kind, c['year_ago'])}）"
    target = c.get("target")
    if target is not None:
        gap = c["value"] - target
        better = gap >= 0 if c.get("higher_is_better", True) else gap <= 0
        verb = "达到" if better else "未达到"
        text += f"，{verb}目标值{fmt_value(kind, target)}"
    return text


def _volume(data: dict[str, Any], area: str, label: str) -> str:
    """'2026年10月，全区共受理事件13,021件，环比上升5.2%，同比上升18.4%。' from the measures
    panel's raw counts (应结案数 when the count of new tickets is absent)."""
    m = data.get("measures") or {}
    counts = m.get("counts") or {}
    if counts.get("created") is not None:
        value = counts["created"]
        mom = change(value, (m.get("previous_counts") or {}).get("created"), "count")
        yoy = change(value, (m.get("year_ago_counts") or {}).get("created"), "count")
        text = f"{label}，{area}共受理事件{fmt_value('count', value)}件"
    else:
        due = card(data, "due_to_close")
        if due is None or due.get("value") is None:
            return f"{label}，{area}无应结案事件。"
        mom, yoy = due.get("mom"), due.get("yoy")
        text = f"{label}，{area}应结案事件{fmt_value('count', due['value'])}件"
    if change_words("count", mom):
        text += "，环比" + change_words("count", mom)
    if change_words("count", yoy):
        text += "，同比" + change_words("count", yoy)
    return text + "。"


def _joined(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    return "；".join(parts) + "。" if parts else ""


def _rankings(data: dict[str, Any]) -> str:
    sentences = []
    for key, unit in _UNIT_TABLES:
        last = behind(data, key, BOTTOM_UNITS)
        if not last:
            continue
        text = f"综合指标值排名末位的{unit}为" + "、".join(u["name"] for u in last)
        worst = last[0]
        if worst["score"] is not None:
            text += f"，其中{worst['name']}得分{fmt_value('score', worst['score'])}"
            if worst["why"]:
                text += f"，主要短板为{worst['why']}"
        sentences.append(text)
        break
    depts = behind(data, "departments", BOTTOM_DEPARTMENTS)
    if depts:
        shown = [d["name"] + (f"（{d['why']}）" if d["why"] else "") for d in depts]
        sentences.append(f"排名末{len(depts)}位的职能部门为" + "、".join(shown))
    return _joined(sentences)


# A category's rise is named only from a base this large (a rise from 3 to 9 is not news).
MIN_CATEGORY_BASE = 30


def _categories(data: dict[str, Any]) -> str:
    """'从类别看，城市管理类事件最多（5,210件，占40.0%），生态环境类环比上升最快（上升18.0%）。'
    from the category panel's major categories."""
    panel = data.get("categories") or {}
    majors = [n for n in panel.get("nodes") or [] if not n.get("parent") and n.get("count")]
    total = panel.get("total") or 0
    if not majors or not total:
        return ""
    top = max(majors, key=lambda n: n["count"])
    text = (
        f"从类别看，{top['name']}类事件最多（{fmt_value('count', top['count'])}件，"
        f"占{fmt_value('rate', top['count'] / total)}）"
    )
    rising = [
        n
        for n in majors
        if (n.get("previous") or 0) >= MIN_CATEGORY_BASE and direction(n.get("change"), "count") > 0
    ]
    if rising:
        up = max(rising, key=lambda n: n["change"])
        text += f"，{up['name']}类环比增幅最大（{change_words('count', up['change'])}）"
    return text + "。"


def _satisfaction(data: dict[str, Any], before: str) -> str:
    c = card(data, "satisfaction_rate")
    if c is None:
        return ""
    if c.get("value") is None:
        return "本期无有效回访，满意率暂无数据。"
    text = f"群众{measure_sentence(c, before)}"
    if c.get("denominator"):
        text += f"（有效回访{fmt_value('count', c['denominator'])}件）"
    return text + "。"


def _hotspots(data: dict[str, Any]) -> str:
    """Hotspot grids (count against the grid's own baseline) and recurring places, from the
    hotspot panel's totals and its first (most significant) items."""
    panel = data.get("hotspots") or {}
    hot, rec = panel.get("hotspots"), panel.get("recurring")
    if not isinstance(hot, dict) and not isinstance(rec, dict):
        return ""
    hot, rec = hot or {}, rec or {}
    items = hot.get("items") or []
    n_hot = int(hot.get("total", len(items)) or 0)
    n_rec = int(rec.get("total", len(rec.get("items") or [])) or 0)
    if n_hot == 0 and n_rec == 0:
        return "本期未发现事件量显著高于自身基线的网格，也未发现重复发生问题。"
    text = f"发现事件量异常升高的网格{n_hot:,}个" if n_hot else "未发现事件量异常升高的网格"
    if items:
        top = max(items, key=lambda h: h.get("count") or 0)
        text += f"，以{top.get('name') or top.get('grid')}最为突出（本期"
        text += f"{fmt_value('count', top.get('count'))}件"
        if top.get("expected"):
            text += f"，为基线期望的{float(top['count']) / float(top['expected']):.1f}倍"
        text += "）"
    if n_rec:
        text += f"；同一地点同类问题重复发生{n_rec:,}处"
        if rec.get("tickets"):
            text += f"（涉及事件{fmt_value('count', rec['tickets'])}件）"
    else:
        text += "；未发现重复发生问题"
    return text + "。"


def _patrol(data: dict[str, Any], before: str) -> str:
    parts = [measure_sentence(card(data, k), before) for k in ("patrol_coverage", "online_rate")]
    parts = [p for p in parts if p]
    return ("网格" + "，".join(parts) + "。") if parts else ""


def summary(data: dict[str, Any]) -> list[str]:
    """The paragraphs of 一、总体情况, in reading order (volume and closure; rankings;
    satisfaction, hotspots and patrol). Empty paragraphs are left out."""
    meta = data.get("meta") or {}
    area = whole_area(str(meta.get("area_name") or ""))
    label = str(meta.get("label") or (data.get("measures") or {}).get("label") or "")
    before = previous_word(data)
    closing = _joined(
        [
            measure_sentence(card(data, "closure_rate"), before, with_yoy=True),
            measure_sentence(card(data, "on_time_rate"), before),
            measure_sentence(card(data, "rework_rate"), before),
            measure_sentence(card(data, "return_rate"), before),
        ]
    )
    first = _volume(data, area, label) + closing + _categories(data)
    paragraphs = [
        first,
        _rankings(data),
        _satisfaction(data, before) + _hotspots(data) + _patrol(data, before),
    ]
    return [p for p in paragraphs if p]
