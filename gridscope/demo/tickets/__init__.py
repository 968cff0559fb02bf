"""A year of demo tickets through the closed loop, simulated stage by stage with numpy.

``simulate_tickets`` draws where (micro-grids weighted by grid type, households and hotspot
kernels; a uniform point inside the micro-grid), when (daily, weekly and seasonal rhythms per
source, holidays from the work calendar, slight growth), what (category mix by grid type and
month, urgency, source) and then the lifecycle of every ticket through the States and Actions of
``domain.workflow.rules`` on the stage clocks of ``domain.clock`` (DOMAIN.md §3–4).

The lifecycle is a fixed sequence of *slots* (one action each, in chronological order); every
ticket takes a subset of them. Times are drawn per slot for all tickets at once as fractions of
the stage's limit on the stage's own clock, so lateness rates are explicit parameters. Events
after ``end`` are then cut off, which leaves recent tickets open at a realistic stage, and every
ticket column is derived from the events that remain. The ``from_state``/``to_state`` of each
event come from ``rules.TRANSITIONS``; an illegal sequence raises, it is never written.

Nothing here loops per ticket or per event: loops run over slots, units, categories and grids.

Conventions of the tables (the write path in ``queries.tickets`` follows the same ones):

* ids: tickets 1..n in order of creation, tasks 1..m, events 1..e (set the sequences after COPY);
  ``ticket_no`` = ``domain.ticket_no.ticket_no(local day of creation, id)``.
* events: transitions in (ticket, slot) order, then supervision steps (action 'supervise',
  from/to NULL, comment 预警提醒/黄牌督办/红牌督办); the first event of a ticket is 'create' with
  from_state NULL. ``data`` is JSON text for the jsonb column: none on create,
  {"on_time"} on report/verify_pass/verify_fail, {"satisfaction"} on survey, {"level"} on
  supervise. actor_id is a staff id for 'worker'/'centre', a department id for 'department',
  NULL for 'public'/'system'.
* stage clocks: a stage starts when the ticket enters it (T5 at the last dispatch, or at the
  resume after a suspension; T6 at the last feedback); escalation restarts T3 for the upper
  level. due_at/original_due_at are the handling (T5) due times from the last dispatch; an
  approved extension moves due_at by one more limit; a resume moves both by the time
  suspended; self-resolved tickets carry their T1 due. closed_on_time is
  ``domain.workflow.timeliness.closed_on_time(finished_at, original_due_at)``, where
  finished_at is the last feedback (or the self-resolution).
* supervision = highest ladder step reached (``domain.supervision``) — on the handling stage,
  and on the current stage of open tickets.

The package, by concern: ``schema`` (the Arrow tables), ``params`` (the demo's knobs),
``slots`` (the lifecycle template), ``context`` and ``texts`` (territory, item list, people,
addresses as arrays), ``arrivals`` (where and when), ``clocks`` (limits and stage clocks),
``lifecycle`` (the planned slots), ``actors``, ``ladder`` (supervision), ``ontime`` (the on-time
rules over arrays), ``assemble``, ``tasks`` and ``events`` (the tables), ``simulate`` (entry
points).
"""

from gridscope.demo.tickets.schema import (
    EVENT_SCHEMA,
    TASK_SCHEMA,
    TICKET_SCHEMA,
    TicketBatch,
)
from gridscope.demo.tickets.simulate import overdue, simulate_tickets
from gridscope.demo.tickets.slots import SLOTS

__all__ = [
    "EVENT_SCHEMA",
    "SLOTS",
    "TASK_SCHEMA",
    "TICKET_SCHEMA",
    "TicketBatch",
    "overdue",
    "simulate_tickets",
]
