"""`gridscope import tickets FILE.csv --mapping NAME`: a CSV export of service requests into
tickets, set-based and idempotent.

The pipeline (no per-row loop anywhere):

1. read the CSV (gzip by magic number, the mapping's encoding) as text columns (``csv_source``);
2. parse with pandas: dates with the mapping's explicit format in its time zone, coordinates,
   categories, statuses and sources through the mapping's tables; every bad row gets exactly one
   reason (the first check it fails, in the order of ``REASONS``);
3. drop rows already loaded: one query against ``ticket_external`` in the mapping's namespace;
4. spatial join in bulk: an STRtree of the current grids (and micro-grids) of the jurisdiction,
   read once from PostGIS, queried with every distinct point of the file;
5. binary COPY into ``ticket``, ``ticket_event`` and ``ticket_external`` and a set-based upsert
   of ``stat_daily``, all in one transaction with the ``import_run`` row; the data version is
   bumped after commit. Rejected rows go to a CSV beside the input (original columns plus
   ``source_row`` and ``reject_reason``).

How an imported ticket looks (the state comes from the file's own timestamps):

* every ticket has one event, ``create`` at the file's open time by actor ``system`` with
  ``data = {"imported": true, "namespace", "source"}``; its ``to_state`` is the ticket's state,
  so the event log still replays under ``domain.workflow.rules`` (a create may start in any
  state; no transition is invented for steps the source system did not record);
* closed rows: state ``closed``, ``closed_at = finished_at`` = the file's closing time,
  ``due_at = original_due_at`` = the file's due time, ``closed_on_time`` = closed by the due time
  (true when the file has no due time), no running stage. Because the closure is carried by the
  create event, the rollup counts it on the *opening* day (``rebuild_stat_daily.sql`` counts a
  closure on the day of the event that closes); ``ticket.closed_at`` keeps the true time;
* closed rows closing a little *before* they open (within the mapping's
  ``clock_skew_tolerance_s``, default 300 s: two clocks of the source disagreeing) are loaded
  with ``closed_at = finished_at`` = the open time, ``'clock_skew'`` in ``import_flags`` and the
  file's own closing time as ``source_closed_at`` in the create event's data; counted in the
  report. Further apart they are rejected;
* ``source_type`` / ``source_reason``: the source's own classification (Boston TYPE/REASON,
  Open311 ``service_name``) as the file has it, whatever category the mapping derives;
* open rows: the mapping's ``open_state`` (default ``in_progress``, stage T5) with
  ``stage_due_at = due_at = original_due_at`` = the file's due time, so they count as overdue
  once past it; the warning instant is at 80 % of the open→due span (DOMAIN.md §4: warn when
  ≤ 20 % is left); rows without a due time have no stage deadline and are never overdue.

Two zones: the mapping's ``dates.timezone`` reads the file's local times; the deployment's
``timezone`` (GRIDSCOPE_TIMEZONE) decides the local days of the rollup and of ticket numbers.
When they differ the report carries a warning with the number of tickets on another day.
"""

from __future__ import annotations

from .parse import REASONS, parse_dates
from .report import TicketImportReport, default_rejects_path
from .run import import_tickets
from .tables import ewkb_points

__all__ = [
    "REASONS",
    "TicketImportReport",
    "default_rejects_path",
    "ewkb_points",
    "import_tickets",
    "parse_dates",
]
