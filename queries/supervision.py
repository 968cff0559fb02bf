"""The supervision ladder (督办, DOMAIN.md §4) in SQL: the rule of ``domain.supervision``.

The current step of any ticket is derived at any instant from its due times (``LADDER_SQL``,
held equal to ``domain.supervision.ladder_step`` by tests/db/test_supervision_ladder.py); the
periodic sweep records each new step once in the event log and on the ticket.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from domain.supervision import (
    OFF_LADDER_STATES,
    RED_OVERDUE_SHARE,
    RED_REWORKS,
    STEP_NAMES_ZH,
    Step,
)

from .cache import bump_data_version
from .scope import Scope

# Constants of domain.supervision written into the statement text (never input); the callers
# bind only %(now)s. A ticket without a stage start counts its limit as zero, as ladder_step.
_OFF_LADDER = ", ".join(f"'{s}'" for s in sorted(OFF_LADDER_STATES))
_RED_REWORKS = int(RED_REWORKS)
_RED_SHARE = float(RED_OVERDUE_SHARE)

# The ladder step of a ticket at %(now)s (0 = none); suspended tickets are out of it.
LADDER_SQL = f"""
CASE
  WHEN state IN ({_OFF_LADDER}) OR stage_due_at IS NULL THEN 0
  WHEN rework_count >= {_RED_REWORKS}
       OR (%(now)s > stage_due_at
           AND %(now)s - stage_due_at
               >= (stage_due_at - coalesce(stage_started_at, stage_due_at)) * {_RED_SHARE}) THEN 3
  WHEN %(now)s > stage_due_at THEN 2
  WHEN %(now)s >= stage_warn_at THEN 1
  ELSE 0
END
"""  # noqa: S608 - only constants of domain.supervision are written into the text

_SWEEP_SQL = f"""
WITH due AS (
  SELECT id, created_at, supervision AS old_level, ({LADDER_SQL}) AS level, state
    FROM ticket
   WHERE state NOT IN ({_OFF_LADDER})
     AND grid_code LIKE %(like)s
     AND (stage_warn_at <= %(now)s OR rework_count >= {_RED_REWORKS})
   FOR UPDATE
), raised AS (
  UPDATE ticket t SET supervision = d.level, updated_at = %(now)s
    FROM due d
   WHERE t.id = d.id AND t.created_at = d.created_at AND d.level > d.old_level
  RETURNING t.id, t.created_at, d.level
)
INSERT INTO ticket_event (ticket_id, ticket_created_at, at, action, actor_kind, comment, data)
SELECT id, created_at, %(now)s, 'supervise', 'system',
       CASE level WHEN 1 THEN %(warning)s WHEN 2 THEN %(yellow)s ELSE %(red)s END,
       jsonb_build_object('level', level)
  FROM raised
"""  # noqa: S608 - LADDER_SQL and the ladder constants are constants, values are bound

# The event's comment names the step (the log is read by people as well as by the screen).
_STEP_COMMENTS = {
    "warning": STEP_NAMES_ZH[Step.WARNING],
    "yellow": STEP_NAMES_ZH[Step.YELLOW],
    "red": STEP_NAMES_ZH[Step.RED],
}


def sweep(conn: psycopg.Connection, scope: Scope, now: datetime) -> int:
    """Record every ladder step reached by ``now`` and not yet recorded; returns how many."""
    with conn.transaction():
        n = conn.execute(_SWEEP_SQL, {"now": now, "like": scope.like, **_STEP_COMMENTS}).rowcount
    if n:
        bump_data_version(conn)
    conn.commit()
    return n
