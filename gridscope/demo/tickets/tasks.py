"""ticket_task rows: the first lead, the lead after a return, and assisting departments."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from domain.workflow.rules import TASK_ROLES, TASK_STATES
from gridscope.demo.tickets.actors import assist_departments
from gridscope.demo.tickets.clocks import add_on_clock
from gridscope.demo.tickets.numeric import floor_s
from gridscope.demo.tickets.ontime import closed_on_time_us
from gridscope.demo.tickets.schema import HOUR, NAT, SEC, TASK_SCHEMA, str_take, ts_array
from gridscope.demo.tickets.slots import FED_BACK_IDX, S

# Indexes into TASK_STATES / TASK_ROLES (the simulator keeps task states and roles as codes).
DISPATCHED, SIGNED, RETURNED, FED_BACK = map(
    TASK_STATES.index, ("dispatched", "signed", "returned", "feedback")
)
LEAD, ASSIST = map(TASK_ROLES.index, ("lead", "assist"))


def build_tasks(
    rng, cal, lim, life, people, present, t, orig_due, due, fb_last, finished, state, end_us
):
    """ticket_task rows and, per ticket, the task ids events refer to."""
    d1 = present[S["dispatch1"]]
    d2 = present[S["dispatch2"]]
    final_d = np.where(d2, t[S["dispatch2"]], np.where(d1, t[S["dispatch1"]], NAT))
    a1_dept, a2_dept, count = assist_departments(
        rng, people.pool, np.where(d2, people.lead2, people.lead1), life.n_assist
    )
    n_assist = np.where(final_d != NAT, count, 0)
    per_ticket = d1.astype(np.int64) + d2 + n_assist
    first = np.concatenate([[0], np.cumsum(per_ticket)[:-1]]) + 1
    m = int(per_ticket.sum())
    task1 = np.where(d1, first, NAT)
    task2 = np.where(d2, first + 1, NAT)
    final_task = np.where(d2, task2, task1)
    returned_at = np.where(
        present[S["return_unsigned"]],
        t[S["return_unsigned"]],
        np.where(present[S["return_signed"]], t[S["return_signed"]], NAT),
    )

    cols = {
        k: np.full(m, NAT, dtype=np.int64)
        for k in (
            "ticket_id",
            "department_id",
            "dispatched_at",
            "sign_due_at",
            "signed_at",
            "due_at",
            "original_due_at",
            "finished_at",
        )
    }
    role = np.full(m, LEAD, np.int8)  # index into TASK_ROLES
    tstate = np.full(m, DISPATCHED, np.int8)  # index into TASK_STATES
    created = t[0]
    fed_back = np.isin(state, FED_BACK_IDX)

    def fill(rows, tix, dept, dispatched, signed, tdue, torig, fin, st_):
        cols["ticket_id"][rows] = tix + 1
        cols["department_id"][rows] = dept
        cols["dispatched_at"][rows] = dispatched
        cols["sign_due_at"][rows] = add_on_clock(
            cal, dispatched, lim.amount["T4"][tix], lim.unit["T4"][tix]
        )
        cols["signed_at"][rows] = signed
        cols["due_at"][rows] = tdue
        cols["original_due_at"][rows] = torig
        cols["finished_at"][rows] = fin
        tstate[rows] = st_

    # First lead task: returned, or the live lead task when there was no return.
    i = np.flatnonzero(d1)
    ret = returned_at[i] != NAT
    sign1 = np.where(present[S["sign1"], i], t[S["sign1"], i], NAT)
    t1_orig = add_on_clock(cal, t[S["dispatch1"], i], lim.amount["T5"][i], lim.unit["T5"][i])
    live = ~ret & ~d2[i]
    st1 = np.where(
        ret,
        RETURNED,
        np.where(live & fed_back[i], FED_BACK, np.where(sign1 != NAT, SIGNED, DISPATCHED)),
    )
    fin1 = np.where(ret, returned_at[i], np.where(st1 == FED_BACK, fb_last[i], NAT))
    fill(
        task1[i] - 1,
        i,
        people.lead1[i],
        t[S["dispatch1"], i],
        sign1,
        np.where(live, due[i], t1_orig),
        np.where(live, orig_due[i], t1_orig),
        fin1,
        st1,
    )
    # Second lead task after a return.
    i = np.flatnonzero(d2)
    sign2 = np.where(present[S["sign2"], i], t[S["sign2"], i], NAT)
    st2 = np.where(fed_back[i], FED_BACK, np.where(sign2 != NAT, SIGNED, DISPATCHED))
    fill(
        task2[i] - 1,
        i,
        people.lead2[i],
        t[S["dispatch2"], i],
        sign2,
        due[i],
        orig_due[i],
        np.where(st2 == FED_BACK, fb_last[i], NAT),
        st2,
    )
    # Assisting departments: dispatched with the final lead, finished before the lead's feedback.
    for k, dept in ((1, a1_dept), (2, a2_dept)):
        i = np.flatnonzero(n_assist >= k)
        rows = first[i] - 1 + d1[i] + d2[i] + (k - 1)
        lead_sign = np.where(d2[i], t[S["sign2"], i], t[S["sign1"], i])
        fb_plan = np.where(t[S["feedback1"], i] != NAT, t[S["feedback1"], i], due[i])
        base = np.where(lead_sign != NAT, lead_sign, final_d[i] + HOUR)
        signed = floor_s(
            final_d[i] + ((base - final_d[i]) * rng.uniform(0.5, 1.5, i.size)).astype(np.int64)
        )
        signed = np.clip(signed, final_d[i] + SEC, np.maximum(fb_plan - SEC, final_d[i] + SEC))
        fin = floor_s(
            signed + ((fb_plan - signed) * rng.uniform(0.3, 0.95, i.size)).astype(np.int64)
        )
        fin = np.maximum(fin, signed)
        signed = np.where(signed <= end_us, signed, NAT)
        fin = np.where((fin <= end_us) & (signed != NAT), fin, NAT)
        st_a = np.where(fin != NAT, FED_BACK, np.where(signed != NAT, SIGNED, DISPATCHED))
        fill(rows, i, dept[i], final_d[i], signed, due[i], orig_due[i], fin, st_a)
        role[rows] = ASSIST

    fin = cols["finished_at"]
    # A task is on time by the rule of the ticket's closure: finished by its original due time.
    fed = tstate == FED_BACK
    on_time = fed & closed_on_time_us(fin, cols["original_due_at"])
    task_table = pa.table(
        [
            pa.array(np.arange(1, m + 1, dtype=np.int64)),
            pa.array(cols["ticket_id"]),
            ts_array(created[cols["ticket_id"] - 1]),
            pa.array(cols["department_id"]),
            str_take(TASK_ROLES, role),
            str_take(TASK_STATES, tstate),
            ts_array(cols["dispatched_at"]),
            ts_array(cols["sign_due_at"]),
            ts_array(cols["signed_at"]),
            ts_array(cols["due_at"]),
            ts_array(cols["original_due_at"]),
            ts_array(fin),
            pa.array(on_time, mask=~fed),
        ],
        schema=TASK_SCHEMA,
    )
    return task_table, {"task1": task1, "task2": task2, "task": final_task}
