"""Creating a ticket: checks, the grid lookup and one INSERT round trip for the ticket, its
external id, its 'create' event and its rollup counts (stat_daily, and stat_worker_daily for a
worker's discovery)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from domain import ticket_no
from domain.clock.now import SystemClock
from domain.config import Settings
from domain.vocabulary import SOURCES, URGENCIES
from domain.workflow import lifecycle as lc
from domain.workflow.clocks import Clocks

from ..cache import commit_and_bump
from ..db import one
from ..item_list import refusal_on
from ..scope import Scope
from .errors import TicketError

# How far a reported point may lie outside its jurisdiction or grid (GPS error) when the caller
# does not pass the setting; the setting's own default, declared once in domain.config.
DEFAULT_TOLERANCE_M: float = Settings.model_fields["point_tolerance_m"].default


@dataclass
class NewTicket:
    """A ticket as submitted. Coordinates are WGS84 lon/lat degrees."""

    category_code: str
    lon: float
    lat: float
    source: str = "patrol"
    urgency: str = "normal"
    grid_code: str | None = None
    description: str | None = None
    address: str | None = None
    external_id: str | None = None
    external_namespace: str = "api"
    created_at: datetime | None = None
    actor_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _validate_fields(new: NewTicket) -> None:
    if new.source not in SOURCES:
        raise TicketError("source", f"must be one of {', '.join(SOURCES)}")
    if new.urgency not in URGENCIES:
        raise TicketError("urgency", "must be 'normal' or 'urgent'")
    for name, value, lo, hi in (("long", new.lon, -180, 180), ("lat", new.lat, -90, 90)):
        if not isinstance(value, int | float) or value != value or not lo <= value <= hi:
            raise TicketError(name, f"must be a number between {lo} and {hi}")


def create_ticket(
    conn: psycopg.Connection,
    clocks: Clocks,
    scope: Scope,
    new: NewTicket,
    now: datetime | None = None,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> dict[str, Any]:
    """Create one ticket (and its 'create' event and rollup counts) in one transaction.

    Patrol tickets start ``discovered`` on the T1 report clock; tickets from the hotline, apps and
    departments arrive ``reported`` on the T2 accept clock. The point (WGS84 lon/lat) must lie in
    the jurisdiction, the union of its current grids, give or take ``tolerance_m`` metres (GPS
    error; setting ``point_tolerance_m``), else 422 ``lat/long``; a given ``grid_code`` must be
    a grid of the jurisdiction (403) that holds the point within the same tolerance (else 422
    ``grid_code``). Without ``grid_code`` the grid covering the point is used, or the nearest
    one within the tolerance. The category must be in force on the ticket's local day
    (``created_at`` in ``clocks.tz``) by the item list's decisions (docs/item-list.md), else
    422 ``service_code`` naming the decision that withdrew it or the day it comes into force.
    ``now`` (aware UTC; callers pass their clock's instant, the
    system clock is the fallback) stamps ``updated_at`` and is the creation time when
    ``new.created_at`` is not given. Returns id, ticket_no, state, grid_code, created_at.
    """
    now = now or SystemClock().now()
    created_at = new.created_at or now
    if created_at.tzinfo is None:
        raise TicketError("requested_datetime", "must carry a time zone offset")
    owns_transaction = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    try:
        if new.external_id is not None:
            try:
                # The lookup of _create also finds a ticket already made for the external id.
                return _create(conn, clocks, scope, new, created_at, now, tolerance_m)
            except TicketError:
                # A retry of an accepted ticket gets that ticket even if this copy is refused.
                existing = find_external(conn, scope, new.external_namespace, new.external_id)
                if existing is None:
                    raise
                return existing
            except psycopg.errors.UniqueViolation:
                # A concurrent request with the same external id won the race: its ticket.
                conn.rollback()
                existing = find_external(conn, scope, new.external_namespace, new.external_id)
                if existing is None:
                    raise
                return existing
        return _create(conn, clocks, scope, new, created_at, now, tolerance_m)
    except BaseException:
        if owns_transaction:  # a refusal leaves the database as it was
            conn.rollback()
        raise


def find_external(
    conn: psycopg.Connection, scope: Scope, namespace: str, external_id: str
) -> dict[str, Any] | None:
    """The ticket already created for an external id (created=False), or None."""
    row = conn.execute(
        "SELECT t.id, t.ticket_no, t.state, t.grid_code, t.micro_grid_code, t.created_at"
        " FROM ticket_external x JOIN ticket t ON t.id = x.ticket_id"
        "   AND t.created_at = x.ticket_created_at"
        " WHERE x.namespace = %s AND x.external_id = %s",
        (namespace, external_id),
    ).fetchone()
    if row is None:
        return None
    return _existing(scope, row)


_EXISTING_KEYS = ("id", "ticket_no", "state", "grid_code", "micro_grid_code", "created_at")


def _existing(scope: Scope, row: Sequence[Any]) -> dict[str, Any]:
    if not scope.contains(row[3]):
        raise TicketError(
            "external_id", "already used by a ticket outside your jurisdiction", status=409
        )
    return {**dict(zip(_EXISTING_KEYS, row, strict=True)), "created": False}


# Whether the category is in force on the ticket's local day (the item list's latest decision
# effective on or before it; a code without decisions as its admitted flag says, since always;
# NULL for an unknown code: one probe of category_decision_code in the same round trip, so a
# decision applies to the next request, with no copy to go stale), located grid and
# micro-grid, whether the point lies near the given grid, and the
# ticket already created for the external id if any (the columns of find_external): one round
# trip. The located grid is the grid of the jurisdiction that covers the point, else the nearest
# one within the tolerance (GPS error at a boundary); none when the point lies farther than the
# tolerance from every grid of the jurisdiction. Distances are metres on the spheroid
# (geography); the ``&&`` box in degrees (``_box_deg``) only lets the spatial index prefilter.
_LOOKUP_SQL = """
SELECT (SELECT CASE WHEN d.action IS NOT NULL THEN d.action <> 'withdraw'
                    WHEN EXISTS (SELECT 1 FROM category_decision x WHERE x.code = c.code)
                    THEN false
                    ELSE c.admitted END
          FROM category c
          LEFT JOIN LATERAL (
               SELECT d.action FROM category_decision d
                WHERE d.code = c.code AND d.effective_on <= %(day)s
                ORDER BY d.effective_on DESC, d.id DESC LIMIT 1) d ON true
         WHERE c.code = %(category)s),
       g.code, g.micro,
       (SELECT ST_Covers(gg.geom, p.pt)
               OR ST_DWithin(gg.geom::geography, p.pt::geography, %(tol)s)
          FROM grid gg WHERE gg.code = %(given)s AND gg.valid_to IS NULL),
       x.id, x.ticket_no, x.state, x.grid_code, x.micro_grid_code, x.created_at
  FROM (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS pt) p
  LEFT JOIN LATERAL (
       SELECT t.id, t.ticket_no, t.state, t.grid_code, t.micro_grid_code, t.created_at
         FROM ticket_external e JOIN ticket t ON t.id = e.ticket_id
          AND t.created_at = e.ticket_created_at
        WHERE e.namespace = %(namespace)s AND e.external_id = %(external_id)s) x ON true
  LEFT JOIN LATERAL (
       SELECT g.code,
              (SELECT m.code FROM micro_grid m WHERE m.grid_code = g.code
                  AND m.valid_to IS NULL AND ST_Covers(m.geom, p.pt) ORDER BY m.code LIMIT 1)
                AS micro
         FROM grid g
        WHERE g.valid_to IS NULL AND g.code LIKE %(like)s
          AND g.geom && ST_Expand(p.pt, %(box)s)
          AND (ST_Covers(g.geom, p.pt)
               OR ST_DWithin(g.geom::geography, p.pt::geography, %(tol)s))
        ORDER BY NOT ST_Covers(g.geom, p.pt), ST_Distance(g.geom::geography, p.pt::geography),
                 g.code
        LIMIT 1) g ON true
"""

# Metres per degree of latitude is at least this (110.57 km at the equator): a lower bound.
_M_PER_DEG = 110_000.0


def _box_deg(lat: float, tolerance_m: float) -> float:
    """Half-width in degrees of a lon/lat box around a point at ``lat`` that holds every point
    within ``tolerance_m`` metres of it (generous: an index prefilter, not the test)."""
    dlat = tolerance_m / _M_PER_DEG
    cos = math.cos(math.radians(min(90.0, abs(lat) + dlat)))
    if cos < 1e-6:
        return 360.0  # at a pole every longitude is near
    return min(360.0, max(dlat, dlat / cos)) + 1e-9


# One round trip writes the ticket, its external id, its 'create' event and its rollup counts.
_CREATE_SQL = """
WITH n AS (SELECT nextval('ticket_id_seq') AS id),
t AS (
  INSERT INTO ticket (id, created_at, ticket_no, external_id, source, category_code, urgency,
                      state, stage, stage_started_at, stage_warn_at, stage_due_at, grid_code,
                      micro_grid_code, geom, address, description, reported_at, updated_at)
  SELECT n.id, %(created_at)s,
         %(prefix)s || %(day)s || lpad(n.id::text, greatest(%(digits)s, length(n.id::text)), '0'),
         %(external_id)s, %(source)s, %(category)s, %(urgency)s, %(state)s, %(stage)s,
         %(created_at)s, %(warn)s, %(due)s, %(grid)s, %(micro)s,
         ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), %(address)s, %(description)s,
         %(reported_at)s, %(now)s
    FROM n
  RETURNING id, ticket_no
),
x AS (
  INSERT INTO ticket_external (namespace, external_id, ticket_id, ticket_created_at)
  SELECT %(namespace)s, %(external_id)s, t.id, %(created_at)s FROM t
   WHERE %(external_id)s::text IS NOT NULL
),
e AS (
  INSERT INTO ticket_event (ticket_id, ticket_created_at, at, action, from_state, to_state,
                            actor_kind, actor_id, data)
  SELECT t.id, %(created_at)s, %(created_at)s, 'create', NULL, %(state)s, %(actor_kind)s,
         %(actor_id)s, %(data)s
    FROM t
),
s AS (
  INSERT INTO stat_daily (day, grid_code, category_code, created, reported, reported_on_time)
  VALUES (%(local_day)s, %(grid)s, %(category)s, %(created)s, %(reported)s,
          %(reported_on_time)s)
  ON CONFLICT (day, grid_code, category_code) DO UPDATE
     SET created = stat_daily.created + EXCLUDED.created,
         reported = stat_daily.reported + EXCLUDED.reported,
         reported_on_time = stat_daily.reported_on_time + EXCLUDED.reported_on_time
),
-- A worker who finds a problem on patrol (actor 'worker' with a staff id) discovered it: the
-- per-worker rollup (rules: queries/sql/rebuild_stat_worker_daily.sql).
w AS (
  INSERT INTO stat_worker_daily (day, staff_id, grid_code, discovered)
  SELECT %(local_day)s, %(actor_id)s, %(grid)s, 1
   WHERE %(actor_kind)s = 'worker' AND %(actor_id)s::bigint IS NOT NULL
  ON CONFLICT (day, staff_id, grid_code) DO UPDATE
     SET discovered = stat_worker_daily.discovered + 1
)
SELECT id, ticket_no FROM t
"""
# The rollup counts a creation can add (the columns of the stat_daily insert above).
_CREATE_COUNTS = ("created", "reported", "reported_on_time")


def _create(
    conn: psycopg.Connection,
    clocks: Clocks,
    scope: Scope,
    new: NewTicket,
    created_at: datetime,
    now: datetime,
    tolerance_m: float,
) -> dict[str, Any]:
    _validate_fields(new)
    if not tolerance_m >= 0:
        raise ValueError(f"tolerance_m must be a distance in metres, not {tolerance_m!r}")
    if new.grid_code is not None and not scope.contains(new.grid_code):
        raise TicketError("grid_code", "outside your jurisdiction", status=403)
    local_day = created_at.astimezone(clocks.tz).date()
    admitted, located, micro, given_near, *existing = one(
        conn.execute(
            _LOOKUP_SQL,
            {
                "category": new.category_code,
                "day": local_day,
                "given": new.grid_code,
                "lon": new.lon,
                "lat": new.lat,
                "like": scope.like,
                "tol": tolerance_m,
                "box": _box_deg(new.lat, tolerance_m),
                "namespace": new.external_namespace,
                "external_id": new.external_id,
            },
        ).fetchone()
    )
    if existing[0] is not None:
        return _existing(scope, existing)
    if admitted is None:
        raise TicketError("service_code", f"unknown category {new.category_code!r}")
    if not admitted:
        # The error path only: the decision that withdrew it, or when it comes into force.
        why = refusal_on(conn, new.category_code, local_day)
        raise TicketError("service_code", why or f"category {new.category_code!r} is not in force")
    if located is None:
        raise TicketError(
            "lat/long",
            f"the point lies more than {tolerance_m:g} m outside every grid of the jurisdiction",
        )
    grid_code = located
    if new.grid_code is not None:
        if given_near is None:
            raise TicketError("grid_code", f"unknown grid {new.grid_code!r}")
        if not given_near:
            raise TicketError(
                "grid_code",
                f"the point lies more than {tolerance_m:g} m outside grid {new.grid_code}",
            )
        grid_code = new.grid_code
        micro = micro if located == grid_code else None

    start = lc.created(new.source, created_at, new.category_code, new.urgency, clocks)
    ticket_id, number = one(
        conn.execute(
            _CREATE_SQL,
            {
                "created_at": created_at,
                "prefix": ticket_no.PREFIX,
                "day": ticket_no.day_part(local_day),
                "digits": ticket_no.ID_DIGITS,
                "local_day": local_day,
                "external_id": new.external_id,
                "namespace": new.external_namespace,
                "source": new.source,
                "category": new.category_code,
                "urgency": new.urgency,
                "state": start.state.value,
                "stage": start.stage,
                "warn": start.warn_at,
                "due": start.due_at,
                "grid": grid_code,
                "micro": micro,
                "lon": new.lon,
                "lat": new.lat,
                "address": new.address,
                "description": new.description,
                "reported_at": start.reported_at,
                "now": now,
                "actor_kind": start.actor_kind,
                "actor_id": new.actor_id,
                "data": Jsonb(new.extra) if new.extra else None,
                **{k: start.counts.get(k, 0) for k in _CREATE_COUNTS},
            },
        ).fetchone()
    )
    commit_and_bump(conn)  # after the commit: a reader of the new version sees the ticket
    return {
        "id": ticket_id,
        "ticket_no": number,
        "state": start.state.value,
        "grid_code": grid_code,
        "micro_grid_code": micro,
        "created_at": created_at,
        "created": True,
    }
