"""The report's generated summary (gridscope.report.narrative) and its pure pieces: sentences
for rises, falls, flat changes and missing data; who is behind and why; masking; the HTML."""

from __future__ import annotations

import re

import pytest

from domain.access import Tier
from domain.analytics.formatting import fmt_value
from gridscope.report import narrative
from gridscope.report.charts import bar_chart, line_chart
from gridscope.report.data import card, column_kinds, fmt_cell
from gridscope.report.html import render, report_title
from gridscope.report.tables import html_table, masked
from tests.unit.fixtures.report_collect import sample


def _set(data, key, **fields):
    c = card(data, key)
    assert c is not None, key
    c.update(fields)
    return data


def _text(data) -> str:
    return "".join(narrative.summary(data))


def test_rises_and_falls_are_said_in_words_with_the_page_numbers():
    text = _text(sample())
    # 13,021 against 12,377 in September (+5.2 %) and 11,002 last October (+18.4 %).
    assert text.startswith("2026年10月，全区共受理事件13,021件，环比上升5.2%，同比上升18.4%。")
    assert "结案率94.3%，较上月提高2.1个百分点（去年同期90.1%），未达到目标值95.0%" in text
    assert "按期结案率88.1%，较上月下降0.9个百分点，未达到目标值90.0%" in text
    assert "返工率3.1%，较上月下降0.4个百分点" in text
    assert "群众满意率94.0%，较上月下降0.6个百分点，达到目标值90.0%（有效回访2,990件）" in text


def test_fewer_tickets_is_a_fall():
    data = sample()
    data["measures"]["counts"]["created"] = 11759  # 12,377 in September: −5.0 %
    assert _text(data).startswith(
        "2026年10月，全区共受理事件11,759件，环比下降5.0%，同比上升6.9%。"
    )


def test_a_change_below_the_shown_precision_is_flat():
    data = _set(sample(), "closure_rate", mom=0.0003)
    assert "结案率94.3%，与上月持平" in _text(data)


def test_no_previous_period_means_no_comparison():
    data = _set(sample(), "closure_rate", mom=None, previous=None, year_ago=None, yoy=None)
    text = _text(data)
    assert "结案率94.3%，未达到目标值95.0%" in text
    assert "去年同期90.1%" not in text


def test_missing_data_is_said_not_shown_as_zero():
    data = sample()
    _set(data, "satisfaction_rate", value=None, mom=None, denominator=0, numerator=0)
    _set(data, "closure_rate", value=None, mom=None)
    text = _text(data)
    assert "本期无有效回访，满意率暂无数据。" in text
    assert "结案率暂无数据" in text
    assert not re.search(r"(?<![\d.])0\.0%", text)


def test_without_the_count_of_new_tickets_the_volume_is_due_to_close():
    data = sample()
    del data["measures"]["counts"]
    assert _text(data).startswith(
        "2026年10月，全区应结案事件12,480件，环比上升4.6%，同比上升23.3%。"
    )


def test_week_and_quarter_periods_compare_with_their_own_previous():
    data = sample()
    data["meta"]["period"] = "2026-Q3"
    assert "较上季度提高2.1个百分点" in _text(data)
    data["meta"]["period"] = "2026-W43"
    assert "较上周提高2.1个百分点" in _text(data)


def test_bottom_units_and_departments_with_the_rankings_reason():
    text = narrative.summary(sample())[1]
    assert text.startswith(
        "综合指标值排名末位的镇街为余新镇、大桥镇、七星街道，其中余新镇得分81.0，"
        "主要短板为按期结案率 72.0%，低于平均 12.3个百分点；"
    )
    assert text.count("（按期结案率") == 5
    assert (
        "排名末5位的职能部门为市园林绿化管理处（按期结案率 67.4%，低于平均 21.3个百分点）、" in text
    )
    assert text.endswith("市水务投资集团（按期结案率 83.8%，低于平均 4.9个百分点）。")


def test_without_levels_the_table_decides_who_is_behind():
    data = sample()
    del data["rankings"]["levels"]
    text = narrative.summary(data)[1]
    assert text.startswith("综合指标值排名末位的镇街为余新镇、大桥镇、七星街道，其中余新镇得分81.0")
    assert "排名末5位的职能部门为市园林绿化管理处（按期结案率 67.4%" in text


def test_nobody_is_behind_alone():
    data = sample()
    for key in ("towns", "departments"):
        t = data["rankings"]["tables"][key]
        t["rows"] = t["rows"][:1]
    for lv in data["rankings"]["levels"]:
        lv["behind"] = []
    assert "排名末位" not in _text(data)


def test_hotspots_and_recurring_places():
    text = _text(sample())
    assert (
        "发现事件量异常升高的网格2个，以大桥镇1号网格最为突出（本期140件，为基线期望的2.3倍）；"
        "同一地点同类问题重复发生1处（涉及事件7件）。"
    ) in text


def test_no_hotspots_is_a_sentence_of_its_own():
    data = sample()
    for part in ("hotspots", "recurring"):
        data["hotspots"][part].update(total=0, items=[], tickets=0)
    assert "本期未发现事件量显著高于自身基线的网格，也未发现重复发生问题。" in _text(data)


def test_a_summary_of_an_empty_result_does_not_fail():
    paragraphs = narrative.summary({"meta": {"area_name": "嘉兴市", "label": "2026年10月"}})
    assert paragraphs == ["2026年10月，全市无应结案事件。"]


@pytest.mark.parametrize(
    ("name", "whole"),
    [
        ("嘉兴市", "全市"),
        ("南湖区", "全区"),
        ("海盐县", "全县"),
        ("大桥镇", "全镇"),
        ("建设街道", "全街道"),
        ("一号网格", "全辖区"),
    ],
)
def test_whole_area_word(name, whole):
    assert narrative.whole_area(name) == whole


def test_cells_follow_the_column_kind_and_percent_headers():
    t = {
        "columns": [
            ["coverage", "巡查覆盖率(%)"],
            ["online_rate", "在线率"],
            ["rank_change", "名次变化"],
            ["p_value", "P值"],
            ["count", "件数"],
            ["code", "编码"],
            ["mom", "环比"],
        ],
        "rows": [[87.3, 0.912, 2, 0.00001, 12345, "330402001", -0.05]],
    }
    kinds = column_kinds(t)
    cells = [
        fmt_cell(c[0], v, k) for c, v, k in zip(t["columns"], t["rows"][0], kinds, strict=True)
    ]
    assert cells == ["87.3", "91.2%", "+2", "<0.001", "12,345", "330402001", "-5.0%"]


def test_personal_columns_are_masked_for_the_readers_tier():
    data = sample()
    data["patrol"]["tables"]["staff"] = {
        "title": "网格员",
        "columns": [["name", "姓名"], ["phone", "电话"]],
        "rows": [["王芳", "13900001111"]],
        "personal": ["name", "phone"],
    }
    low, high = masked(data, Tier.L2), masked(data, Tier.L3)
    assert low["rankings"]["tables"]["workers"]["rows"][0][2] == "张*"
    assert high["rankings"]["tables"]["workers"]["rows"][0][2] == "张伟"
    assert low["patrol"]["tables"]["staff"]["rows"] == [["王*", "139****1111"]]
    workers = next(lv for lv in low["rankings"]["levels"] if lv["key"] == "workers")
    assert {r["name"] for r in workers["rows"]} == {"张*", "王*", "李*"}
    assert data["rankings"]["tables"]["workers"]["rows"][0][2] == "张伟"  # a copy was masked


def test_ranking_tables_mark_the_bottom_rows_and_cut_long_tables():
    towns = sample()["rankings"]["tables"]["towns"]
    out = html_table(towns, bottom=3)
    assert out.count('class="bottom"') == 3
    assert re.search(r'<tr class="bottom"><td class="n">8</td>', out)
    long = {
        "title": "网格",
        "columns": [["rank", "排名"], ["name", "网格"], ["score", "得分"]],
        "rows": [[i, f"网格{i}", 100.0 - i * 0.1] for i in range(1, 101)],
    }
    cut = html_table(long, bottom=3)
    assert "共 100 个单位参与排名，此处略去 80 个" in cut
    assert "网格1<" in cut and "网格100<" in cut and "网格50<" not in cut
    # Units with nothing to score are counted, not listed (and not taken as "behind").
    long["rows"] += [[101, f"空网格{i}", None] for i in range(500)]
    cut = html_table(long, bottom=3)
    assert "另有 500 个单位本期无可计算数据，未参与排名" in cut and "空网格" not in cut
    assert cut.count('class="bottom"') == 3 and "网格98<" in cut


def test_charts_are_deterministic_svg():
    a = line_chart(["9月", "10月"], [("结案率", [0.9, 0.95])], kind="rate", target=0.95)
    assert a == line_chart(["9月", "10月"], [("结案率", [0.9, 0.95])], kind="rate", target=0.95)
    assert a.startswith("<svg") and "95.0%" in a and "目标 95.0%" in a
    assert "暂无数据" in line_chart([], [("x", [])])
    b = bar_chart(["甲", "乙"], [90.0, 80.0], marked={1})
    assert b.count("#c8102e") == 2  # the marked bar and its label


def test_the_document_has_every_section_and_the_page_numbers():
    data = sample()
    out = render(masked(data, Tier.L3), org="网格化服务管理指挥中心")
    assert report_title(data) == "南湖区网格化服务管理月度运行分析报告"
    for heading in (
        "一、总体情况",
        "二、主要指标",
        "三、趋势",
        "四、排名",
        "五、热点与重复问题",
        "六、群众满意度",
        "七、巡查情况",
    ):
        assert heading in out
    assert "counter(page)" in out and "size: A4" in out
    assert "编制单位：网格化服务管理指挥中心" in out and "编制日期：2026年11月1日" in out
    closure = card(data, "closure_rate")
    assert f"<b>{fmt_value('rate', closure['value'])}</b>" in out
    assert "+2.1个百分点" in out and "<script" not in out


def test_categories_name_the_largest_and_the_fastest_rise_from_a_real_base():
    text = narrative.summary(sample())[0]
    # 其他 rose from 2 to 12 (+500 %) but from too small a base to be named.
    assert text.endswith(
        "从类别看，城市管理类事件最多（5,210件，占56.6%），生态环境类环比增幅最大（上升18.0%）。"
    )


def test_a_chart_with_only_a_target_says_there_is_no_data():
    svg = line_chart(["9月", "10月"], [("巡查覆盖率", [None, None])], kind="rate", target=0.9)
    assert "暂无数据" in svg and "目标" not in svg
