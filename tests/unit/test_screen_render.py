"""Plain-function tests of the big screen's builders (no database, no browser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from dash import no_update

from dashboard.screen import bars, kpi, theme, ticker, trend
from dashboard.screen.callbacks import (
    COUNTER_OUTPUTS,
    failed_counters,
    render_counters,
    updated_text,
)
from domain.measures import MEASURES
from queries.screen import Window, floor_time, rank_rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def texts(component) -> list[str]:
    """Every string in a Dash component tree, depth first."""
    if component is None:
        return []
    if isinstance(component, str | int | float):
        return [str(component)]
    if isinstance(component, list | tuple):
        return [t for c in component for t in texts(c)]
    return texts(getattr(component, "children", None))


def find(component, predicate) -> list:
    """Components in a tree for which ``predicate`` holds."""
    out = []
    if isinstance(component, list | tuple):
        for c in component:
            out += find(c, predicate)
        return out
    if component is None or isinstance(component, str | int | float):
        return out
    if predicate(component):
        out.append(component)
    return out + find(getattr(component, "children", None), predicate)


def css(component) -> str:
    return getattr(component, "className", "") or ""


# ---------------------------------------------------------------------------- formats


def test_formats():
    assert theme.fmt_int(12936) == "12,936"
    assert theme.fmt_int(None) == "—"
    assert theme.fmt_pct(0.9234) == "92.3%"
    assert theme.fmt_pct(None) == "—"  # nothing due: never 0 % or 100 %
    assert theme.fmt_minutes_zh(45) == "45分钟"
    assert theme.fmt_minutes_zh(200) == "3小时20分"
    assert theme.fmt_minutes_zh(120) == "2小时"
    assert theme.fmt_minutes_zh(3000) == "2天2小时"
    assert theme.fmt_minutes_zh(-5) == "0分钟"


# ---------------------------------------------------------------------------- time windows


def test_window_uses_local_day():
    # 16:30 UTC on the 21st is 00:30 on the 22nd in Shanghai: "today" is the 22nd.
    w = Window.at(datetime(2026, 11, 21, 16, 30, tzinfo=UTC), SHANGHAI)
    assert w.today.isoformat() == "2026-11-22"
    assert w.month_start.isoformat() == "2026-11-01"
    with pytest.raises(ValueError):
        Window.at(datetime(2026, 11, 21, 16, 30), SHANGHAI)


def test_floor_time():
    now = datetime(2026, 11, 22, 2, 47, 59, 900000, tzinfo=UTC)
    assert floor_time(now, 30) == datetime(2026, 11, 22, 2, 47, 30, tzinfo=UTC)
    assert floor_time(now, 10) == datetime(2026, 11, 22, 2, 47, 50, tzinfo=UTC)


# ---------------------------------------------------------------------------- KPI ribbon


KPIS = {
    "created_today": 1785,
    "self_resolved_today": 35,
    "closed_today": 712,
    "in_progress": 6001,
    "suspended": 799,
    "overdue": 3477,
    "warning": 210,
    "closure_rate": 0.901,
    "on_time_rate": None,
    "closed_mtd": 22217,
    "closed_on_time_mtd": 19461,
    "due_to_close_mtd": 24656,
    "workers_online": 2131,
    "grids": 1080,
    "month_start": "2026-11-01",
}


def test_kpi_cards_labels_values_and_formulas():
    cards = kpi.render_kpis(KPIS)
    assert [texts(c)[0] for c in cards] == [
        "今日上报",
        "今日结案",
        "处置中",
        "超期",
        "预警",
        "结案率",
        "按期结案率",
        "在线网格员",
    ]
    by_label = {texts(c)[0]: c for c in cards}
    assert texts(by_label["今日上报"])[1] == "1,785"
    assert texts(by_label["结案率"])[1] == "90.1%"
    assert texts(by_label["按期结案率"])[1] == "—"
    # The formula is on the card, with the period, so monthly is not read as cumulative.
    assert MEASURES["closure_rate"].formula_zh in by_label["结案率"].title
    assert MEASURES["on_time_rate"].formula_zh in by_label["按期结案率"].title
    assert "本月累计" in by_label["结案率"].title
    assert "本月 22,217/24,656" in texts(by_label["结案率"])
    assert "gs-kpi--danger" in css(by_label["超期"])


def test_kpi_cards_render_without_data():
    cards = kpi.render_kpis({})
    assert len(cards) == 8
    assert all(texts(c)[1] == "—" for c in cards)


# ---------------------------------------------------------------------------- map colours


def test_screen_layout_mounts_the_given_map_panel():
    from dash import html

    from dashboard.screen.layout import screen_layout
    from domain.config import Settings

    panel = html.Div(id="the-map")
    layout = screen_layout(Settings(), panel)
    assert find(layout, lambda c: getattr(c, "id", None) == "the-map")
    assert find(screen_layout(Settings()), lambda c: "gs-map-wrap" in css(c))


# ---------------------------------------------------------------------------- trend


def test_trend_figure_scales_text_and_is_transparent():
    rows = [{"day": f"2026-11-{d:02d}", "created": d, "closed": d - 1} for d in range(1, 31)]
    fig1 = trend.trend_figure(rows, 1.0)
    fig2 = trend.trend_figure(rows, 2.0)
    assert fig1["layout"]["font"]["size"] == 16
    assert fig2["layout"]["font"]["size"] == 32
    assert fig1["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert [t["name"] for t in fig1["data"]] == ["上报", "结案"]
    assert fig1["data"][0]["x"][-1] == "今日"
    assert fig1["data"][1]["y"][0] == 0
    assert "今日" in fig1["layout"]["xaxis"]["tickvals"]
    json.dumps(fig1)


# ---------------------------------------------------------------------------- bars


def test_category_bars():
    rows = bars.render_categories(
        [
            {"code": "09", "name": "城市管理", "count": 80},
            {"code": "06", "name": "安全隐患", "count": 20},
        ]
    )
    assert texts(rows[0])[:2] == ["城市管理", "80"]
    fills = find(rows, lambda c: css(c) == "gs-bar-fill")
    assert [f.style["width"] for f in fills] == ["100.0%", "25.0%"]
    assert "80%" in texts(rows[0])
    assert "近30日无事项" in texts(bars.render_categories([]))


def _town(code, composite, on_time):
    return {
        "code": code,
        "name": f"镇{code}",
        "composite": composite,
        "on_time_rate": on_time,
        "closure_rate": on_time,
        "closed": 1,
        "closed_on_time": 1,
        "open_past_due": 0,
        "reworked": 0,
    }


def test_rank_rows_ties_by_on_time_rate_and_none_last():
    ranked = rank_rows(
        [
            _town("a", 80.0, 0.7),
            _town("b", 90.0, 0.8),
            _town("c", 80.0, 0.9),
            _town("d", None, None),
            _town("e", 80.0, 0.9),
        ]
    )
    assert [r["code"] for r in ranked] == ["b", "c", "e", "a", "d"]
    assert [r["rank"] for r in ranked] == [1, 2, 2, 4, 5]


def test_ranking_shows_leaders_and_last_three():
    rows = rank_rows([_town(f"{i:02d}", 100.0 - i, 0.5) for i in range(18)])
    shown = bars.ranking_rows_shown(rows, limit=10)
    assert len(shown) == 11 and shown[7] is None
    assert shown[-1]["code"] == "17"
    table = bars.render_ranking(rows)
    assert "⋯" in texts(table)
    assert "镇17" in texts(table)
    assert len(bars.ranking_rows_shown(rows[:5])) == 5
    assert "暂无镇街数据" in texts(bars.render_ranking([]))


def test_basic_panel():
    basic = {
        "grids": {
            "total": 10,
            "comprehensive": 8,
            "exclusive": 2,
            "exclusive_kinds": [{"kind": "school", "count": 2}],
        },
        "micro_grids": 30,
        "households": 1234,
        "population": 5678,
        "staff": [
            {"role": "grid_chief", "count": 5},
            {"role": "fulltime_worker", "count": 10},
            {"role": "parttime_worker", "count": 10},
        ],
        "online": {"total": 12, "by_role": {"fulltime_worker": 8, "parttime_worker": 4}},
    }
    out = texts(bars.render_basic(basic))
    assert "1,234" in out and "专职网格员" in out and "在线 8" in out
    assert "12/20" in out
    assert "网格长" in out and "综合网格" in out  # roles and grid types named from domain
    titles = [c.title for c in find(bars.render_basic(basic), lambda c: getattr(c, "title", None))]
    assert any("学校2" in t for t in titles)


# ---------------------------------------------------------------------------- ticker

# A ticker item as queries.screen.ticker returns it: codes, named by the dashboard.
ITEM = {
    "ticket_no": "JX20261122000001",
    "major": "城市管理",
    "minor": "占道经营",
    "grid": "新嘉东社区第1网格",
    "state": "in_progress",
    "stage": "T5",
    "urgent": True,
    "supervision": 3,
    "overdue_min": 200,
}


def test_ticker_tags_and_items():
    assert ticker.ticker_tags(ITEM) == [
        ("红牌督办", "red"),
        ("紧急", "urgent"),
        ("超期 3小时20分", "overdue"),
    ]
    children, style = ticker.render_ticker([ITEM, ITEM | {"ticket_no": "X2"}])
    # Two identical runs so the CSS loop is seamless.
    assert len(children) == 2 and texts(children[0]) == texts(children[1])
    assert "处置环节" in texts(children[0])
    assert "城市管理·占道经营" in texts(children[0])
    # outside a stage the state is shown; a reminder is named as the ladder names it
    outside = ITEM | {"stage": None, "state": "suspended", "supervision": 1}
    assert "挂账" in texts(ticker.render_ticker_item(outside))
    assert ticker.ticker_tags(outside)[0] == ("预警提醒", "blue")
    assert style["animationDuration"].endswith("s")


def test_ticker_empty_is_calm():
    children, style = ticker.render_ticker([])
    assert "当前无紧急、超期或督办事项" in texts(children)
    assert style["animationName"] == "none"


# ---------------------------------------------------------------------------- whole refresh

PAYLOAD = {
    "version": 7,
    "as_of": "2026-11-22T10:47:30+08:00",
    "as_of_ms": 1_795_000_000_000,
    "scope": "",
    "jurisdiction": "南湖区",
    "kpis": KPIS,
    "trend": [{"day": "2026-11-22", "created": 3, "closed": 1}],
    "categories": [{"code": "09", "name": "城市管理", "count": 3}],
    "ranking": [],
    "basic": {"grids": {}, "staff": [], "online": {"by_role": {}}},
}


def test_render_counters_fills_every_output():
    now = datetime(2026, 11, 22, 2, 47, 40, tzinfo=UTC)
    out = render_counters(PAYLOAD, 2.0, 30000, now)
    assert len(out) == len(COUNTER_OUTPUTS)
    got = dict(zip(COUNTER_OUTPUTS, out, strict=True))
    assert got[("gs-jurisdiction", "children")] == "南湖区"
    assert got[("gs-updated", "children")] == "数据更新于 10:47:30"
    assert got[("gs-trend", "figure")]["layout"]["font"]["size"] == 32
    status = got[("gs-status", "data")]
    assert status["ok"] is True and status["server_ms"] == int(now.timestamp() * 1000)
    # no unit named by the scope: the dashboard's fallbacks
    unnamed = render_counters(PAYLOAD | {"jurisdiction": None, "scope": "330402"}, 1.0, 1, now)
    assert unnamed[COUNTER_OUTPUTS.index(("gs-jurisdiction", "children"))] == "辖区 330402"
    unnamed = render_counters(PAYLOAD | {"jurisdiction": None}, 1.0, 1, now)
    assert unnamed[COUNTER_OUTPUTS.index(("gs-jurisdiction", "children"))] == "全辖区"


def test_failed_refresh_keeps_data_and_flags_stale():
    now = datetime(2026, 11, 22, 2, 47, 40, tzinfo=UTC)
    out = failed_counters({"ok": True, "as_of_ms": 5}, 30000, now)
    assert len(out) == len(COUNTER_OUTPUTS)
    assert all(o is no_update for o in out[:-1])
    assert out[-1]["ok"] is False and out[-1]["as_of_ms"] == 5


def test_updated_text():
    assert updated_text("2026-11-22T10:47:30+08:00") == "数据更新于 10:47:30"
    assert updated_text("") == "数据更新于 —"
