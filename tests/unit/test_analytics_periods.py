"""Reporting periods of /analytics: keys, 环比 and 同比 periods, the 12-period series, the cut
at "now" (like-for-like comparisons), and refusals that name what is wrong."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.analytics.periods import (
    Period,
    PeriodError,
    containing,
    default_period,
    parse_period,
)

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("key", "start", "end", "label"),
    [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31), "2026年10月"),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), "2026年2月"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024年2月"),
        ("2026-W43", date(2026, 10, 19), date(2026, 10, 25), "2026年第43周"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "2026年第3季度"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026年"),
        (
            "2026-10-01..2026-10-15",
            date(2026, 10, 1),
            date(2026, 10, 15),
            "2026年10月1日至2026年10月15日",
        ),
    ],
)
def test_keys_parse_to_their_days_and_back(key, start, end, label):
    p = parse_period(key)
    assert (p.start, p.end, p.label_zh) == (start, end, label)
    assert p.key == key
    assert parse_period(p.key) == p


@pytest.mark.parametrize(
    ("key", "previous", "year_ago"),
    [
        ("2026-10", "2026-09", "2025-10"),
        ("2026-01", "2025-12", "2025-01"),
        ("2026-03", "2026-02", "2025-03"),
        ("2026-W01", "2025-W52", "2025-W01"),
        ("2026-Q1", "2025-Q4", "2025-Q1"),
        ("2026", "2025", "2025"),
        ("2026-10-01..2026-10-15", "2026-09-16..2026-09-30", "2025-10-01..2025-10-15"),
        ("2024-02-29..2024-03-01", "2024-02-27..2024-02-28", "2023-02-28..2023-03-01"),
    ],
)
def test_previous_and_year_ago(key, previous, year_ago):
    p = parse_period(key)
    assert p.previous().key == previous
    assert p.year_ago().key == year_ago


def test_a_period_under_way_is_cut_at_today_and_compared_like_for_like():
    now = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    p = parse_period("2026-11").cut(now, TZ)
    assert (p.start, p.end, p.full_end) == (
        date(2026, 11, 1),
        date(2026, 11, 26),
        date(2026, 11, 30),
    )
    assert p.cut_short and p.label_zh == "2026年11月（截至11月26日）"
    prev, yoy = p.previous(), p.year_ago()
    assert (prev.start, prev.end) == (date(2026, 10, 1), date(2026, 10, 26))
    assert (yoy.start, yoy.end) == (date(2025, 11, 1), date(2025, 11, 26))
    assert p.end_instant(now, TZ) == now
    assert default_period(now, TZ) == p
    # A past period ends at the local midnight after its last day.
    october = parse_period("2026-10").cut(now, TZ)
    assert october.end_instant(now, TZ) == datetime(2026, 11, 1, tzinfo=TZ)


def test_series_is_twelve_consecutive_whole_periods_ending_with_this_one():
    now = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
    s = parse_period("2026-11").cut(now, TZ).series(12)
    assert [p.key for p in s][:3] == ["2025-12", "2026-01", "2026-02"]
    assert s[-1].cut_short and not any(p.cut_short for p in s[:-1])
    for a, b in zip(s, s[1:], strict=False):
        assert a.full_end + timedelta(days=1) == b.start


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("", "no period"),
        ("2026-13", "names no calendar period"),
        ("2026-W54", "names no calendar period"),
        ("2026-Q5", "is not one of"),
        ("1999-10", "before 2000"),
        ("2026-10-05..2026-10-01", "ends before it starts"),
        ("2020-01-01..2026-01-01", "longer than"),
        ("last month", "is not one of"),
        ("2026-10'; drop table ticket; --", "is not one of"),
    ],
)
def test_bad_keys_are_refused_with_a_reason(key, words):
    with pytest.raises(PeriodError, match=words):
        parse_period(key)


def test_a_period_that_has_not_started_is_refused():
    now = datetime(2026, 11, 26, tzinfo=UTC)
    with pytest.raises(PeriodError, match="has not started"):
        parse_period("2027-01").cut(now, TZ)


@given(
    kind=st.sampled_from(["month", "week", "quarter", "year"]),
    day=st.dates(min_value=date(2001, 1, 1), max_value=date(2098, 12, 31)),
)
def test_any_whole_period_contains_its_day_and_chains(kind, day):
    p = containing(kind, day)
    assert p.start <= day <= p.end
    assert parse_period(p.key) == p
    assert p.previous().full_end + timedelta(days=1) == p.start
    y = p.year_ago()
    assert y.start.year in (p.start.year - 1, p.start.year - 2) or kind == "week"
    assert isinstance(y, Period) and y.kind == kind
