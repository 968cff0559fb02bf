"""The entry points: ``simulate_tickets`` and the ``overdue`` rule over a ticket table."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping

import numpy as np
import pyarrow as pa

from domain.clock.limits import DEFAULT_STAGE_LIMITS
from domain.clock.work_calendar import WorkCalendar, to_us
from domain.supervision import OFF_LADDER_STATES
from gridscope.demo.model import Territory
from gridscope.demo.tickets.actors import People
from gridscope.demo.tickets.arrivals import creation_times, points_in
from gridscope.demo.tickets.assemble import assemble
from gridscope.demo.tickets.clocks import Limits, local_months
from gridscope.demo.tickets.context import Context, minor_for
from gridscope.demo.tickets.lifecycle import Lifecycle
from gridscope.demo.tickets.numeric import pick
from gridscope.demo.tickets.ontime import closed_on_time_us
from gridscope.demo.tickets.schema import DAY, NAT, SEC, TicketBatch

log = logging.getLogger(__name__)


def simulate_tickets(
    territory: Territory,
    n_tickets: int,
    seed: int,
    end: dt.datetime,
    calendar: WorkCalendar,
    days: int = 365,
    department_ids_by_category: Mapping[str, list[int]] | None = None,
    limits=DEFAULT_STAGE_LIMITS,
) -> TicketBatch:
    """Simulate ``n_tickets`` tickets created in the ``days`` before ``end`` (aware, UTC 'now').

    Deterministic for a seed. Returns the ``ticket``, ``ticket_task`` and ``ticket_event``
    tables (ids from 1; tickets numbered in order of creation). No event lies after ``end``.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    end_us = to_us(end) // SEC * SEC
    start_us = end_us - days * DAY
    n = int(n_tickets)
    ctx = Context(territory, calendar, department_ids_by_category, rng)

    # Where: micro-grid by weight, then a point inside it.
    mg = rng.choice(len(ctx.mg_codes), size=n, p=ctx.mg_weight)
    cls = ctx.mg_class[mg]
    # What and when.
    source = pick(rng, ctx.class_sources, cls)
    created = creation_times(rng, calendar, source, start_us, end_us)
    month = local_months(calendar, created)
    order = np.argsort(created, kind="stable")
    mg, cls, source, created, month = (
        mg[order],
        cls[order],
        source[order],
        created[order],
        month[order],
    )
    major = pick(rng, ctx.category_probs, cls * 12 + month)
    code_idx = minor_for(rng, ctx, major)
    urgent = rng.random(n) < ctx.urgent_p[major]
    timings["where_what_when"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    x, y = points_in(rng, ctx.mg_geoms, ctx.mg_bounds, mg)
    timings["points"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    lim = Limits(ctx.codes, code_idx, urgent, limits)
    life = Lifecycle(rng, calendar, lim, n, created, source, major, urgent)
    life.run()
    timings["lifecycle"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    people = People(rng, ctx, mg, major, n)
    out = assemble(
        rng, calendar, ctx, lim, life, people, end_us, mg, source, code_idx, urgent, x, y
    )
    timings["assemble"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    out.stats.update({f"seconds_{k}": v for k, v in timings.items()})
    log.info(
        "simulated %d tickets, %d tasks, %d events in %.1f s",
        n,
        out.ticket_task.num_rows,
        out.ticket_event.num_rows,
        timings["total"],
    )
    return out


def overdue(ticket: pa.Table, now: dt.datetime) -> np.ndarray:
    """Which tickets count as overdue (超期) at ``now`` (DOMAIN.md §4).

    Overdue = finished after the original due time, or open (not suspended) past its stage's
    due time or its handling due time.
    """
    now_us = to_us(now)

    def us(col):
        a = ticket[col].to_numpy(zero_copy_only=False)
        return np.where(np.isnat(a), NAT, a.astype("datetime64[us]").astype(np.int64))

    fin, orig = us("finished_at"), us("original_due_at")
    stage_due, due = us("stage_due_at"), us("due_at")
    state = ticket["state"].to_numpy(zero_copy_only=False)
    open_ = ~np.isin(state, sorted(OFF_LADDER_STATES))
    late_done = (fin != NAT) & ~closed_on_time_us(fin, orig)
    late_open = open_ & (
        ((stage_due != NAT) & (stage_due < now_us)) | ((due != NAT) & (due < now_us) & (fin == NAT))
    )
    return late_done | late_open
