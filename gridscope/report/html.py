"""The monthly situation report as one A4 HTML document in the manner of a government
月度运行分析报告: a title block (jurisdiction, period, 编制单位, date), then 一、总体情况 (the
generated summary), 二、主要指标 (本期/上期/环比/去年同期/同比/目标), 三、趋势 (inline SVG
charts), 四、排名 (units and departments, those behind marked), 五、热点与重复问题,
六、群众满意度, 七、巡查情况. Self-contained: no script, no external resource, so headless
Chromium prints it offline (``gridscope.report.pdf``).
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from xml.sax.saxutils import escape

from domain.analytics.formatting import fmt_change, fmt_value, tone
from domain.analytics.periods import PeriodError, parse_period

from . import charts
from .data import behind, card, col_index, generated_local, is_ranking, ranked, tables, unit_name
from .narrative import (
    BOTTOM_DEPARTMENTS,
    BOTTOM_UNITS,
    measure_sentence,
    previous_word,
    summary,
)
from .style import CSS
from .tables import html_table

_KIND_TITLE = {"month": "月度", "week": "周", "quarter": "季度", "year": "年度", "custom": ""}
_UNIT_TABLES = (("towns", "镇街"), ("communities", "社区"), ("grids", "网格"))
_NUMERALS = "一二三四五六七八九十"


def report_title(data: dict[str, Any]) -> str:
    """'南湖区网格化服务管理月度运行分析报告' (季度/年度/周 for other period kinds)."""
    meta = data.get("meta") or {}
    try:
        kind = parse_period(str(meta.get("period", ""))).kind
    except PeriodError:
        kind = "custom"
    return f"{meta.get('area_name') or '全辖区'}网格化服务管理{_KIND_TITLE[kind]}运行分析报告"


def _e(text: Any) -> str:
    return escape(str(text))


def _cover(data: dict[str, Any], org: str, tz: tzinfo | None) -> str:
    meta = data.get("meta") or {}
    at = generated_local(data, tz)
    made = f"{at.year}年{at.month}月{at.day}日" if at else ""
    title = report_title(data)
    head, _, tail = title.partition("网格化服务管理")
    h1 = f"{_e(head)}网格化服务管理<br>{_e(tail)}" if tail else _e(title)
    return (
        '<div class="cover"><div class="secret">内部资料　注意保存</div>'
        f"<h1>{h1}</h1>"
        f'<div class="period">（{_e(meta.get("label", ""))}）</div>'
        '<hr class="rule"><hr class="rule2">'
        f'<div class="org"><span>编制单位：{_e(org)}</span>'
        f"<span>辖区：{_e(meta.get('area_name', ''))}（{_e(meta.get('area') or '全部')}）</span>"
        f"<span>编制日期：{_e(made)}</span></div></div>"
    )


def _css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and line breaks escaped)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'"{out}"'


def _running_head(data: dict[str, Any]) -> str:
    """The report's title in the top margin of every page after the first."""
    label = str((data.get("meta") or {}).get("label", ""))
    head = _css_string(f"{report_title(data)}（{label}）").replace("<", "\\3C ")
    return (
        f"@page {{ @top-right {{ content: {head}; }} }}"
        " @page :first { @top-right { content: none; } }"
    )


def _h2(n: int, title: str) -> str:
    return f"<h2>{_NUMERALS[n - 1]}、{_e(title)}</h2>"


def _change_cell(kind: str, change: float | None, higher_is_better: bool) -> str:
    """A 环比/同比 cell, green when the change is for the better, red when for the worse."""
    cls = tone(change, kind, higher_is_better)
    return f'<td class="n {cls}">{_e(fmt_change(kind, change))}</td>'


def _measure_table(data: dict[str, Any]) -> str:
    m = data.get("measures") or {}
    prev = (m.get("previous") or {}).get("label", "上期")
    ago = (m.get("year_ago") or {}).get("label", "去年同期")
    head = (
        "<th>指标</th><th>本期</th>"
        f"<th>上期<br><small>{_e(prev)}</small></th><th>环比</th>"
        f"<th>去年同期<br><small>{_e(ago)}</small></th><th>同比</th><th>目标值</th>"
        "<th>分子 / 分母</th>"
    )
    rows = []
    for c in m.get("cards") or []:
        kind, hib = c.get("kind", "rate"), c.get("higher_is_better", True)
        parts = ""
        if c.get("denominator") is not None:
            parts = (
                f"{fmt_value('count', c.get('numerator'))} / {fmt_value('count', c['denominator'])}"
            )
        cells = [
            f"<td>{_e(c.get('name', c.get('key')))}</td>",
            f'<td class="n"><b>{_e(fmt_value(kind, c.get("value")))}</b></td>',
            f'<td class="n">{_e(fmt_value(kind, c.get("previous")))}</td>',
            _change_cell(kind, c.get("mom"), hib),
            f'<td class="n">{_e(fmt_value(kind, c.get("year_ago")))}</td>',
            _change_cell(kind, c.get("yoy"), hib),
            f'<td class="n">{_e(fmt_value(kind, c.get("target")))}</td>',
            f'<td class="n">{_e(parts)}</td>',
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    formulas = "；".join(
        f"{_e(c.get('name'))}＝{_e(c.get('formula'))}"
        for c in m.get("cards") or []
        if c.get("formula")
    )
    return (
        f'<table class="t"><caption>表1　主要指标（{_e(m.get("label", ""))}）</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        '<div class="note">说明：比率类指标的环比、同比为百分点差，数量类为增减幅度；'
        "“—”表示无可比数据（分母为零）。绿色为向好，红色为变差。"
        f"计算口径：{formulas}。</div>"
    )


def _trend_charts(data: dict[str, Any]) -> str:
    out = []
    for c in (data.get("measures") or {}).get("cards") or []:
        series = c.get("series") or []
        if not series:
            continue
        svg = charts.line_chart(
            [s.get("label", s.get("period", "")) for s in series],
            [(c.get("name", ""), [s.get("value") for s in series])],
            kind=c.get("kind", "rate"),
            target=c.get("target"),
            title=f"{c.get('name', '')}（近{len(series)}期）",
            width=330,
            height=150,
        )
        out.append(f'<div class="chart">{svg}</div>')
    return (
        f'<div class="charts">{"".join(out)}</div>' if out else '<p class="note">暂无趋势数据。</p>'
    )


def _generic(section: str, data: dict[str, Any], skip: set[str], start: int) -> tuple[str, int]:
    """Every table of ``section`` not in ``skip``, numbered from ``start``."""
    parts = []
    for name, t in tables(data, section).items():
        if name in skip:
            continue
        marked = {u["code"] for u in behind(data, name, BOTTOM_UNITS)} if is_ranking(t) else None
        parts.append(html_table(t, marked=marked, caption=f"表{start}　{t.get('title', name)}"))
        start += 1
    return "".join(parts), start


def _hotspot_rule(data: dict[str, Any]) -> str:
    """How hotspots and recurring problems were found (the hotspot panel's own parameters)."""
    r = (data.get("hotspots") or {}).get("rule") or {}
    hot = "本期事件数显著高于该网格自身前若干期均值（单侧泊松检验"
    if r.get("alpha") is not None and r.get("baseline_periods"):
        hot += f"，显著性水平{r['alpha']:g}，基线为前{r['baseline_periods']}期均值"
    rec = "同一地点同一类别事件在规定天数内反复出现"
    if r.get("radius_m") and r.get("days") and r.get("min"):
        rec = f"{r['radius_m']:g}米范围内同一类别事件在{r['days']}天内出现{r['min']}次及以上"
    return f'<div class="note">热点网格：{_e(hot)}）；重复发生问题：{_e(rec)}。</div>'


def _behind_note(units: list[dict[str, Any]], what: str) -> str:
    if not units:
        return ""
    items = "；".join(
        f"{u['name']}" + (f"（{fmt_value('score', u['score'])}分，{u['why']}）" if u["why"] else "")
        for u in units
    )
    return f'<div class="note">红色底纹为排名末{len(units)}位的{what}：{_e(items)}。</div>'


def _rankings(data: dict[str, Any], n: int) -> tuple[str, int]:
    ranks = tables(data, "rankings")
    parts, done = [], set()
    for name, unit in _UNIT_TABLES:
        t = ranks.get(name)
        if not t or not t.get("rows"):
            continue
        last = behind(data, name, BOTTOM_UNITS)
        codes = {u["code"] for u in last}
        rows = ranked(t)
        si, ci = col_index(t, "composite", "score"), col_index(t, "code")
        if si is not None and len(rows) <= 40:
            svg = charts.bar_chart(
                [unit_name(t, r) for r in rows],
                [r[si] for r in rows],
                kind="score",
                marked={i for i, r in enumerate(rows) if ci is not None and str(r[ci]) in codes},
                title=f"{unit}综合指标值",
                width=660,
            )
            parts.append(f'<div class="chart wide">{svg}</div>')
        parts.append(html_table(t, marked=codes, caption=f"表{n}　{t.get('title', name)}"))
        parts.append(_behind_note(last, unit))
        n += 1
        done.add(name)
        break
    depts = ranks.get("departments")
    if depts:
        last = behind(data, "departments", BOTTOM_DEPARTMENTS)
        names = {u["name"] for u in last}
        parts.append(html_table(depts, marked=names, caption=f"表{n}　{depts.get('title', '')}"))
        parts.append(_behind_note(last, "职能部门"))
        n += 1
        done.add("departments")
    formula = (data.get("rankings") or {}).get("formula")
    if formula:
        parts.append(f'<div class="note">综合指标值＝{_e(formula)}。</div>')
    rest, n = _generic("rankings", data, done, n)
    return "".join(parts) + rest, n


def render(data: dict[str, Any], *, org: str, tz: tzinfo | None = None) -> str:
    """The whole report for ``data`` (a collect() result, personal columns already masked);
    ``org`` is the 编制单位 (setting ``title``), ``tz`` the deployment's time zone (the date
    and time of generation are shown in it)."""
    meta = data.get("meta") or {}
    paras = "".join(f'<p class="para">{_e(p)}</p>' for p in summary(data))
    at = generated_local(data, tz)
    stamp = at.strftime("%Y-%m-%d %H:%M") if at else ""
    body = [_cover(data, org, tz), _h2(1, "总体情况"), paras or '<p class="para">本期无数据。</p>']
    body += [_h2(2, "主要指标"), _measure_table(data)]
    n = 2
    body += [_h2(3, "趋势"), "<h3>（一）主要指标走势</h3>", _trend_charts(data)]
    rhythm, n = _generic("rhythm", data, set(), n)
    if rhythm:
        body += ["<h3>（二）时间分布</h3>", rhythm]
    ranks, n = _rankings(data, n)
    body += [_h2(4, "排名"), ranks or '<p class="note">本期无排名数据。</p>']
    cats, n = _generic("categories", data, set(), n)
    hots, n = _generic("hotspots", data, set(), n)
    body += [_h2(5, "热点与重复问题")]
    if cats:
        body += ["<h3>（一）事项类别结构</h3>", cats]
    body += [
        "<h3>（二）热点网格与重复发生问题</h3>" if cats else "",
        hots or '<p class="note">本期无热点数据。</p>',
        _hotspot_rule(data),
    ]
    before = previous_word(data)
    sat = measure_sentence(card(data, "satisfaction_rate"), before)
    sats, n = _generic("satisfaction", data, set(), n)
    body += [_h2(6, "群众满意度")]
    if sat:
        body.append(f'<p class="para">{_e(sat)}。</p>')
    body.append(sats or '<p class="note">本期无回访数据。</p>')
    pat = [measure_sentence(card(data, k), before) for k in ("patrol_coverage", "online_rate")]
    pats, n = _generic("patrol", data, set(), n)
    body += [_h2(7, "巡查情况")]
    if any(pat):
        body.append(f'<p class="para">{_e("；".join(p for p in pat if p))}。</p>')
    body.append(pats or '<p class="note">本期无巡查数据。</p>')
    extra, n = _generic("measures", data, {"measures"}, n)
    if extra:
        body += ["<h2>附表</h2>", extra]
    body.append(
        f'<p class="note">本报告由系统于 {_e(stamp)} 根据统计数据自动生成；'
        "个人信息按阅读者权限脱敏。</p>"
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{_e(report_title(data))}（{_e(meta.get('label', ''))}）</title>"
        f"<style>{CSS}{_running_head(data)}</style></head><body>{''.join(body)}</body></html>"
    )
