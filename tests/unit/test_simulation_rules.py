"""The demo simulator's vectorised lifecycle agrees with the domain's scalar rules.

Small ``simulate_tickets`` runs on the synthetic territory of ``test_ticket_simulation``, for
random seeds and random pinned instants; every ticket, task and event is then judged again with
the scalar rules of ``domain`` (on-time rules, the supervision ladder, the stage clocks, ticket
numbers). The array forms of the rules are also fed random arrays directly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.clock.limits import DEFAULT_STAGE_LIMITS, limit_for
from domain.clock.work_calendar import WorkCalendar, to_us
from domain.supervision import OFF_LADDER_STATES, ladder_step
from domain.ticket_no import ticket_no
from domain.workflow.timeliness import closed_on_time, reported_on_time, verified_on_time
from gridscope.demo.tickets import simulate_tickets
from gridscope.demo.tickets.ladder import red_instants, steps_at
from gridscope.demo.tickets.ontime import (
    closed_on_time_us,
    reported_on_time_us,
    verified_on_time_us,
)
from gridscope.demo.tickets.schema import NAT
from tests.unit.test_ticket_simulation import synthetic_territory

CAL = WorkCalendar()
TERRITORY = synthetic_territory()
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Instants inside the years chinese_calendar knows (holidays and make-up days are exercised).
instants = st.datetimes(min_value=dt.datetime(2024, 3, 1), max_value=dt.datetime(2026, 10, 31)).map(
    lambda t: t.replace(microsecond=0, tzinfo=dt.UTC)
)


def limit(ticket: dict, stage: str):
    return limit_for(ticket["category_code"], stage, ticket["urgency"], DEFAULT_STAGE_LIMITS)


def simulate(seed: int, now: dt.datetime):
    batch = simulate_tickets(TERRITORY, 300, seed, now, CAL, days=45)
    events = defaultdict(list)
    for e in batch.ticket_event.to_pylist():
        events[e["ticket_id"]].append(e)
    return batch.ticket.to_pylist(), batch.ticket_task.to_pylist(), events


@FEW
@given(seed=st.integers(0, 2**31), now=instants)
def test_simulated_tickets_follow_the_scalar_rules(seed, now):
    tickets, tasks, events = simulate(seed, now)
    on_ladder = 0
    for t in tickets:
        evs = events[t["id"]]
        assert t["ticket_no"] == ticket_no(CAL.local_date(t["created_at"]), t["id"])

        if t["closed_at"] is not None:
            assert t["closed_on_time"] == closed_on_time(t["finished_at"], t["original_due_at"])

        dispatches = [e["at"] for e in evs if e["action"] == "dispatch"]
        resumed = any(e["action"] == "resume" for e in evs)
        if dispatches and not resumed and not t["self_resolved"]:
            t5 = limit(t, "T5")
            assert t["original_due_at"] == CAL.add(dispatches[-1], t5.amount, t5.unit)

        if t["state"] not in OFF_LADDER_STATES and t["stage"] is not None:
            lim = limit(t, t["stage"])
            start, due = t["stage_started_at"], t["stage_due_at"]
            if t["stage"] != "T5":
                assert due == CAL.add(start, lim.amount, lim.unit), t
            if due >= start:
                assert t["stage_warn_at"] == CAL.warn_at(start, due, unit=lim.unit), t
            step = ladder_step(t["state"], start, t["stage_warn_at"], due, t["rework_count"], now)
            # The recorded step never lags the rule; it is the rule's step unless the ticket
            # climbed higher on its handling stage before it moved on (feedback, a return).
            assert t["supervision"] >= step, t
            if t["stage"] == "T5" or not dispatches:
                assert t["supervision"] == step, t
                on_ladder += 1

        feedback_at = None
        for e in evs:
            if e["action"] == "report":
                t1 = limit(t, "T1")
                report_due = CAL.add(t["created_at"], t1.amount, t1.unit)
                assert on_time(e) == reported_on_time(e["at"], report_due), e
            elif e["action"] == "feedback":
                feedback_at = e["at"]
            elif e["action"] in ("verify_pass", "verify_fail"):
                assert on_time(e) == verified_on_time(feedback_at, e["at"]), e
    assert on_ladder > 0

    for k in tasks:
        t = tickets[k["ticket_id"] - 1]
        t4 = limit(t, "T4")
        assert k["sign_due_at"] == CAL.add(k["dispatched_at"], t4.amount, t4.unit)
        if k["state"] == "feedback":
            assert k["on_time"] == closed_on_time(k["finished_at"], k["original_due_at"])


def on_time(event: dict) -> bool:
    """The on-time flag the simulator wrote into an event's data."""
    return json.loads(event["data"])["on_time"]


# ---- the array forms of the rules, on random arrays ------------------------------------------

T0 = to_us(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
HOUR = 3_600_000_000
offsets = st.integers(-48 * HOUR, 48 * HOUR)
maybe_offsets = st.one_of(st.none(), offsets)


def us(x: int | None) -> int:
    return NAT if x is None else T0 + x


def inst(x: int | None) -> dt.datetime | None:
    return (
        None if x is None else dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=x)
    )


@FEW
@given(
    rows=st.lists(
        st.tuples(offsets, offsets, offsets, st.integers(0, 3), st.floats(0, 1)), min_size=1
    ),
    now=offsets,
)
def test_ladder_steps_over_arrays_are_ladder_step(rows, now):
    start = np.array([us(s) for s, *_ in rows], np.int64)
    due = np.array([us(s + abs(d)) for s, d, *_ in rows], np.int64)
    warn = start + ((due - start) * np.array([f for *_, f in rows])).astype(np.int64)
    red = red_instants(start, due)
    reworks = np.array([r for *_, r, _ in rows])
    got = steps_at(us(now), warn, due, red, reworks)
    for i in range(len(rows)):
        want = ladder_step(
            "in_progress",
            inst(int(start[i] - T0)),
            inst(int(warn[i] - T0)),
            inst(int(due[i] - T0)),
            int(reworks[i]),
            inst(now),
        )
        assert got[i] == want, (rows[i], now)


@FEW
@given(pairs=st.lists(st.tuples(maybe_offsets, offsets), min_size=1))
def test_on_time_rules_over_arrays_are_the_scalar_rules(pairs):
    first = np.array([us(a) for a, _ in pairs], np.int64)
    second = np.array([us(b) for _, b in pairs], np.int64)
    verified = verified_on_time_us(first, second)
    closed = closed_on_time_us(second, first)
    reported = reported_on_time_us(second, np.where(first == NAT, second, first))
    for i, (a, b) in enumerate(pairs):
        assert verified[i] == verified_on_time(inst(a), inst(b))
        assert closed[i] == closed_on_time(inst(b), inst(a))
        assert reported[i] == reported_on_time(inst(b), inst(b if a is None else a))
