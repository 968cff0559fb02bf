"""The calendar's pure parts: re-timing clocks after a change (domain/clock/retime.py), reading
and planning edits (calendar_edit), the year view (calendar_days) and the unconfirmed-years
rule (calendar_years). Dates are in 2027, a year chinese_calendar 1.11 does not know."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.clock.calendar_days import holiday_runs, year_days
from domain.clock.calendar_edit import (
    CalendarInputError,
    DayEdit,
    new_overrides,
    parse_kind,
    parse_span,
    plan,
    read_csv,
    span_edits,
)
from domain.clock.calendar_years import base_is_workday, package_knows, unconfirmed
from domain.clock.limits import DEFAULT_STAGE_LIMITS
from domain.clock.retime import (
    TaskTimes,
    TicketTimes,
    event_data,
    moved,
    retime_task,
    retime_ticket,
)
from domain.clock.work_calendar import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
OLD = WorkCalendar(overrides={})
HOLIDAY = dt.date(2027, 2, 8)  # a Monday
NEW = WorkCalendar(overrides={HOLIDAY: False})


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH).astimezone(UTC)


def ticket(start: dt.datetime, **kw) -> TicketTimes:
    """An in_progress ticket of category 0401 (T5 = 5 wd) dispatched at ``start``."""
    due = OLD.add(start, 5, "wd")
    fields = dict(
        id=1,
        created_at=start - dt.timedelta(hours=2),
        category_code="0401",
        urgency="normal",
        state="in_progress",
        stage="T5",
        stage_started_at=start,
        stage_warn_at=OLD.warn_at(start, due, unit="wd"),
        stage_due_at=due,
        due_at=due,
        original_due_at=due,
        extension_count=0,
    )
    fields.update(kw)
    return TicketTimes(**fields)


# ---- re-timing -------------------------------------------------------------------------------


def test_a_holiday_inside_the_clock_moves_the_due_by_one_working_day():
    t = ticket(local(2027, 2, 1, 9, 0))  # Monday: 5 wd end Monday 2027-02-08 09:00
    assert t.due_at == local(2027, 2, 8, 9, 0)
    moves = retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS)
    new_due = local(2027, 2, 9, 9, 0)
    assert moves == {
        "stage_due_at": (t.due_at, new_due),
        "due_at": (t.due_at, new_due),
        "original_due_at": (t.due_at, new_due),
    }  # the warning (80 %: Friday 09:00) lies before the holiday and stays


def test_a_clock_that_ends_before_the_changed_day_does_not_move():
    t = ticket(local(2027, 1, 25, 9, 0))  # due Monday 2027-02-01 09:00
    assert retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS) == {}


def test_a_clock_that_starts_after_the_changed_day_does_not_move():
    t = ticket(local(2027, 2, 9, 9, 0))
    assert retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS) == {}


def test_closed_tickets_are_never_touched():
    t = ticket(local(2027, 2, 1, 9, 0), state="closed", stage="T7")
    assert retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS) == {}


def test_a_holiday_early_in_the_clock_moves_the_warning_too():
    t = ticket(local(2027, 2, 1, 9, 0))
    new = WorkCalendar(overrides={dt.date(2027, 2, 2): False})  # Tuesday
    moves = retime_ticket(t, OLD, new, DEFAULT_STAGE_LIMITS)
    assert moves["stage_warn_at"] == (local(2027, 2, 5, 9, 0), local(2027, 2, 8, 9, 0))
    assert moves["due_at"][1] == local(2027, 2, 9, 9, 0)


def test_a_make_up_working_day_brings_the_due_earlier():
    t = ticket(local(2027, 2, 1, 9, 0))
    new = WorkCalendar(overrides={dt.date(2027, 2, 6): True})  # Saturday worked
    assert retime_ticket(t, OLD, new, DEFAULT_STAGE_LIMITS)["due_at"][1] == local(2027, 2, 6, 9, 0)


def test_entering_then_removing_a_day_gives_the_original_instants_back():
    t = ticket(local(2027, 2, 1, 10, 17))
    there = retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS)
    moved_t = TicketTimes(**{**t.__dict__, **{c: new for c, (_, new) in there.items()}})
    back = retime_ticket(moved_t, NEW, OLD, DEFAULT_STAGE_LIMITS)
    assert {c: new for c, (_, new) in back.items()} == {c: old for c, (old, _) in there.items()}


def test_an_extension_keeps_the_working_time_it_granted():
    start = local(2027, 2, 1, 9, 0)
    extended = local(2027, 2, 10, 17, 30)  # Wednesday close of business
    t = ticket(start, due_at=extended, stage_due_at=extended, extension_count=1)
    moves = retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS)
    assert moves["original_due_at"][1] == local(2027, 2, 9, 9, 0)  # the statutory limit
    assert moves["due_at"][1] == local(2027, 2, 11, 17, 30)  # one working day later as well
    assert moves["stage_due_at"][1] == moves["due_at"][1]


def test_an_off_hours_instant_keeps_its_distance_past_the_last_working_minute():
    start = local(2027, 2, 1, 9, 0)
    late = local(2027, 2, 10, 20, 0)  # 20:00, after hours
    assert (
        moved(OLD, WorkCalendar(overrides={dt.date(2027, 3, 1): False}), start, late, "wd") == late
    )
    assert moved(OLD, NEW, start, late, "wd") == local(2027, 2, 11, 20, 0)


def test_calendar_clock_stages_do_not_move():
    start = local(2027, 2, 7, 12, 0)
    t = ticket(
        start,
        state="feedback",
        stage="T6",
        stage_due_at=start + dt.timedelta(hours=24),
        stage_warn_at=start + dt.timedelta(hours=19, minutes=12),
    )
    assert retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS) == {}  # T6 24 h; handling finished


def test_a_suspended_ticket_keeps_the_working_time_left_at_the_suspension():
    suspended_at = local(2027, 2, 3, 9, 0)
    due = local(2027, 2, 8, 9, 0)
    t = ticket(
        suspended_at, state="suspended", stage=None, stage_warn_at=None, stage_due_at=None,
        due_at=due, original_due_at=due,
    )  # fmt: skip
    moves = retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS)
    assert moves == {
        "due_at": (due, local(2027, 2, 9, 9, 0)),
        "original_due_at": (due, local(2027, 2, 9, 9, 0)),
    }


def test_a_returned_ticket_keeps_its_stale_handling_due():
    start = local(2027, 2, 5, 17, 0)  # Friday 17:00: T3 1 wh ends Monday 09:00 → holiday
    stale = local(2027, 2, 8, 9, 0)
    t = ticket(
        start,
        state="returned",
        stage="T3",
        stage_due_at=OLD.add(start, 1, "wh"),
        stage_warn_at=OLD.warn_at(start, amount=1, unit="wh"),
        due_at=stale,
        original_due_at=stale,
    )
    moves = retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS)
    assert set(moves) == {"stage_due_at", "stage_warn_at"}
    assert moves["stage_due_at"] == (local(2027, 2, 8, 9, 0), local(2027, 2, 9, 9, 0))


def test_tasks_move_their_dues_and_an_unsigned_one_its_sign_due():
    at = local(2027, 2, 5, 9, 0)  # Friday: T4 1 wd ends Monday 09:00
    due = OLD.add(at, 5, "wd")
    task = TaskTimes(
        id=7, ticket_id=1, ticket_created_at=at, category_code="0401", urgency="normal",
        state="dispatched", dispatched_at=at, sign_due_at=OLD.add(at, 1, "wd"),
        due_at=due, original_due_at=due,
    )  # fmt: skip
    moves = retime_task(task, OLD, NEW, DEFAULT_STAGE_LIMITS)
    assert moves["sign_due_at"] == (local(2027, 2, 8, 9, 0), local(2027, 2, 9, 9, 0))
    assert moves["due_at"][1] == moves["original_due_at"][1] == local(2027, 2, 15, 9, 0)
    signed = TaskTimes(**{**task.__dict__, "state": "signed"})
    assert "sign_due_at" not in retime_task(signed, OLD, NEW, DEFAULT_STAGE_LIMITS)
    done = TaskTimes(**{**task.__dict__, "state": "feedback"})
    assert retime_task(done, OLD, NEW, DEFAULT_STAGE_LIMITS) == {}


def test_event_data_names_the_days_and_the_old_and_new_instants():
    t = ticket(local(2027, 2, 1, 9, 0))
    data = event_data(retime_ticket(t, OLD, NEW, DEFAULT_STAGE_LIMITS), {}, ["2027-02-08"])
    assert data["calendar_days"] == ["2027-02-08"]
    assert data["ticket"]["due_at"] == {
        "old": "2027-02-08T01:00:00+00:00",
        "new": "2027-02-09T01:00:00+00:00",
    }


@settings(max_examples=60, deadline=None)
@given(
    start_min=st.integers(0, 40 * 24 * 60),
    amount=st.integers(1, 15),
    changed=st.integers(0, 60),
    workday=st.booleans(),
)
def test_moved_is_exact_outside_the_change_and_reversible(start_min, amount, changed, workday):
    start = local(2027, 1, 4, 0, 0) + dt.timedelta(minutes=start_min)
    due = OLD.add(start, amount, "wd")
    day = dt.date(2027, 1, 4) + dt.timedelta(days=changed)
    new = WorkCalendar(overrides={day: workday})
    there = moved(OLD, new, start, due, "wd")
    if not OLD.local_date(start) <= day <= OLD.local_date(due):
        assert there == due
    assert there == new.add(start, amount, "wd")  # the same as counting again on the new one
    assert moved(new, OLD, start, there, "wd") == due


# ---- reading and planning edits --------------------------------------------------------------


def test_spans_and_kinds():
    assert parse_span("2027-02-05..2027-02-07") == [
        dt.date(2027, 2, 5),
        dt.date(2027, 2, 6),
        dt.date(2027, 2, 7),
    ]
    assert parse_span(" 2027/2/5 ") == [dt.date(2027, 2, 5)]
    for word in ("节假日", "休", "holiday", "false", "0"):
        assert parse_kind(word) is False
    for word in ("调休", "班", "workday", "TRUE", "1"):
        assert parse_kind(word) is True


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("2027-02-30", "bad date"),
        ("27-02-05", "bad date"),
        ("2027-02-10..2027-02-01", "ends before it starts"),
        ("2027-01-01..2028-12-31", "at most 366"),
        ("1999-12-31", "outside 2000"),
    ],
)
def test_bad_spans_are_named(text, needle):
    with pytest.raises(CalendarInputError) as exc:
        parse_span(text)
    assert needle in str(exc.value) and exc.value.message.zh


def test_unknown_type_is_named():
    with pytest.raises(CalendarInputError, match="unknown type 'vacation'"):
        parse_kind("vacation")


def test_csv_with_heading_comments_ranges_and_chinese_types():
    text = (
        "# example\n"
        "日期,类型,备注\n"
        "2027-02-05..2027-02-07,休,春节\n"
        "2027-02-14,班,春节调休\n"
        "\n"
        "2027-02-05,节假日,\n"  # the same day again, same type: kept once, with its note
    )
    edits = read_csv(text)
    assert [(e.day.isoformat(), e.is_workday, e.note) for e in edits] == [
        ("2027-02-05", False, "春节"),
        ("2027-02-06", False, "春节"),
        ("2027-02-07", False, "春节"),
        ("2027-02-14", True, "春节调休"),
    ]


def test_csv_without_heading_and_with_is_workday_column():
    edits = read_csv("2027-10-09,true\n")
    assert edits == [DayEdit(dt.date(2027, 10, 9), True, None)]
    edits = read_csv("note,is_workday,date\n国庆,false,2027-10-01\n")
    assert edits == [DayEdit(dt.date(2027, 10, 1), False, "国庆")]


def test_bad_csv_rows_are_all_listed_and_refuse_the_file():
    text = (
        "date,type,note\n"
        "2027-13-01,holiday,x\n"
        "2027-02-08,vacation,y\n"
        "2027-02-09,holiday,\n"
        "2027-02-09,workday,\n"
    )
    with pytest.raises(CalendarInputError) as exc:
        read_csv(text)
    lines = [m.en for m in exc.value.lines]
    assert lines[0].startswith("line 2: bad date '2027-13-01'")
    assert lines[1].startswith("line 3: unknown type 'vacation'")
    assert lines[2] == "line 5: 2027-02-09 is also on line 4 with the other type"
    assert "3 bad row(s)" in str(exc.value)
    with pytest.raises(CalendarInputError) as exc:
        read_csv("date,note\n2027-02-08,x\n")
    assert exc.value.lines[0].en == "line 1: the heading has no is_workday or type column"
    with pytest.raises(CalendarInputError, match="no calendar rows"):
        read_csv("# only a comment\n")


def test_plan_stores_only_differences_and_warns_about_no_ops():
    edits = span_edits(["2027-02-06"], False) + span_edits(["2027-02-08"], True)
    p = plan(edits, {}, base_is_workday)
    assert p.writes == 0 and p.changed_days == ()
    assert [w.en for w in p.warnings] == [
        "2027-02-06 (Saturday) is a day off already: nothing stored",
        "2027-02-08 (Monday) is a working day already: nothing stored",
    ]
    ranged = plan(span_edits(["2027-02-05..2027-02-09"], False, "春节"), {}, base_is_workday)
    assert sorted(ranged.upserts) == [dt.date(2027, 2, 5), dt.date(2027, 2, 8), dt.date(2027, 2, 9)]
    assert ranged.skipped == 2 and not ranged.warnings  # the weekend inside the range: quiet


def test_plan_is_idempotent_and_unset_reverts():
    edits = span_edits(["2027-02-08"], False, "春节")
    first = plan(edits, {}, base_is_workday)
    stored = {d: v for d, v in first.upserts.items()}
    assert first.changed_days == (HOLIDAY,)
    again = plan(edits, stored, base_is_workday)
    assert again.writes == 0
    renamed = plan(span_edits(["2027-02-08"], False, "春节假期"), stored, base_is_workday)
    assert renamed.writes == 1 and renamed.changed_days == ()  # a note only: no clock moves
    unset = plan(span_edits(["2027-02-08", "2027-02-09"], None), stored, base_is_workday)
    assert unset.deletes == (HOLIDAY,) and unset.changed_days == (HOLIDAY,)
    assert [w.en for w in unset.warnings] == ["2027-02-09: no override stored, nothing to unset"]
    assert new_overrides(stored, unset) == {}


def test_a_day_set_back_to_the_base_removes_its_override():
    stored = {dt.date(2027, 2, 6): (True, "调休")}  # a Saturday worked
    p = plan(span_edits(["2027-02-06"], False), stored, base_is_workday)
    assert p.deletes == (dt.date(2027, 2, 6),) and p.changed_days == (dt.date(2027, 2, 6),)


# ---- the year view and the unconfirmed years -------------------------------------------------


def test_year_view_of_a_package_year_and_of_an_entered_one():
    days = year_days(2026, {})
    first = days[0]
    assert (first.kind, first.source, first.note) == ("holiday", "package", "元旦")
    runs = holiday_runs(days)
    assert (runs[1].name, runs[1].first, runs[1].days) == ("春节", dt.date(2026, 2, 15), 9)
    entered = {dt.date(2027, 2, 5): (False, "春节"), dt.date(2027, 2, 14): (True, "春节调休")}
    days27 = {d.day: d for d in year_days(2027, entered)}
    assert days27[dt.date(2027, 2, 5)].kind == "holiday"
    assert days27[dt.date(2027, 2, 14)].kind == "makeup"
    assert days27[dt.date(2027, 2, 15)].source == "rule"
    assert [r.first for r in holiday_runs(list(days27.values()))] == [dt.date(2027, 2, 5)]


def test_unconfirmed_years_within_60_days():
    assert package_knows(2026) and not package_knows(2027)
    assert unconfirmed(dt.date(2026, 11, 26), []) == [2027]  # 2027-01-01 is 36 days away
    assert unconfirmed(dt.date(2026, 11, 26), [2027]) == []
    assert unconfirmed(dt.date(2026, 8, 1), []) == []  # 2027 is more than 60 days away
    assert unconfirmed(dt.date(2026, 11, 1), []) == []  # 2026-12-31 is the 60th day
    assert unconfirmed(dt.date(2026, 11, 2), []) == [2027]  # the notice starts
    assert unconfirmed(dt.date(2026, 11, 26), [], days=30) == []
    assert unconfirmed(dt.date(2027, 6, 1), []) == [2027]
