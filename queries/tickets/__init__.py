"""The ticket write path: create tickets and apply transitions, transactionally.

Every change writes the ticket row, appends to the event log and updates the rollups
(``stat_daily``; per department ``stat_task_daily``, per worker ``stat_worker_daily``) and, for a
survey, the ``survey`` record in one transaction; the data version is bumped after commit so
cached screens refresh.
The rules themselves are pure: the transitions in ``domain.workflow.rules``, what each step
changes in ``domain.workflow.lifecycle``, the on-time judgements in
``domain.workflow.timeliness``. Modules: ``create`` (new tickets), ``transition`` (steps),
``tasks`` (department tasks), ``events`` (the log), ``rollup`` (the daily rollups), ``survey``
(survey records), ``read``.
"""

from __future__ import annotations

from domain.vocabulary import ACTOR_KINDS, SOURCES, URGENCIES
from domain.workflow.clocks import Clocks
from domain.workflow.timeliness import VERIFY_LIMIT

from .create import NewTicket, create_ticket, find_external
from .errors import TicketError
from .read import TICKET_COLUMNS, get_ticket
from .rollup import STAT_COLUMNS
from .transition import TASK_ACTIONS, Transition, apply_transition

__all__ = [
    "ACTOR_KINDS",
    "SOURCES",
    "STAT_COLUMNS",
    "TASK_ACTIONS",
    "TICKET_COLUMNS",
    "URGENCIES",
    "VERIFY_LIMIT",
    "Clocks",
    "NewTicket",
    "TicketError",
    "Transition",
    "apply_transition",
    "create_ticket",
    "find_external",
    "get_ticket",
]
