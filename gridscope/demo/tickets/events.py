"""ticket_event rows: transitions in (ticket, time) order, then supervision steps."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from domain.supervision import STEP_NAMES_ZH, Step
from domain.vocabulary import ACTOR_KINDS, FIELD_SOURCES, SATISFACTION
from gridscope.demo.tickets.clocks import add_on_clock
from gridscope.demo.tickets.ontime import reported_on_time_us, verified_on_time_us
from gridscope.demo.tickets.schema import EVENT_SCHEMA, NAT, i64_array, str_take, ts_array
from gridscope.demo.tickets.slots import (
    ACTION_IDX,
    ACTIONS,
    SLOT_ACTION,
    SLOT_ACTORS,
    SLOTS,
    SOURCE_ACTOR,
    STATES,
    SUPPLY_ACTOR,
    K,
    S,
)

# The ladder's steps in order, and their names for the event comment.
STEPS = (Step.WARNING, Step.YELLOW, Step.RED)
STEP_COMMENTS = tuple(STEP_NAMES_ZH[s] for s in STEPS)


def build_events(
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
    chunk: int = 500_000,
) -> pa.Table:
    """ticket_event rows: transitions in (ticket, time) order, then supervision steps.

    Built in chunks of tickets: it keeps the temporaries small, which is what costs time here.
    """
    n = life.n
    # data (jsonb): the source, on-time flags the rollups read, the satisfaction, the level.
    labels = [json.dumps({"source": s}) for s in FIELD_SOURCES]
    labels += [json.dumps({"on_time": b}) for b in (False, True)]
    labels += [json.dumps({"satisfaction": s}) for s in SATISFACTION]
    labels += [json.dumps({"level": int(lv)}) for lv in STEPS]
    on_time0 = len(FIELD_SOURCES)
    satisfaction0 = on_time0 + 2
    step0 = satisfaction0 + len(SATISFACTION)
    data = np.full((K, n), -1, np.int8)
    # No data on 'create': the source is a column of the ticket itself, and a jsonb per
    # ticket would cost the bulk load a parse per row for nothing.
    i = np.flatnonzero(present[S["report"]])
    t1_due = add_on_clock(cal, created[i], lim.amount["T1"][i], lim.unit["T1"][i])
    data[S["report"], i] = on_time0 + reported_on_time_us(t[S["report"], i], t1_due)
    for verdict, fb in (("fail1", "feedback1"), ("fail2", "feedback2")):
        i = np.flatnonzero(present[S[verdict]])
        data[S[verdict], i] = on_time0 + verified_on_time_us(t[S[fb], i], t[S[verdict], i])
    i = np.flatnonzero(present[S["pass"]])
    data[S["pass"], i] = on_time0 + verified_on_time_us(fb_last[i], t[S["pass"], i])
    i = np.flatnonzero(present[S["survey"]])
    data[S["survey"], i] = satisfaction0 + sat[i]

    # Actor kind, actor id and task id per (slot, source): small tables, then one gather each.
    id_rows = ("none", "worker", "centre", "lead1", "lead2", "lead", "source")
    kind_tab = np.zeros((K, len(FIELD_SOURCES)), np.int8)
    id_tab = np.zeros((K, len(FIELD_SOURCES)), np.int64)
    task_rows = ("none", "task1", "task2", "task")
    task_tab = np.zeros(K, np.int64)
    for k, (name, _) in enumerate(SLOTS):
        kind_name, id_src, task_src = SLOT_ACTORS[name]
        task_tab[k] = task_rows.index(task_src or "none")
        for j, src in enumerate(FIELD_SOURCES):
            kname = kind_name
            if kname is None:  # create / supply_info: by source
                kname = SOURCE_ACTOR[src] if name == "create" else SUPPLY_ACTOR[src]
            kind_tab[k, j] = ACTOR_KINDS.index(kname)
            if kname in ("public", "system"):
                id_tab[k, j] = 0
            elif kname in ("worker", "centre"):
                id_tab[k, j] = id_rows.index(kname)
            else:
                id_tab[k, j] = id_rows.index(id_src)
    lead = np.where(present[S["dispatch2"]], people.lead2, people.lead1)
    ids = {
        "worker": people.worker,
        "centre": people.centre,
        "lead1": people.lead1,
        "lead2": people.lead2,
        "lead": lead,
        "source": people.source_dept,
        **task_ids,
    }

    tables, first_id = [], 1
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        m = hi - lo
        # Ticket-major order (slots are chronological within a ticket); ``flat`` indexes the
        # slot-major (K, m) chunk matrices.
        f = np.flatnonzero(np.ascontiguousarray(present[:, lo:hi].T))
        ti = f // K
        ki = f - ti * K
        flat = ki * m + ti
        del f
        at = np.ascontiguousarray(t[:, lo:hi]).ravel()[flat]
        src_ev = source[lo:hi][ti]
        cand = np.stack([np.full(m, NAT, np.int64)] + [ids[r][lo:hi] for r in id_rows[1:]])
        actor_id = cand.ravel()[id_tab[ki, src_ev] * m + ti]
        tcand = np.stack([np.full(m, NAT, np.int64)] + [ids[r][lo:hi] for r in task_rows[1:]])
        task_id = tcand.ravel()[task_tab[ki] * m + ti]
        frm = np.ascontiguousarray(from_s[:, lo:hi]).ravel()[flat]
        to = np.ascontiguousarray(to_s[:, lo:hi]).ravel()[flat]
        dix = np.ascontiguousarray(data[:, lo:hi]).ravel()[flat]
        tick = ti + lo
        tables.append(
            pa.table(
                [
                    pa.array(np.arange(first_id, first_id + ti.size, dtype=np.int64)),
                    pa.array(tick + 1),
                    ts_array(created[tick]),
                    ts_array(at),
                    str_take(ACTIONS, SLOT_ACTION[ki]),
                    str_take(STATES, np.maximum(frm, 0), frm < 0),
                    str_take(STATES, np.maximum(to, 0), to < 0),
                    str_take(ACTOR_KINDS, kind_tab[ki, src_ev]),
                    i64_array(actor_id),
                    i64_array(task_id),
                    pa.nulls(ti.size, pa.string()),
                    str_take(labels, np.maximum(dix, 0), dix < 0),
                ],
                schema=EVENT_SCHEMA,
            )
        )
        first_id += ti.size

    s_n = sup_ticket.size
    tables.append(
        pa.table(
            [
                pa.array(np.arange(first_id, first_id + s_n, dtype=np.int64)),
                pa.array(sup_ticket + 1),
                ts_array(created[sup_ticket]),
                ts_array(sup_time),
                str_take(ACTIONS, np.full(s_n, ACTION_IDX["supervise"])),
                pa.nulls(s_n, pa.string()),
                pa.nulls(s_n, pa.string()),
                str_take(
                    ACTOR_KINDS,
                    # The system reminds; the centre hands out the cards.
                    np.where(
                        sup_level == Step.WARNING,
                        ACTOR_KINDS.index("system"),
                        ACTOR_KINDS.index("centre"),
                    ),
                ),
                i64_array(np.where(sup_level == Step.WARNING, NAT, people.centre[sup_ticket])),
                pa.nulls(s_n, pa.int64()),
                str_take(STEP_COMMENTS, sup_level.astype(np.int64) - 1),
                str_take(labels, step0 + sup_level.astype(np.int64) - 1),
            ],
            schema=EVENT_SCHEMA,
        )
    )
    return pa.concat_tables(tables)
