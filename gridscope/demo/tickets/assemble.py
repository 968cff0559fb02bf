"""From planned slots to the ticket table: the cut at ``end``, states, due times, stages."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain.clock.limits import STAGES
from domain.clock.work_calendar import WorkCalendar
from domain.supervision import OFF_LADDER_STATES
from domain.ticket_no import ID_DIGITS, ticket_no
from domain.vocabulary import FIELD_SOURCES, SATISFACTION, URGENCIES
from domain.workflow.rules import STAGE_OF_STATE, State
from gridscope.demo.tickets.actors import People
from gridscope.demo.tickets.clocks import Limits, add_on_clock, local_days
from gridscope.demo.tickets.context import Context
from gridscope.demo.tickets.events import build_events
from gridscope.demo.tickets.ladder import supervision_steps, warn_instants
from gridscope.demo.tickets.lifecycle import Lifecycle
from gridscope.demo.tickets.ontime import closed_on_time_us
from gridscope.demo.tickets.schema import (
    NAT,
    TICKET_SCHEMA,
    TicketBatch,
    ewkb_points,
    str_take,
    ts_array,
)
from gridscope.demo.tickets.slots import (
    FED_BACK_IDX,
    SLOT_ACTION,
    SLOTS,
    STATE_IDX,
    STATES,
    K,
    S,
    next_state_table,
)
from gridscope.demo.tickets.tasks import build_tasks

# Index of each state's running stage in STAGES, -1 for none.
STAGE_OF_STATE_IDX = np.array(
    [STAGES.index(STAGE_OF_STATE[State(s)]) if STAGE_OF_STATE[State(s)] else -1 for s in STATES],
    np.int8,
)
OFF_LADDER_IDX = [STATE_IDX[s] for s in sorted(OFF_LADDER_STATES)]


def assemble(
    rng,
    cal,
    ctx: Context,
    lim: Limits,
    life: Lifecycle,
    people: People,
    end_us,
    mg,
    source,
    code_idx,
    urgent,
    x,
    y,
) -> TicketBatch:
    """Cut the planned lifecycles at ``end_us`` and build the three tables from what remains."""
    n = life.n
    t = life.t
    present = (t != NAT) & (t <= end_us)

    # Replay every ticket through rules.TRANSITIONS, slot by slot.
    table = next_state_table()
    patrol = source == FIELD_SOURCES.index("patrol")
    state = np.where(patrol, STATE_IDX["discovered"], STATE_IDX["reported"]).astype(np.int16)
    from_s = np.full((K, n), -1, dtype=np.int16)
    to_s = np.full((K, n), -1, dtype=np.int16)
    to_s[0] = state
    for k in range(1, K):
        idx = np.flatnonzero(present[k])
        if idx.size == 0:
            continue
        nxt = table[state[idx], SLOT_ACTION[k]]
        if (nxt < 0).any():
            bad = idx[np.flatnonzero(nxt < 0)[0]]
            raise AssertionError(
                f"simulated an illegal transition: {SLOTS[k][0]} from {STATES[state[bad]]}"
            )
        from_s[k, idx], to_s[k, idx] = state[idx], nxt
        state[idx] = nxt

    last_slot = K - 1 - np.argmax(present[::-1], axis=0)
    last_time = t[last_slot, np.arange(n)]
    suspended = state == STATE_IDX["suspended"]
    created = t[0]

    # Handling due times (T5), moved by an approved extension and by time spent suspended.
    dispatch = np.where(
        present[S["dispatch2"]],
        t[S["dispatch2"]],
        np.where(present[S["dispatch1"]], t[S["dispatch1"]], NAT),
    )
    has_d = dispatch != NAT
    shift = np.where(present[S["resume"]], life.suspend_shift, 0)
    orig_due = np.full(n, NAT, dtype=np.int64)
    due = np.full(n, NAT, dtype=np.int64)
    i = np.flatnonzero(has_d)
    orig_due[i] = add_on_clock(cal, dispatch[i], lim.amount["T5"][i], lim.unit["T5"][i])
    due[i] = orig_due[i]
    j = np.flatnonzero(present[S["approve_extension"]])
    due[j] = add_on_clock(cal, orig_due[j], lim.amount["T5"][j], lim.unit["T5"][j])
    orig_due[i] += shift[i]
    due[i] += shift[i]
    # Self-resolved tickets are judged against the T1 window they were resolved in.
    sr = present[S["self_resolve"]]
    j = np.flatnonzero(sr)
    t1_due = add_on_clock(cal, created[j], lim.amount["T1"][j], lim.unit["T1"][j])
    orig_due[j] = due[j] = t1_due

    fb_last = np.full(n, NAT, dtype=np.int64)
    for k in ("feedback1", "feedback2", "feedback3"):
        fb_last = np.where(present[S[k]], t[S[k]], fb_last)
    fed_back = np.isin(state, FED_BACK_IDX)
    finished = np.where(fed_back & ~sr, fb_last, NAT)
    finished = np.where(sr, t[S["self_resolve"]], finished)
    closed_at = np.where(
        present[S["pass"]], t[S["pass"]], np.where(present[S["sr_close"]], t[S["sr_close"]], NAT)
    )
    is_closed = closed_at != NAT
    closed_on_time = is_closed & closed_on_time_us(finished, orig_due)
    reported_at = np.where(patrol, np.where(present[S["report"]], t[S["report"]], NAT), created)

    # Current stage, its start, warning and due instants.
    stage = STAGE_OF_STATE_IDX[state]
    in_t5 = stage == STAGES.index("T5")
    in_t6 = stage == STAGES.index("T6")
    stage_start = last_time.copy()
    stage_start[in_t5] = np.where(present[S["resume"]], t[S["resume"]], dispatch)[in_t5]
    stage_start[in_t6] = fb_last[in_t6]
    stage_due = np.full(n, NAT, dtype=np.int64)
    stage_unit = np.zeros(n, np.int8)
    for s_i, s_name in enumerate(STAGES):
        m = np.flatnonzero(stage == s_i)
        if m.size == 0:
            continue
        stage_unit[m] = lim.unit[s_name][m]
        if s_name == "T5":
            stage_due[m] = due[m]
        else:
            stage_due[m] = add_on_clock(
                cal, stage_start[m], lim.amount[s_name][m], lim.unit[s_name][m]
            )
    has_stage = stage >= 0
    stage_warn = np.full(n, NAT, dtype=np.int64)
    m = np.flatnonzero(has_stage)
    stage_warn[m] = warn_instants(cal, stage_start[m], stage_due[m], stage_unit[m])

    # Supervision ladder (督办): on the handling stage, and on the current stage of open tickets.
    open_ = ~np.isin(state, OFF_LADDER_IDX)
    sup_ticket, sup_time, sup_level = supervision_steps(
        cal,
        end_us,
        handled=np.flatnonzero(has_d & ~sr),
        t5_start=np.where(present[S["resume"]], t[S["resume"]], dispatch),
        t5_stop=np.where(
            finished != NAT,
            finished,
            np.where(suspended, t[S["suspend"]], end_us + 1),
        ),
        due=due,
        t5_unit=lim.unit["T5"],
        waiting=np.flatnonzero(open_ & has_stage & ~in_t5),
        stage_start=stage_start,
        stage_due=stage_due,
        stage_unit=stage_unit,
        reworked_twice=np.flatnonzero(present[S["fail2"]]),
        fail2_at=t[S["fail2"]],
    )
    supervision = np.zeros(n, np.int16)
    np.maximum.at(supervision, sup_ticket, sup_level.astype(np.int16))
    updated = last_time.copy()
    np.maximum.at(updated, sup_ticket, sup_time)

    # Satisfaction: worse after late handling or rework.
    bad = life.late_handling | present[S["fail1"]]
    u = rng.random(n)
    sat = np.where(u < np.where(bad, 0.60, 0.82), 0, np.where(u < np.where(bad, 0.80, 0.945), 1, 2))
    surveyed = present[S["survey"]]

    # Tasks: the first lead, the lead after a return, and assisting departments.
    task_plan = build_tasks(
        rng, cal, lim, life, people, present, t, orig_due, due, fb_last, finished, state, end_us
    )
    task_table, task_ids = task_plan

    # Ticket numbers: domain.ticket_no's format, as the write path numbers them.
    ids = np.arange(1, n + 1, dtype=np.int64)
    ticket_no = ticket_numbers(cal, created, ids)
    addr_num = pc.cast(pa.array(rng.integers(1, 400, n)), pa.string())
    address = pc.binary_join_element_wise(
        pc.take(ctx.mg_address_prefix, pa.array(mg)), addr_num, pa.scalar("号"), ""
    )
    lo = ctx.template_offsets[code_idx]
    hi = ctx.template_offsets[code_idx + 1]
    desc = pc.take(
        ctx.templates, pa.array(lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64))
    )

    ticket = pa.table(
        [
            pa.array(ids),
            ts_array(created),
            ticket_no,
            pa.nulls(n, pa.string()),
            str_take(FIELD_SOURCES, source),
            str_take(ctx.codes, code_idx),
            str_take(URGENCIES, urgent.astype(np.int64)),
            str_take(STATES, state),
            str_take(STAGES, np.maximum(stage, 0), stage < 0),
            ts_array(stage_start),
            ts_array(stage_warn),
            ts_array(stage_due),
            ts_array(due),
            ts_array(orig_due),
            pa.array(ctx.grid_codes[ctx.mg_grid[mg]], pa.string()),
            pa.array(ctx.mg_codes[mg], pa.string()),
            ewkb_points(x, y),
            address,
            desc,
            ts_array(reported_at),
            ts_array(finished),
            ts_array(closed_at),
            pa.array(closed_on_time, mask=~is_closed),
            pa.array(sr),
            pa.array(present[S["fail1"]].astype(np.int16) + present[S["fail2"]]),
            pa.array(
                (present[S["return_unsigned"]] | present[S["return_signed"]]).astype(np.int16)
            ),
            pa.array(present[S["approve_extension"]].astype(np.int16)),
            pa.array(present[S["escalate"]]),
            pa.array(supervision),
            str_take(SATISFACTION, sat, ~surveyed),
            ts_array(updated),
            # The department leading now: the second lead after a return, else the first.
            pa.array(
                np.where(present[S["dispatch2"]], people.lead2, people.lead1).astype(np.int64),
                mask=~(present[S["dispatch1"]] | present[S["dispatch2"]]),
            ),
        ],
        schema=TICKET_SCHEMA,
    )

    events = build_events(
        cal,
        lim,
        life,
        people,
        present,
        t,
        from_s,
        to_s,
        source,
        task_ids,
        sup_ticket,
        sup_time,
        sup_level,
        created,
        fb_last,
        sat,
    )
    return TicketBatch(
        ticket,
        task_table,
        events,
        {
            "tickets": n,
            "tasks": task_table.num_rows,
            "events": events.num_rows,
        },
    )


def ticket_numbers(cal: WorkCalendar, created: np.ndarray, ids: np.ndarray) -> pa.Array:
    """``domain.ticket_no.ticket_no(local day of creation, id)`` for every ticket, as a column."""
    days, inv2 = local_days(cal, created)
    # The day part once per local day, from the one definition of the format.
    labels = [ticket_no(d, 0)[:-ID_DIGITS] for d in days]
    prefix = pc.take(pa.array(labels, pa.string()), pa.array(inv2.astype(np.int32)))
    num = pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), ID_DIGITS, "0")
    return pc.binary_join_element_wise(prefix, num, "")
