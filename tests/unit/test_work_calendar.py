"""The work calendar (domain.clock.work_calendar): days, hours and both clocks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clock.work_calendar import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def local(y, mo, d, h=0, mi=0, s=0):
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SH)


def utc64(t: dt.datetime) -> np.datetime64:
    return np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us")


def from64(a: np.datetime64) -> dt.datetime:
    return a.astype(dt.datetime).replace(tzinfo=dt.UTC)


# ---- days ---------------------------------------------------------------------------------


def test_weekends_are_days_off():
    assert CAL.is_workday(dt.date(2025, 3, 7))  # Friday
    assert not CAL.is_workday(dt.date(2025, 3, 8))  # Saturday
    assert not CAL.is_workday(dt.date(2025, 3, 9))  # Sunday


def test_spring_festival_2025_and_make_up_days():
    # 国务院办公厅通知: 1月28日至2月4日放假调休, 1月26日(周日)、2月8日(周六)上班.
    for day in range(28, 32):
        assert not CAL.is_workday(dt.date(2025, 1, day))
    for day in range(1, 5):
        assert not CAL.is_workday(dt.date(2025, 2, day))
    assert CAL.is_workday(dt.date(2025, 1, 26))  # Sunday, make-up working day
    assert CAL.is_workday(dt.date(2025, 2, 8))  # Saturday, make-up working day
    assert CAL.is_workday(dt.date(2025, 2, 5))
    assert CAL.holiday_name(dt.date(2025, 1, 29)) == "Spring Festival"
    assert CAL.holiday_name(dt.date(2025, 1, 26)) is None


def test_overrides_win_and_rows_round_trip():
    cal = CAL.with_overrides({dt.date(2025, 3, 7): False, dt.date(2025, 3, 8): True})
    assert not cal.is_workday(dt.date(2025, 3, 7))
    assert cal.is_workday(dt.date(2025, 3, 8))
    assert CAL.is_workday(dt.date(2025, 3, 7))  # the original is unchanged
    rows = CAL.official_rows(dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    days = {r["day"]: r["is_workday"] for r in rows}
    assert days[dt.date(2025, 1, 26)] is True and days[dt.date(2025, 1, 28)] is False
    assert WorkCalendar.from_rows(rows, seed_official=False).is_workday(dt.date(2025, 1, 26))


def test_unknown_years_fall_back_to_monday_to_friday(caplog):
    cal = WorkCalendar()
    assert cal.is_workday(dt.date(2031, 1, 1))  # a Wednesday; no holiday data for 2031
    assert not cal.is_workday(dt.date(2031, 1, 4))
    assert "no holiday data for 2031" in caplog.text


# ---- hours and the two clocks --------------------------------------------------------------


def test_calendar_units_ignore_working_hours():
    start = local(2025, 1, 27, 23, 0)  # Monday night before the Spring Festival
    assert CAL.add(start, 24, "h") == local(2025, 1, 28, 23, 0)
    assert CAL.add(start, 30, "min") == local(2025, 1, 27, 23, 30)


def test_lunch_break_is_skipped():
    assert CAL.add(local(2025, 3, 7, 11, 30), 1, "wh") == local(2025, 3, 7, 14, 0)
    assert CAL.add(local(2025, 3, 7, 11, 0), 1, "wh") == local(2025, 3, 7, 12, 0)
    assert CAL.work_minutes_between(local(2025, 3, 7, 11, 0), local(2025, 3, 7, 14, 0)) == 90


def test_starts_outside_hours_begin_at_the_next_working_minute():
    # Friday evening → Monday 08:30 + 1 h.
    assert CAL.add(local(2025, 3, 7, 19, 0), 1, "wh") == local(2025, 3, 10, 9, 30)
    # Lunch break → 13:30.
    assert CAL.add(local(2025, 3, 7, 12, 15), 0.5, "wh") == local(2025, 3, 7, 14, 0)
    # Early morning.
    assert CAL.add(local(2025, 3, 7, 6, 0), 1, "wh") == local(2025, 3, 7, 9, 30)
    assert CAL.next_working_instant(local(2025, 3, 8, 10, 0)) == local(2025, 3, 10, 8, 30)


def test_working_days_keep_the_time_of_day():
    # 1 WD from Friday 10:00 ends Monday 10:00; 3 WD from 24 Jan 2025 (Friday) skip the
    # weekend but count Sunday 26 Jan, a make-up working day.
    assert CAL.add(local(2025, 3, 7, 10, 0), 1, "wd") == local(2025, 3, 10, 10, 0)
    assert CAL.add(local(2025, 1, 24, 10, 0), 1, "wd") == local(2025, 1, 26, 10, 0)
    assert CAL.add(local(2025, 1, 24, 10, 0), 2, "wd") == local(2025, 1, 27, 10, 0)
    # The Spring Festival holiday (28 Jan – 4 Feb) is skipped entirely.
    assert CAL.add(local(2025, 1, 27, 10, 0), 1, "wd") == local(2025, 2, 5, 10, 0)
    # Started outside hours: the close of business of the N-th working day.
    assert CAL.add(local(2025, 3, 7, 18, 0), 1, "wd") == local(2025, 3, 10, 17, 30)


def test_warning_at_eighty_percent_on_the_stage_clock():
    start = local(2025, 3, 7, 9, 0)
    due = CAL.add(start, 1, "wd")
    warn = CAL.warn_at(start, due, 1, "wd")
    assert CAL.work_minutes_between(start, warn) == 0.8 * CAL.work_minutes_per_day
    assert CAL.warn_at(start, None, 24, "h") == start + dt.timedelta(hours=19, minutes=12)


def test_naive_datetimes_and_bad_units_are_refused():
    with pytest.raises(ValueError):
        CAL.add(dt.datetime(2025, 3, 7, 9), 1, "wh")
    with pytest.raises(ValueError):
        CAL.add(local(2025, 3, 7, 9), 1, "days")
    with pytest.raises(ValueError):
        CAL.add(local(2025, 3, 7, 9), -1, "wh")


def test_custom_periods():
    cal = WorkCalendar(periods=[("09:00", "12:00"), ("14:00", "18:00")])
    assert cal.work_minutes_per_day == 420
    assert cal.add(local(2025, 3, 7, 11, 0), 2, "wh") == local(2025, 3, 7, 15, 0)


def test_vectorised_nat_and_nan():
    starts = np.array([utc64(local(2025, 3, 7, 9)), np.datetime64("NaT")], "datetime64[us]")
    out = CAL.add_many(starts, np.array([1.0, 1.0]), "wh")
    assert from64(out[0]) == local(2025, 3, 7, 10) and np.isnat(out[1])
    out = CAL.add_many(starts[:1], np.array([np.nan]), "wd")
    assert np.isnat(out[0])


# ---- properties ---------------------------------------------------------------------------

instants = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),
    max_value=dt.datetime(2026, 6, 30),
    timezones=st.just(dt.UTC),
)
units = st.sampled_from(["min", "h", "wh", "wd"])
amounts = st.one_of(
    st.just(0.0),
    st.floats(min_value=0, max_value=20, allow_nan=False),
    st.integers(min_value=0, max_value=15).map(float),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(instants, amounts), min_size=1, max_size=20), units)
def test_scalar_and_vectorised_agree(pairs, unit):
    starts = np.array([utc64(s) for s, _ in pairs], "datetime64[us]")
    values = np.array([a for _, a in pairs])
    out = CAL.add_many(starts, values, unit)
    for (s, a), o in zip(pairs, out, strict=True):
        assert CAL.add(s, a, unit) == from64(o)
    dues = out
    warn = CAL.warn_at_many(starts, dues, unit)
    for (s, a), d, w in zip(pairs, dues, warn, strict=True):
        assert CAL.warn_at(s, from64(d), a, unit) == from64(w)
    mins = CAL.work_minutes_between_many(starts, dues)
    for (s, _), d, m in zip(pairs, dues, mins, strict=True):
        assert CAL.work_minutes_between(s, from64(d)) == m


@settings(max_examples=200, deadline=None)
@given(instants, st.floats(min_value=0, max_value=200, allow_nan=False))
def test_add_then_work_minutes_between_round_trips(start, hours):
    end = CAL.add(start, hours, "wh")
    assert CAL.work_minutes_between(start, end) == pytest.approx(hours * 60, abs=1e-6)
    # The end lies in working time (or at the end of a period), never in a gap.
    assert CAL.add(CAL.next_working_instant(start), hours, "wh") == end


@settings(max_examples=200, deadline=None)
@given(instants, instants, amounts, st.sampled_from(["wh", "wd"]))
def test_monotonic(a, b, amount, unit):
    a, b = min(a, b), max(a, b)
    assert CAL.add(a, amount, unit) <= CAL.add(b, amount, unit)
    assert CAL.add(a, amount, unit) <= CAL.add(a, amount + 0.5, unit)
    assert CAL.add(a, amount, unit) >= a
