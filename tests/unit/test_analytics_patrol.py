"""Pure parts of the patrol analytics: the scheduled 5-minute buckets of a day, the month
pieces and day masks that periods are cut into, the demo's split of minutes over a worker's
grids (the rollup's rule), and the panel's rendering."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dashboard.analytics import patrol as panel
from domain.clock.work_calendar import WorkCalendar
from gridscope.demo.patrol import _split
from queries.analytics.patrol_build import schedule_buckets
from queries.analytics.patrol_counts import day_mask, pieces

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 16)


def test_a_working_day_has_its_450_minutes_in_whole_buckets():
    buckets, minutes = schedule_buckets(MONDAY, TZ, WorkCalendar())
    assert sum(minutes) == 450 and set(minutes) == {5}
    assert buckets[0] == (8 * 60 + 30) // 5 and buckets[-1] == (17 * 60 + 25) // 5
    assert (12 * 60) // 5 not in buckets and (13 * 60 + 30) // 5 in buckets


def test_the_schedule_is_cut_at_now_and_days_off_have_none():
    now = datetime(2026, 11, 16, 10, 2, 40, tzinfo=TZ)
    buckets, minutes = schedule_buckets(MONDAY, TZ, WorkCalendar(), now)
    assert sum(minutes) == 92 and minutes[-1] == 2 and buckets[-1] == 120
    early = datetime(2026, 11, 16, 7, 0, tzinfo=TZ)
    assert schedule_buckets(MONDAY, TZ, WorkCalendar(), early) == ([], [])
    assert schedule_buckets(date(2026, 10, 1), TZ, WorkCalendar()) == ([], [])  # National Day
    assert schedule_buckets(date(2026, 11, 21), TZ, WorkCalendar()) == ([], [])  # Saturday
    # A make-up working day (调休) on a Sunday is scheduled.
    assert sum(schedule_buckets(date(2026, 9, 20), TZ, WorkCalendar())[1]) == 450


def test_periods_off_the_five_minute_grid_weigh_buckets_by_their_overlap():
    cal = WorkCalendar(periods=((dt.time(8, 32), dt.time(9, 1)),))
    buckets, minutes = schedule_buckets(MONDAY, TZ, cal)
    assert dict(zip(buckets, minutes, strict=True)) == {
        (8 * 60 + 30) // 5: 3,
        (8 * 60 + 35) // 5: 5,
        (8 * 60 + 40) // 5: 5,
        (8 * 60 + 45) // 5: 5,
        (8 * 60 + 50) // 5: 5,
        (8 * 60 + 55) // 5: 5,
        (9 * 60) // 5: 1,
    }


def test_day_masks_and_month_pieces():
    assert day_mask(date(2026, 11, 1), date(2026, 11, 30)) == (1 << 30) - 1
    assert day_mask(date(2026, 10, 31), date(2026, 10, 31)) == 1 << 30
    assert day_mask(date(2026, 11, 3), date(2026, 11, 4)) == 0b1100
    p = pieces([(date(2026, 10, 25), date(2026, 12, 31)), (date(2026, 11, 1), date(2026, 11, 20))])
    assert p.multi == [0]
    assert p.vmonth == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1), date(2026, 11, 1)]
    assert p.fmonth == [date(2026, 11, 1), date(2026, 12, 1)] and p.fi == [0, 0]
    assert list(zip(p.pi, p.pa, p.pb, strict=True)) == [
        (0, date(2026, 10, 25), date(2026, 10, 31)),
        (1, date(2026, 11, 1), date(2026, 11, 20)),
    ]


@given(
    st.dates(date(2024, 1, 1), date(2027, 12, 31)),
    st.integers(0, 120),
)
def test_pieces_cover_every_day_of_a_period_exactly_once(first, span):
    last = first + timedelta(days=span)
    p = pieces([(first, last)])
    days = set()
    for month, mask in zip(p.vmonth, p.vmask, strict=True):
        for bit in range(31):
            if mask >> bit & 1:
                d = month + timedelta(days=bit)
                assert d.month == month.month and d not in days
                days.add(d)
    assert days == {first + timedelta(days=i) for i in range(span + 1)}
    whole = {
        month + timedelta(days=i)
        for month in p.fmonth
        for i in range(31)
        if (month + timedelta(days=i)).month == month.month
    }
    parts = {
        a + timedelta(days=i)
        for a, b in zip(p.pa, p.pb, strict=True)
        for i in range((b - a).days + 1)
    }
    assert not whole & parts and whole | parts == days


@given(st.integers(0, 10_000), st.integers(1, 5))
def test_the_demo_splits_minutes_like_the_rollup(total, n):
    k = np.arange(1, n + 1)
    parts = _split(np.full(n, total), np.full(n, n), k)
    assert parts.sum() == total and parts.max() - parts.min() <= 1
    assert list(parts) == sorted(parts, reverse=True)  # remainders to the first grids


def _data(coverage: float | None, online: float | None) -> dict:
    grid = {
        "code": "330402007024001",
        "name": "百福弄社区第1网格",
        "community": "百福弄社区",
        "micro_grids": 4,
        "visited": 3 if coverage is not None else 0,
        "coverage": coverage,
        "online_minutes": 300,
        "scheduled_minutes": 450,
        "online_rate": online,
        "workers": 2,
    }
    return {
        "period": "2026-10",
        "first_day": "2026-10-01",
        "last_day": "2026-10-31",
        "has_data": coverage is not None,
        "targets": {"patrol_coverage": 0.9},
        "totals": {
            "micro_grids_visited": grid["visited"],
            "micro_grids": 4 if coverage is not None else 0,
            "online_minutes": 300,
            "scheduled_minutes": 450,
            "coverage": coverage,
            "online_rate": online,
            "grids": 1,
            "micro_grids_current": 4,
        },
        "ranked": [grid],
        "worst": [grid],
        "areas": [],
        "tables": {},
    }


def _walk(c):
    yield c
    children = getattr(c, "children", None)
    if isinstance(children, list | tuple):
        for x in children:
            yield from _walk(x)
    elif children is not None:
        yield from _walk(children)


def test_the_panel_links_grids_to_the_workbench_and_marks_low_coverage():
    tree = panel.render(_data(0.75, 2 / 3), {"period": "2026-10", "scale": 1.0})
    links = [c.href for c in _walk(tree) if getattr(c, "href", None)]
    assert links and all(h.startswith("/explore?") for h in links)
    assert any("area=330402007024001" in h and "2026-10-01" in h for h in links)
    fills = [c for c in _walk(tree) if "sit-patrol-bar-fill" in (getattr(c, "className", "") or "")]
    assert fills and "is-low" in fills[0].className and fills[0].style == {"width": "75.0%"}
    text = " ".join(str(c) for c in _walk(tree) if isinstance(c, str))
    assert "75.0%" in text and "66.7%" in text


def test_the_panel_shows_a_dash_without_data_and_a_note_without_grids():
    tree = panel.render(_data(None, None), {"period": "2026-10", "scale": 1.0})
    text = " ".join(str(c) for c in _walk(tree) if isinstance(c, str))
    assert "—" in text and "75.0%" not in text and "期内无巡查记录" in text
    empty = _data(None, None)
    empty["totals"]["grids"] = 0
    assert "没有网格" in str(panel.render(empty, {"period": "2026-10"}).children)
