"""The demo's planted hotspot (issue #12 §1): street vending (占道经营) surging in one grid over the
last two months, a third of it at one spot, so that /analytics has a hotspot to show and the
tests one to find. The simulator's city has none of its own: its tickets follow steady rates.

One grid is drawn (seeded) among the busier half of the comprehensive grids. Into it go, as
tickets a patrol worker found and resolved on the spot (created → self_resolve → close, the
steps and clocks of domain.workflow.lifecycle, written with their events and rollup counts the
way the write path writes them):

- this month, up to "now": 3 × the grid's usual monthly count (at least 40, at most 400);
- last month: half of that (a problem that grows);
- a third of each (at least ``recurring_min`` + 2) within 15 m of one point in the grid: a
  recurring problem for the 90-day rule.

What was planted is recorded in gridscope_meta under 'demo_hotspot' (grid, category, spot,
counts, ticket ids) so the tests and docs can name it. Running it again on the same load plants
nothing (the record's tickets are still there).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import psycopg
import shapely

from domain import ticket_no
from domain.analytics.periods import containing
from domain.analytics.recurring import metres_per_degree
from domain.config import Settings
from domain.workflow import lifecycle as lc
from domain.workflow.rules import Action, State
from gridscope.demo.tickets.texts import ROADS, templates_for
from queries.analytics import hotspot_plant as sql
from queries.item_list import load_clocks
from queries.tickets.rollup import worker_step_counts
from queries.tickets.transition import Transition

CATEGORY = "0901"  # 占道经营: a market gate that draws vendors every day
SPOT_RADIUS_M = 15.0
SPOT_SHARE = 1 / 3
MIN_PER_MONTH, MAX_PER_MONTH = 40, 400
BASELINE_MONTHS = 6
# Ticket columns the lifecycle steps fill (queries.analytics.hotspot_plant writes them).
_COLUMNS = (
    "id",
    "created_at",
    "category_code",
    "urgency",
    "state",
    "stage",
    "stage_started_at",
    "stage_warn_at",
    "stage_due_at",
    "due_at",
    "original_due_at",
    "finished_at",
    "closed_at",
    "closed_on_time",
)


def _points_in(geom, n: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    """``n`` points uniformly inside ``geom`` (lon/lat), by rejection from its bounds."""
    x0, y0, x1, y1 = geom.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = rng.uniform(x0, x1, 4 * n)
        ys = rng.uniform(y0, y1, 4 * n)
        inside = shapely.contains_xy(geom, xs, ys)
        out += list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    return out[:n]


def _spot_points(
    lon: float, lat: float, n: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """``n`` points within SPOT_RADIUS_M metres of (lon, lat)."""
    per_lon, per_lat = metres_per_degree(lat)
    r = SPOT_RADIUS_M * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * math.pi, n)
    return list(
        zip(
            (lon + r * np.cos(a) / per_lon).tolist(),
            (lat + r * np.sin(a) / per_lat).tolist(),
            strict=True,
        )
    )


def _instants(first: datetime, last: datetime, n: int, rng: np.random.Generator) -> list[datetime]:
    """``n`` instants in [first, last), sorted, whole seconds."""
    span = (last - first).total_seconds()
    offsets = np.sort(rng.uniform(0, span, n))
    return [first + timedelta(seconds=int(s)) for s in offsets]


def _choose_grid(
    conn: psycopg.Connection, today: date, rng: np.random.Generator
) -> tuple[str, float]:
    """(grid, its mean tickets per month over the BASELINE_MONTHS months before last month):
    drawn among the comprehensive grids at or above the median of that count."""
    last_month = containing("month", today).previous()
    first = last_month
    for _ in range(BASELINE_MONTHS):
        first = first.previous()
    activity = sql.grid_activity(conn, first.start, last_month.start - timedelta(days=1))
    if not activity:
        raise RuntimeError("no comprehensive grid to plant a hotspot in")
    counts = sorted(n for _, n in activity)
    median = counts[len(counts) // 2]
    busy = [(c, n) for c, n in activity if n >= median]
    code, n = busy[int(rng.integers(len(busy)))]
    return code, n / BASELINE_MONTHS


def after_load(
    conn: psycopg.Connection,
    settings: Settings,
    territory,
    seed: int,
    now: datetime,
    echo: Callable[[str], None] = print,
) -> None:
    """Plant the demo hotspot on ``conn`` (the caller commits); nothing when already planted."""
    if sql.planted(conn):
        return
    tz = settings.tz
    rng = np.random.default_rng([seed, 12, 1])
    today = now.astimezone(tz).date()
    grid, monthly = _choose_grid(conn, today, rng)
    workers = sql.grid_workers(conn, grid)
    geom = territory.grids.set_index("code").geometry[grid]
    # The spot: a point well inside the grid (its 15 m disc too), not the grid's anchor, so that
    # a viewer who may not see exact places sees the circle move to the anchor.
    inner = geom.buffer(-2 * SPOT_RADIUS_M / metres_per_degree(geom.centroid.y)[1])
    spot = shapely.Point(_points_in(inner if not inner.is_empty else geom, 1, rng)[0])
    this_month = containing("month", today)
    months = [
        # (first instant, last instant, tickets)
        (this_month.previous().bounds(tz)[0], this_month.bounds(tz)[0], 0.5),
        (this_month.bounds(tz)[0], now, 1.0),
    ]
    per_month = int(min(MAX_PER_MONTH, max(MIN_PER_MONTH, round(3 * monthly))))
    clocks = load_clocks(conn, settings)
    addresses = sql.grid_addresses(conn, grid) or [
        f"{ROADS[i % len(ROADS)]}{10 + i}号" for i in range(20)
    ]
    spot_address = addresses[int(rng.integers(len(addresses)))]
    texts = templates_for(CATEGORY)
    plan: list[tuple[datetime, tuple[float, float], str]] = []
    spot_tickets = 0
    for first, last, share in months:
        n = max(settings.recurring_min + 2, round(per_month * share))
        at_spot = max(settings.recurring_min + 2, round(n * SPOT_SHARE))
        spot_tickets += at_spot
        points = _spot_points(spot.x, spot.y, at_spot, rng) + _points_in(geom, n - at_spot, rng)
        order = rng.permutation(n)
        for when, k in zip(_instants(first, last, n, rng), order.tolist(), strict=True):
            addr = spot_address if k < at_spot else addresses[int(rng.integers(len(addresses)))]
            plan.append((when, points[k], addr))
    ids = sql.next_ticket_ids(conn, len(plan))
    tickets, events = [], []
    stats: dict = defaultdict(lambda: defaultdict(int))
    worker_stats: dict = defaultdict(lambda: defaultdict(int))
    for tid, (created, (lon, lat), addr) in zip(ids, plan, strict=True):
        actor = workers[int(rng.integers(len(workers)))] if workers else None
        start = lc.created("patrol", created, CATEGORY, "normal", clocks)
        row = {
            "id": tid,
            "created_at": created,
            "category_code": CATEGORY,
            "urgency": "normal",
            "state": start.state.value,
            "stage": start.stage,
            "stage_started_at": created,
            "stage_warn_at": start.warn_at,
            "stage_due_at": start.due_at,
        }
        steps = [("create", None, start.state.value, created, start.counts)]
        resolve_at = created + timedelta(minutes=int(rng.integers(10, 50)))
        close_at = resolve_at + timedelta(minutes=int(rng.integers(2, 20)))
        for action, at in ((Action.SELF_RESOLVE, resolve_at), (Action.CLOSE, close_at)):
            new = State.SELF_RESOLVED if action == Action.SELF_RESOLVE else State.CLOSED
            fx = lc.ticket_step(
                lc.TicketFacts.from_row(row), action, new, at, Transition(action.value), clocks
            )
            steps.append((action.value, row["state"], new.value, at, fx.counts))
            row.update(fx.changes)
        for action, before, after, at, counts in steps:
            events.append(
                {
                    "ticket_id": tid,
                    "created_at": created,
                    "at": at,
                    "action": action,
                    "from_state": before,
                    "to_state": after,
                    "actor_kind": "worker",
                    "actor_id": actor,
                }
            )
            day = at.astimezone(tz).date()
            for k, v in counts.items():
                stats[(day, grid, CATEGORY)][k] += v
            mine = worker_step_counts("worker", actor, counts)
            if action == "create" and actor is not None:
                mine = {**mine, "discovered": 1}
            for k, v in mine.items():
                worker_stats[(day, actor, grid)][k] += v
        tickets.append(
            {
                **{k: row.get(k) for k in _COLUMNS},
                "ticket_no": ticket_no.ticket_no(created.astimezone(tz).date(), tid),
                "source": "patrol",
                "grid_code": grid,
                "lon": lon,
                "lat": lat,
                "address": addr,
                "description": texts[int(rng.integers(len(texts)))],
                "self_resolved": bool(row.get("self_resolved")),
                "updated_at": row.get("closed_at") or created,
            }
        )
    sql.write_tickets(conn, tickets, events, stats, worker_stats)
    value = {
        "grid": grid,
        "category": CATEGORY,
        "spot": [round(spot.x, 7), round(spot.y, 7)],
        "spot_radius_m": SPOT_RADIUS_M,
        "spot_tickets": spot_tickets,
        "tickets": len(plan),
        "ticket_ids": [min(ids), max(ids)],
        "per_month": per_month,
        "usual_per_month": round(monthly, 2),
        "months": [this_month.previous().key, this_month.key],
        "planted_at": now.isoformat(),
    }
    sql.record(conn, value)
    echo(f"planted hotspot: {len(plan)} tickets of {CATEGORY} in grid {grid}")
