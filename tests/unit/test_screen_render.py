"""Plain-function tests of the big screen's display data (what the feeds send; the browser only
draws it) and of its layout (no database, no browser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard import feeds
from dashboard.screen import bars, kpi, theme, ticker, trend
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
    cards = kpi.kpi_cards(KPIS)
    assert [c["label"] for c in cards] == [
        "今日上报",
        "今日结案",
        "处置中",
        "超期",
        "预警",
        "结案率",
        "按期结案率",
        "在线网格员",
    ]
    by_label = {c["label"]: c for c in cards}
    assert by_label["今日上报"]["value"] == "1,785"
    assert by_label["结案率"]["value"] == "90.1%"
    assert by_label["按期结案率"]["value"] == "—"
    # The formula is on the card, with the period, so monthly is not read as cumulative.
    assert MEASURES["closure_rate"].formula_zh in by_label["结案率"]["title"]
    assert MEASURES["on_time_rate"].formula_zh in by_label["按期结案率"]["title"]
    assert "本月累计" in by_label["结案率"]["title"]
    assert by_label["结案率"]["caption"] == "本月 22,217/24,656"
    assert by_label["超期"]["tone"] == "danger"
    json.dumps(cards)


def test_kpi_cards_without_data_and_the_skeleton():
    cards = kpi.kpi_cards({})
    assert len(cards) == 8 and all(c["value"] == "—" for c in cards)
    skeleton = kpi.kpi_skeleton()
    assert [getattr(c, "data-key") for c in skeleton] == [c["key"] for c in cards]
    assert [texts(c)[:2] for c in skeleton] == [[c["label"], "—"] for c in cards]


# ---------------------------------------------------------------------------- map colours


def test_screen_layout_mounts_the_given_map_panel():
    from dash import html

    from dashboard.screen.layout import screen_layout
    from domain.config import Settings

    panel = html.Div(id="the-map")
    layout = screen_layout(Settings(), panel)
    assert find(layout, lambda c: getattr(c, "id", None) == "the-map")
    assert find(screen_layout(Settings()), lambda c: "gs-map-wrap" in css(c))


def test_the_screen_has_no_server_refresh_and_names_its_feeds():
    """The wall polls feeds from the browser: no interval, no store to refresh, every panel
    body empty for the JS, an as-of per panel, the feeds and their periods in data-feeds."""
    from dash import dcc

    from dashboard.screen.layout import feeds_config, screen_layout
    from domain.config import Settings

    settings = Settings(refresh_counters_s=40, refresh_alerts_s=12)
    layer = {"panel": "layer-grids", "store": "scr-layer-grids-payload", "period_s": 40}
    layout = screen_layout(settings, feeds=feeds_config(settings, [layer], board=True))
    assert not find(layout, lambda c: isinstance(c, dcc.Interval | dcc.Store))
    for body in ("gs-basic", "gs-categories", "gs-ranking", "gs-ticker-track"):
        [el] = find(layout, lambda c, b=body: getattr(c, "id", None) == b)
        assert el.children is None, body  # the JS owns it: React never reconciles it
    asofs = [getattr(c, "data-feed") for c in find(layout, lambda c: "gs-asof" in css(c))]
    assert asofs.count("counters") == 4 and "ticker" in asofs
    config = json.loads(getattr(layout, "data-feeds"))
    assert {p["panel"]: p["period_s"] for p in config["panels"]} == {
        "counters": 40,
        "ticker": 12,
        "board": 12,
        "layer-grids": 40,
    }
    assert config["tz"] == settings.timezone


# ---------------------------------------------------------------------------- trend


def test_trend_series():
    rows = [{"day": f"2026-11-{d:02d}", "created": d, "closed": d - 1} for d in range(1, 31)]
    view = trend.trend_view(rows)
    assert [x["name"] for x in view["series"]] == ["上报", "结案"]
    assert view["labels"][0] == "11/01" and view["labels"][-1] == "今日"
    assert view["series"][1]["y"][0] == 0
    assert "今日" in view["tickvals"] and len(view["tickvals"]) == 6
    assert view["style"]["text"] == theme.TEXT
    assert trend.trend_view([]) == trend.trend_view([]) and trend.trend_view([])["labels"] == []
    json.dumps(view)


# ---------------------------------------------------------------------------- bars


def test_category_bars():
    rows = bars.category_rows(
        [
            {"code": "09", "name": "城市管理", "count": 80},
            {"code": "06", "name": "安全隐患", "count": 20},
        ]
    )
    assert [(r["name"], r["count"], r["share"]) for r in rows] == [
        ("城市管理", "80", "80%"),
        ("安全隐患", "20", "20%"),
    ]
    assert [r["width"] for r in rows] == ["100.0%", "25.0%"]
    assert [r["tone"] for r in rows] == [0, 1]
    assert bars.category_rows([]) == []


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
    view = bars.ranking_view(rows)
    assert {"gap": True} in view["rows"]
    assert view["rows"][-1]["name"] == "镇17" and view["rows"][-1]["last"] is True
    assert [r["top"] for r in view["rows"][:4]] == [1, 2, 3, 0]
    assert view["rows"][0]["score"] == "100.0" and view["rows"][0]["rate"] == "50.0%"
    assert view["head"]["score_title"] == MEASURES["composite"].formula_zh
    assert len(bars.ranking_rows_shown(rows[:5])) == 5
    assert bars.ranking_view([])["rows"] == []


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
    view = bars.basic_view(basic)
    assert [s["label"] for s in view["stats"]] == ["网格总数", "综合网格", "专属网格"]
    assert view["small"][0] == {"label": "户数", "value": "1,234", "main": False, "title": ""}
    assert "学校2" in view["stats"][2]["title"]  # kinds named from domain
    assert view["staff"][0] == {"name": "网格长", "num": "5", "online": ""}
    assert view["staff"][1]["online"] == "在线 8"
    assert view["online"]["text"] == "12/20" and view["online"]["share"] == "60.0%"


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
    view = ticker.ticker_view([ITEM, ITEM | {"ticket_no": "X2"}])
    first = view["items"][0]
    assert first["stage"] == "处置环节" and first["category"] == "城市管理·占道经营"
    assert first["tags"][0] == ["红牌督办", "red"] and first["no"] == ITEM["ticket_no"]
    assert view["duration_s"] == 20
    # outside a stage the state is shown; a reminder is named as the ladder names it
    outside = ITEM | {"stage": None, "state": "suspended", "supervision": 1}
    assert ticker.ticker_view([outside])["items"][0]["stage"] == "挂账"
    assert ticker.ticker_tags(outside)[0] == ("预警提醒", "blue")


def test_ticker_empty_is_calm():
    view = ticker.ticker_view([])
    assert view["items"] == [] and view["duration_s"] == 0
    assert view["calm"] == "当前无紧急、超期或督办事项"


# ---------------------------------------------------------------------------- the feeds


def test_every_panel_and_layer_has_a_feed():
    from layers.registry import LAYERS

    assert {"counters", "ticker"} <= set(feeds.PANELS)
    assert {f"layer-{x.id}" for x in LAYERS} <= set(feeds.PANELS)


def test_layer_options_are_checked_against_their_allowlists():
    parse = feeds.PANELS["layer-grids"].options
    assert parse({"level": "grid", "measure": "open", "window": "7d"}) == {
        "level": "grid",
        "measure": "open",
        "window": "7d",
    }
    for bad in ({"level": "planet"}, {"palette": "heat"}, {"focus": "x y"}, {"nope": "1"}):
        with pytest.raises(feeds.BadFeedRequest):
            parse(bad)
    with pytest.raises(feeds.BadFeedRequest):
        feeds.PANELS["counters"].options({"window": "today"})
