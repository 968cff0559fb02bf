"""The supervision ladder (督办, DOMAIN.md §4): reminder at warning, yellow card when overdue,
red card when overdue by at least the stage's whole limit or reworked twice.

The current step of any ticket is derived at any instant from its due times (``LADDER_SQL``);
the periodic sweep records each new step once in the event log and on the ticket.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from .cache import bump_data_version
from .scope import Scope

LEVEL_NAMES_ZH = {1: "预警提醒", 2: "黄牌督办", 3: "红牌督办"}

# The ladder step of an open ticket at %(now)s (0 = none); suspended tickets are out of it.
LADDER_SQL = """
CASE
  WHEN state IN ('closed', 'surveyed', 'rejected', 'suspended') OR stage_due_at IS NULL THEN 0
  WHEN rework_count >= 2
       OR (%(now)s > stage_due_at
           AND %(now)s - stage_due_at >= stage_due_at - stage_started_at) THEN 3
  WHEN %(now)s > stage_due_at THEN 2
  WHEN %(now)s >= stage_warn_at THEN 1
  ELSE 0
END
"""

_SWEEP_SQL = f"""
WITH due AS (
  SELECT id, created_at, supervision AS old_level, ({LADDER_SQL}) AS level, state
    FROM ticket
   WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')
     AND grid_code LIKE %(like)s
     AND (stage_warn_at <= %(now)s OR rework_count >= 2)
   FOR UPDATE
), raised AS (
  UPDATE ticket t SET supervision = d.level, updated_at = %(now)s
    FROM due d
   WHERE t.id = d.id AND t.created_at = d.created_at AND d.level > d.old_level
  RETURNING t.id, t.created_at, d.level
)
INSERT INTO ticket_event (ticket_id, ticket_created_at, at, action, actor_kind, comment, data)
SELECT id, created_at, %(now)s, 'supervise', 'system',
       CASE level WHEN 1 THEN '预警提醒' WHEN 2 THEN '黄牌督办' ELSE '红牌督办' END,
       jsonb_build_object('level', level)
  FROM raised
"""  # noqa: S608 - LADDER_SQL is a constant of this module, values are bound


def sweep(conn: psycopg.Connection, scope: Scope, now: datetime) -> int:
    """Record every ladder step reached by ``now`` and not yet recorded; returns how many."""
    with conn.transaction():
        n = conn.execute(_SWEEP_SQL, {"now": now, "like": scope.like}).rowcount
    if n:
        bump_data_version(conn)
    conn.commit()
    return n
