"""The drawer's stage clocks rebuilt from a ticket's event log (domain.explore.timeline).

Event logs are produced by stepping the real lifecycle rules (domain.workflow.lifecycle), the
same rules the write path applies, so each test also knows what the ticket's own columns say
(stage_due_at, due_at, original_due_at) after the log."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.clock.limits import DEFAULT_STAGE_LIMITS
from domain.clock.work_calendar import WorkCalendar
from domain.explore.timeline import StageRun, stage_runs
from domain.workflow import lifecycle as lc
from domain.workflow import rules
from domain.workflow.clocks import Clocks
from domain.workflow.rules import Action

SH = ZoneInfo("Asia/Shanghai")
CLOCKS = Clocks(WorkCalendar(), DEFAULT_STAGE_LIMITS, SH)
H = timedelta(hours=1)
# Monday 2026-11-16 09:00 in Shanghai (a working day; working hours 08:30–12:00, 13:30–17:30).
T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def local(d: int, h: int, m: int = 0) -> datetime:
    """An instant of November 2026, given in Shanghai time."""
    return datetime(2026, 11, d, h, m, tzinfo=SH).astimezone(UTC)


@dataclass
class P:
    comment: str | None = None
    department_id: int | None = None
    assist_department_ids: tuple[int, ...] = ()
    new_due_at: datetime | None = None
    satisfaction: str | None = None
    override: bool = False


class Ticket:
    """A ticket stepped through the lifecycle rules, keeping its event log as ticket_event
    rows would (at, action, from_state, to_state) and its stage warning time."""

    def __init__(self, source: str = "patrol", category: str = "0901", urgency: str = "normal"):
        start = lc.created(source, T0, category, urgency, CLOCKS)
        self.facts = lc.TicketFacts(
            id=1,
            created_at=T0,
            category_code=category,
            urgency=urgency,
            state=start.state.value,
            stage=start.stage,
            stage_started_at=T0,
            stage_due_at=start.due_at,
        )
        self.warn: datetime | None = start.warn_at
        self.events: list[dict[str, Any]] = [
            {"at": T0, "action": "create", "from_state": None, "to_state": start.state.value}
        ]

    def step(self, action: str, at: datetime, **params) -> Ticket:
        t = self.facts
        new = rules.next_state(t.state, action)
        tasks = (lc.OpenTask(11, 7, "lead", "signed", t.original_due_at),)
        if action == "dispatch":
            params.setdefault("department_id", 7)
        fx = lc.ticket_step(t, Action(action), new, at, P(**params), CLOCKS, tasks)
        fields = lc.TicketFacts.__dataclass_fields__
        self.facts = replace(t, **{k: v for k, v in fx.changes.items() if k in fields})
        if "stage_warn_at" in fx.changes:
            self.warn = fx.changes["stage_warn_at"]
        self.events.append(
            {"at": at, "action": action, "from_state": t.state, "to_state": new.value}
        )
        return self

    def note(self, action: str, at: datetime) -> Ticket:
        """An event that moves no state (supervision, a comment)."""
        self.events.append({"at": at, "action": action, "from_state": None, "to_state": None})
        return self

    @property
    def row(self) -> dict[str, Any]:
        """The ticket's columns the drawer passes along with the events."""
        f = self.facts
        return {
            "category_code": f.category_code,
            "urgency": f.urgency,
            "due_at": f.due_at,
            "stage": f.stage,
            "stage_due_at": f.stage_due_at,
            "stage_warn_at": self.warn if f.stage is not None else None,
        }

    def runs(self, clocks: Clocks | None = CLOCKS) -> list[StageRun]:
        return stage_runs(self.row, self.events, clocks)


def full_life() -> Ticket:
    """report → accept → dispatch → return → dispatch → suspend/resume → extension → feedback
    → verify_pass → survey, with a supervision note in the middle."""
    t = Ticket("patrol", "0901")
    t.step("report", T0 + H)  # Mon 10:00
    t.step("accept", T0 + 1.5 * H)  # Mon 10:30
    t.step("dispatch", T0 + 2 * H)  # Mon 11:00
    t.step("sign", T0 + 2.5 * H)
    t.step("return", T0 + 3 * H)  # Mon 12:00 (lunch break)
    t.step("dispatch", T0 + 5 * H)  # Mon 14:00
    t.step("sign", T0 + 5.5 * H)
    t.step("suspend", T0 + 6 * H)  # Mon 15:00
    t.step("resume", T0 + 8 * H)  # Mon 17:00: the due times move 2 h later
    t.note("supervise", T0 + 20 * H)
    t.step("request_extension", T0 + 24 * H)  # Tue 09:00
    t.step("approve_extension", T0 + 25 * H, new_due_at=local(20, 17))
    t.step("feedback", T0 + 48 * H)  # Wed 09:00: after the original due, before the new one
    t.step("start_verify", T0 + 49 * H)
    t.step("verify_pass", T0 + 50 * H)  # Wed 11:00
    t.step("survey", T0 + 72 * H, satisfaction="satisfied")  # Thu 09:00
    return t


def test_full_life_stages_and_their_bounds():
    t = full_life()
    runs = t.runs()
    assert [r.stage for r in runs] == ["T1", "T2", "T3", "T5", "T3", "T5", "T6", "T7"]
    assert [r.started for r in runs] == [
        T0,
        T0 + H,
        T0 + 1.5 * H,
        T0 + 2 * H,
        T0 + 3 * H,
        T0 + 5 * H,
        T0 + 48 * H,
        T0 + 50 * H,
    ]
    # each run ends where the next starts; the survey ends the last (no clock after it)
    assert [r.ended for r in runs] == [r.started for r in runs[1:]] + [T0 + 72 * H]
    assert [r.suspended for r in runs] == [False] * 5 + [True, False, False]
    assert [r.name_zh for r in runs][:3] == ["上报", "受理", "分办"]


def test_full_life_due_times_on_both_clocks():
    runs = full_life().runs()
    t1, t2, t3a, t5a, t3b, t5b, t6, t7 = runs
    # T1 24 h and T6 24 h run on the calendar clock; warning at 80 %
    assert (t1.due_at, t1.warn_at) == (T0 + 24 * H, T0 + 0.8 * 24 * H)
    assert (t6.due_at, t6.warn_at) == (T0 + 72 * H, T0 + 48 * H + 0.8 * 24 * H)
    # T2/T3: one working hour
    assert t2.due_at == local(16, 11)
    assert t3a.due_at == local(16, 11, 30)
    assert t3b.due_at == local(16, 14, 30)  # returned at 12:00: the clock waits for 13:30
    # T5 of 0901: one working day (7.5 working hours)
    assert t5a.due_at == local(17, 11)
    # T7 survey: 3 working days from Wednesday 11:00 skip the weekend
    assert t7.due_at == local(23, 11)
    # the last handling run is due when the ticket says: the approved extension moved it (its
    # warning time, computed for the original due time, is then not shown)
    assert (t5b.due_at, t5b.warn_at) == (local(20, 17), None)
    for r in runs:
        assert r.due_at is not None
        assert r is t5b or r.started < r.warn_at < r.due_at


def test_full_life_on_time_and_margin():
    t = full_life()
    runs = t.runs()
    late_now = T0 + 1000 * H  # long after everything: ended runs are judged by their end
    margins = [r.margin(late_now) for r in runs]
    assert margins == [
        23 * H,  # reported an hour in
        0.5 * H,
        0.5 * H,
        local(17, 11) - (T0 + 3 * H),
        0.5 * H,
        local(20, 17) - (T0 + 48 * H),
        22 * H,
        local(23, 11) - (T0 + 72 * H),
    ]
    assert [r.on_time(late_now) for r in runs] == [True] * 8
    # handled in time for the extended due, but late by the original one, which the ticket
    # keeps for 按期结案
    assert t.facts.original_due_at is not None
    assert t.facts.original_due_at < T0 + 48 * H < runs[5].due_at


def test_ended_late_is_judged_late_by_how_much():
    t = Ticket("patrol").step("report", T0 + 25 * H)
    t1 = t.runs()[0]
    assert t1.on_time(T0) is False and t1.margin(T0) == -H
    # ended exactly at the due time is on time
    t = Ticket("patrol").step("report", T0 + 24 * H)
    assert t.runs()[0].on_time(T0) is True and t.runs()[0].margin(T0) == timedelta(0)


def test_a_running_stage_is_judged_against_now():
    t = Ticket("hotline").step("accept", T0).step("dispatch", T0).step("sign", T0 + H)
    runs = t.runs()
    assert [r.stage for r in runs] == ["T2", "T3", "T5"]
    run = runs[-1]
    assert run.ended is None and run.due_at == t.facts.due_at == local(17, 9)
    before = run.due_at - H
    assert run.on_time(before) is None and run.margin(before) == H
    assert run.on_time(run.due_at) is None and run.margin(run.due_at) == timedelta(0)
    after = run.due_at + 2 * H
    assert run.on_time(after) is False and run.margin(after) == -2 * H
    # the zero-length runs of acceptance and dispatch at the same instant are kept, in time
    assert runs[0].ended == runs[1].started == runs[1].ended == T0


def test_rejected_ticket_has_one_run():
    t = Ticket("hotline").step("reject", T0 + 0.5 * H)
    runs = t.runs()
    assert [(r.stage, r.started, r.ended) for r in runs] == [("T2", T0, T0 + 0.5 * H)]
    assert runs[0].on_time(T0) is True


def test_a_suspended_ticket_still_running_says_so():
    t = Ticket("hotline").step("accept", T0).step("dispatch", T0).step("sign", T0)
    t.step("suspend", T0 + H)
    run = t.runs()[-1]
    assert (run.stage, run.ended, run.suspended) == ("T5", None, True)


def test_without_clocks_there_are_no_due_times():
    runs = full_life().runs(clocks=None)
    assert len(runs) == 8
    assert all(r.warn_at is None for r in runs)
    # only the handling run has a due time: the ticket's own
    assert [r.due_at for r in runs] == [None] * 5 + [local(20, 17), None, None]
    for r in runs:
        if r.due_at is None:
            assert (r.on_time(T0), r.margin(T0)) == (None, None)


def test_a_category_without_limits_shows_no_clock():
    t = full_life()
    row = {**t.row, "category_code": "77", "due_at": None}
    runs = stage_runs(row, t.events, CLOCKS)
    assert len(runs) == 8 and all(r.due_at is None and r.warn_at is None for r in runs)


def test_events_out_of_the_state_machine_do_not_split_runs():
    t = Ticket("hotline")
    t.note("supervise", T0 + 0.1 * H).note("comment", T0 + 0.2 * H)
    t.step("accept", T0 + 0.5 * H)
    runs = t.runs()
    assert [(r.stage, r.started, r.ended) for r in runs] == [
        ("T2", T0, T0 + 0.5 * H),
        ("T3", T0 + 0.5 * H, None),
    ]


# ---- the drawer's running clock agrees with the ticket's own columns ---------------------------


def _paths() -> dict[str, Ticket]:
    def handling() -> Ticket:
        return Ticket("hotline").step("accept", T0).step("dispatch", T0 + H).step("sign", T0 + H)

    return {
        "dispatched": handling(),
        "redispatched": handling().step("return", T0 + 2 * H).step("dispatch", T0 + 3 * H),
        "extended": handling()
        .step("request_extension", T0 + 2 * H)
        .step("approve_extension", T0 + 3 * H, new_due_at=local(27, 12)),
        "resumed": handling().step("suspend", T0 + 2 * H).step("resume", T0 + 30 * H),
        "reworked": handling()
        .step("feedback", T0 + 2 * H)
        .step("start_verify", T0 + 2 * H)
        .step("verify_fail", T0 + 3 * H),
        "closed": handling()
        .step("feedback", T0 + 2 * H)
        .step("start_verify", T0 + 2 * H)
        .step("verify_pass", T0 + 3 * H),
        "info_supplied": Ticket("hotline")
        .step("request_info", T0 + 0.2 * H)
        .step("supply_info", T0 + 4 * H),
        "escalated": Ticket("hotline").step("accept", T0).step("escalate", T0 + 5 * H),
    }


@pytest.mark.parametrize("path", list(_paths()))
def test_the_running_run_is_due_when_the_ticket_says(path):
    """The drawer's current stage is due when the ticket's own stage clock (stage_due_at, the
    column the table, the clock facet and the overdue layer read) says it is."""
    t = _paths()[path]
    run = t.runs()[-1]
    assert run.ended is None
    assert run.stage == t.facts.stage
    assert run.due_at == t.facts.stage_due_at, (
        f"{path}: drawer says due {run.due_at}, the ticket's stage_due_at is {t.facts.stage_due_at}"
    )


@pytest.mark.parametrize(
    "path", ["dispatched", "redispatched", "closed", "info_supplied", "extended", "resumed"]
)
def test_the_running_run_warns_when_the_ticket_says(path):
    """Likewise for the warning instant (stage_warn_at, what makes the clock facet 临期预警)."""
    t = _paths()[path]
    run = t.runs()[-1]
    assert run.warn_at == t.warn, (
        f"{path}: drawer says warned at {run.warn_at}, the ticket's stage_warn_at is {t.warn}"
    )


def test_a_reworked_run_does_not_warn_after_it_is_due():
    """Rework (verify_fail) resumes handling against the existing due time: the drawer's run
    then cannot warn after that due time."""
    t = _paths()["reworked"]
    run = t.runs()[-1]
    assert run.due_at == t.facts.due_at
    assert run.warn_at is not None and run.due_at is not None
    assert run.warn_at <= run.due_at, f"warns at {run.warn_at}, due at {run.due_at}"


def test_an_escalation_starts_the_upper_levels_dispatch_clock():
    """Escalating (上报上级) restarts the dispatch clock T3 for the upper level (the write path
    starts it anew, DOMAIN.md §4): dispatched half an hour after the escalation, the upper
    level was in time, whatever the time since acceptance."""
    t = Ticket("hotline").step("accept", T0)  # Mon 09:00
    t.step("escalate", T0 + 5 * H)  # Mon 14:00
    escalated_due = t.facts.stage_due_at
    assert escalated_due == local(16, 15)  # one working hour after the escalation
    t.step("dispatch", T0 + 5.5 * H).step("sign", T0 + 6 * H)
    runs = t.runs()
    last_t3 = [r for r in runs if r.stage == "T3"][-1]
    assert last_t3.ended == T0 + 5.5 * H
    assert last_t3.due_at == escalated_due, (
        f"the dispatch after the escalation is judged against {last_t3.due_at}, "
        f"the upper level's clock said {escalated_due}"
    )
    assert last_t3.on_time(T0 + 6 * H) is True
