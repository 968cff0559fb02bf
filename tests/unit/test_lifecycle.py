"""The pure lifecycle rules (``domain.workflow.lifecycle``): what each step changes, judged
without a database."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.clock.limits import DEFAULT_STAGE_LIMITS
from domain.clock.work_calendar import WorkCalendar
from domain.workflow import lifecycle as lc
from domain.workflow import rules
from domain.workflow.clocks import Clocks
from domain.workflow.rules import Action, State
from domain.workflow.timeliness import STAT_COUNTS, VERIFY_LIMIT

CLOCKS = Clocks(WorkCalendar(), DEFAULT_STAGE_LIMITS, ZoneInfo("Asia/Shanghai"))
# A Monday morning in Asia/Shanghai (2026-11-16 09:00 local).
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class P:
    """Transition parameters (the fields of queries.tickets.Transition the rules read)."""

    comment: str | None = None
    department_id: int | None = None
    assist_department_ids: tuple[int, ...] = ()
    new_due_at: datetime | None = None
    satisfaction: str | None = None
    override: bool = False


def new_ticket(source: str = "hotline", category: str = "0901") -> lc.TicketFacts:
    start = lc.created(source, T0, category, "normal", CLOCKS)
    return lc.TicketFacts(
        id=1,
        created_at=T0,
        category_code=category,
        urgency="normal",
        state=start.state.value,
        stage=start.stage,
        stage_started_at=T0,
        stage_due_at=start.due_at,
    )


def step(
    t: lc.TicketFacts, action: str, at: datetime, tasks=(), **params
) -> tuple[lc.Effects, lc.TicketFacts]:
    """One step under the rules: its effects and the facts after it."""
    act = Action(action)
    fx = lc.ticket_step(t, act, rules.next_state(t.state, act), at, P(**params), CLOCKS, tasks)
    fields = lc.TicketFacts.__dataclass_fields__
    return fx, replace(t, **{k: v for k, v in fx.changes.items() if k in fields})


def to_handling(at: datetime = T0) -> lc.TicketFacts:
    """A hotline ticket accepted and dispatched at ``at`` (T5 running)."""
    t = new_ticket()
    _, t = step(t, "accept", at)
    _, t = step(t, "dispatch", at, department_id=7)
    _, t = step(t, "sign", at)
    return t


def lead(due: datetime | None) -> lc.OpenTask:
    return lc.OpenTask(11, 7, "lead", "signed", due)


def test_created_counts_and_clocks():
    hot = lc.created("hotline", T0, "0901", "normal", CLOCKS)
    assert (hot.state, hot.stage, hot.actor_kind, hot.reported_at) == (
        State.REPORTED,
        "T2",
        "public",
        T0,
    )
    assert hot.counts == {"created": 1, "reported": 1, "reported_on_time": 1}
    patrol = lc.created("patrol", T0, "0901", "normal", CLOCKS)
    assert (patrol.state, patrol.stage, patrol.reported_at) == (State.DISCOVERED, "T1", None)
    assert patrol.counts == {"created": 1, "reported": 0, "reported_on_time": 0}
    assert patrol.due_at == T0 + 24 * H and patrol.warn_at == T0 + 0.8 * 24 * H
    assert set(hot.counts) <= set(STAT_COUNTS)


@pytest.mark.parametrize(("hours", "on_time"), [(24, True), (25, False)])
def test_report_on_time_flag(hours, on_time):
    t = new_ticket("patrol")
    fx, _ = step(t, "report", T0 + hours * H)
    assert fx.data == {"on_time": on_time}
    assert fx.counts == {"reported": 1, "reported_on_time": int(on_time)}
    assert fx.changes["reported_at"] == T0 + hours * H
    assert fx.changes["stage"] == "T2"  # the accept clock starts


def test_dispatch_creates_tasks_and_starts_t5():
    t = new_ticket()
    _, t = step(t, "accept", T0)
    fx, after = step(t, "dispatch", T0, department_id=7, assist_department_ids=(8, 9))
    warn, due = CLOCKS.stage_times(T0, "0901", "T5", "normal")
    sign_due = CLOCKS.due(T0, "0901", "T4", "normal")
    assert fx.tasks == (
        lc.CancelOpenTasks(),
        lc.CreateTask(7, "lead", T0, sign_due, due),
        lc.CreateTask(8, "assist", T0, sign_due, due),
        lc.CreateTask(9, "assist", T0, sign_due, due),
    )
    assert (after.stage, after.due_at, after.original_due_at, after.stage_due_at) == (
        "T5",
        due,
        due,
        due,
    )
    assert fx.changes["stage_warn_at"] == warn
    assert fx.counts == {"dispatched": 1} and fx.data == {"department_id": 7}


def test_closing_is_judged_against_the_original_due_after_an_extension():
    t = to_handling()
    original = t.due_at
    assert original is not None
    later = original + 48 * H
    _, t = step(t, "request_extension", T0 + H)
    fx, t = step(t, "approve_extension", T0 + 2 * H, new_due_at=later)
    assert fx.tasks == (lc.MoveOpenTasksDue(later),)
    assert (t.due_at, t.stage_due_at, t.original_due_at, t.extension_count) == (
        later,
        later,
        original,
        1,
    )
    assert fx.data == {"new_due_at": later.isoformat()} and fx.counts == {}
    # Fed back after the original due but before the extended one: closed late.
    finished = original + H
    # The lead task keeps its own original due (an extension moves only its due_at): late too.
    fx, t = step(t, "feedback", finished, tasks=(lead(original),))
    assert fx.tasks == (lc.FinishTask(11, "feedback", finished, False),)
    _, t = step(t, "start_verify", finished + H)
    fx, t = step(t, "verify_pass", finished + 2 * H)
    assert fx.changes["closed_on_time"] is False and fx.changes["closed_at"] == finished + 2 * H
    assert fx.counts["closed"] == 1 and fx.counts["closed_on_time"] == 0
    assert fx.changes["stage"] == "T7"  # the survey clock starts


def test_closing_on_time_by_the_original_due():
    t = to_handling()
    finished = t.due_at - H
    _, t = step(t, "feedback", finished, tasks=(lead(t.original_due_at),))
    _, t = step(t, "start_verify", finished)
    fx, _ = step(t, "verify_pass", finished + H)
    assert fx.changes["closed_on_time"] is True
    assert fx.counts == {
        "verify_due": 1,
        "verified_on_time": 1,
        "closed": 1,
        "closed_on_time": 1,
    }


@pytest.mark.parametrize(("delay", "on_time"), [(VERIFY_LIMIT, True), (VERIFY_LIMIT + H, False)])
def test_verify_late_counts(delay, on_time):
    t = to_handling()
    finished = T0 + H
    _, t = step(t, "feedback", finished, tasks=(lead(t.original_due_at),))
    _, t = step(t, "start_verify", finished)
    for action in ("verify_pass", "verify_fail"):
        fx, _ = step(t, action, finished + delay)
        assert fx.data["on_time"] is on_time
        assert fx.counts["verify_due"] == 1 and fx.counts["verified_on_time"] == int(on_time)


def test_rework_restarts_t5_against_the_existing_due():
    t = to_handling()
    due = t.due_at
    _, t = step(t, "feedback", T0 + H, tasks=(lead(due),))
    _, t = step(t, "start_verify", T0 + 2 * H)
    assert t.stage == "T6"
    fx, after = step(t, "verify_fail", T0 + 3 * H)
    assert fx.tasks == (lc.ReopenLead(),)
    assert fx.changes == {
        "state": "in_progress",
        "rework_count": 1,
        "stage": "T5",
        "stage_due_at": due,
        "finished_at": None,
    }
    assert fx.counts == {"verify_due": 1, "verified_on_time": 1, "reworked": 1}
    assert (after.due_at, after.original_due_at) == (due, due)


def test_suspension_shifts_due_and_original_due():
    t = to_handling()
    due, original = t.due_at, t.original_due_at
    _, t = step(t, "suspend", T0 + H)
    assert t.stage is None  # a suspended ticket runs no clock
    fx, after = step(t, "resume", T0 + 73 * H)
    shift = 72 * H
    assert (after.due_at, after.original_due_at, after.stage_due_at) == (
        due + shift,
        original + shift,
        due + shift,
    )
    assert (after.stage, after.stage_started_at) == ("T5", T0 + 73 * H)
    assert fx.data == {"suspended_for_s": shift.total_seconds()} and fx.counts == {}


def test_return_and_escalate():
    t = to_handling()
    fx, after = step(t, "return", T0 + H)
    assert fx.tasks == (lc.ReturnDispatch(T0 + H),)
    assert after.return_count == 1 and fx.counts == {"returned": 1}
    t = new_ticket()
    _, t = step(t, "accept", T0)
    fx, _ = step(t, "escalate", T0 + H)
    # Escalation restarts the dispatch clock at the upper level.
    assert fx.changes["escalated"] is True and fx.changes["stage_started_at"] == T0 + H


def test_self_resolved_closes_against_the_t1_window():
    t = new_ticket("patrol")
    fx, t = step(t, "self_resolve", T0 + H)
    assert fx.counts == {"self_resolved": 1}
    assert t.original_due_at == T0 + 24 * H
    fx, _ = step(t, "close", T0 + 2 * H)
    assert fx.changes["closed_on_time"] is True and fx.counts["closed_on_time"] == 1


@pytest.mark.parametrize(
    ("result", "satisfied"), [("satisfied", 1), ("basic", 1), ("unsatisfied", 0)]
)
def test_survey(result, satisfied):
    t = replace(to_handling(), state="closed", stage="T7")
    fx, _ = step(t, "survey", T0 + H, satisfaction=result)
    assert fx.counts == {"surveyed": 1, "satisfied": satisfied}
    assert fx.changes["satisfaction"] == result == fx.data["satisfaction"]


def test_refusals():
    t = new_ticket()
    _, accepted = step(t, "accept", T0)
    with pytest.raises(lc.Refused) as e:
        step(accepted, "dispatch", T0)
    assert (e.value.field, e.value.status) == ("department_id", 422)
    assert e.value.message == "dispatch needs a lead department"

    pending = replace(to_handling(), state="extension_pending")
    for bad in (None, pending.due_at, pending.due_at - H):
        with pytest.raises(lc.Refused) as e:
            step(pending, "approve_extension", T0 + H, new_due_at=bad)
        assert e.value.field == "new_due_at"
        assert e.value.message == "an extension must move the due time later"

    closed = replace(to_handling(), state="closed", stage="T7")
    with pytest.raises(lc.Refused) as e:
        step(closed, "survey", T0 + H, satisfaction="meh")
    assert e.value.field == "satisfaction"
    assert e.value.message == "must be satisfied, basic or unsatisfied"

    t = to_handling()
    tasks = (lead(t.due_at), lc.OpenTask(12, 9, "assist", "signed", t.due_at))
    tasks += (lc.OpenTask(13, 8, "assist", "dispatched", t.due_at),)
    with pytest.raises(lc.Refused) as e:
        step(t, "feedback", T0 + H, tasks=tasks)
    assert (e.value.field, e.value.status) == ("action", 409)
    assert "assisting departments [8, 9] have not fed back yet" in e.value.message
    with pytest.raises(lc.Refused) as e:
        step(t, "feedback", T0 + H, tasks=tasks, override=True)
    assert (e.value.field, e.value.status) == ("comment", 422)
    fx, _ = step(t, "feedback", T0 + H, tasks=tasks, override=True, comment="urgent")
    assert fx.data == {"override": True, "pending_assist": [8, 9]}
    assert fx.tasks == (lc.FinishTask(11, "feedback", T0 + H, True),)


def test_assist_steps():
    task = lc.OpenTask(12, 9, "assist", "dispatched", T0 + H)
    assert lc.assist_step(task, Action.SIGN, T0) == lc.SignTask(12, T0)
    late = lc.assist_step(task, Action.FEEDBACK, T0 + 2 * H)
    assert late == lc.FinishTask(12, "feedback", T0 + 2 * H, False)
    assert lc.assist_step(task, Action.RETURN, T0) == lc.FinishTask(12, "returned", T0)
    with pytest.raises(lc.Refused) as e:
        lc.assist_step(replace(task, state="signed"), Action.SIGN, T0)
    assert (e.value.field, e.value.status) == ("action", 409)
