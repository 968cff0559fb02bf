"""`gridscope demo live`: keeps the demo city moving in real time through the real write path.

New tickets arrive as a Poisson process, open tickets take their next workflow step, on-duty
workers send GPS fixes. Everything goes through ``queries.tickets`` and ``queries.positions``,
so the screen sees exactly what it would see in production.

Every instant written comes from the injected ``Clock`` (``SystemClock`` for the CLI; a test or
a replay can drive it); the pacing of the loop uses the monotonic timer only.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg

from domain.clock.now import Clock, SystemClock
from domain.config import Settings
from domain.vocabulary import FIELD_SOURCES, SATISFACTION, URGENCIES
from domain.workflow.rules import Action, State
from gridscope.demo.surveys import draw_channel, draw_comment

log = logging.getLogger(__name__)

SYSTEM_CLOCK = SystemClock()
# Share of new tickets per source, in the order of FIELD_SOURCES.
SOURCE_P = dict(zip(FIELD_SOURCES, (0.6, 0.25, 0.08, 0.04, 0.03), strict=True))
# Share of survey results, in the order of SATISFACTION; share of urgent tickets.
SATISFACTION_P = dict(zip(SATISFACTION, (0.8, 0.13, 0.07), strict=True))
URGENT_P = 0.04
# The longest pause between two tries while the database is away or busy.
MAX_BACKOFF_S = 15.0
CATEGORY_P = {
    "09": 0.3,
    "04": 0.14,
    "06": 0.14,
    "03": 0.1,
    "05": 0.08,
    "02": 0.07,
    "01": 0.05,
    "07": 0.06,
    "08": 0.01,
    "99": 0.05,
}
DESCRIPTIONS = {
    "01": "开展政策宣传",
    "02": "出租房屋信息变更",
    "03": "居民反映噪声扰民",
    "04": "独居老人求助代办",
    "05": "邻里漏水纠纷",
    "06": "楼道堆放杂物存在消防隐患",
    "07": "发现可疑人员",
    "08": "道路积水",
    "09": "占道经营",
    "99": "其他事项",
}


@dataclass
class LiveStats:
    created: int = 0
    advanced: int = 0
    refused: int = 0
    fixes: int = 0
    supervised: int = 0


def next_action(state: str, rng: np.random.Generator) -> tuple[Action, dict] | None:
    """The natural next step for a ticket in ``state`` (with its payload), or None to wait."""
    s = State(state)
    if s == State.DISCOVERED:
        return (Action.SELF_RESOLVE, {}) if rng.random() < 0.55 else (Action.REPORT, {})
    if s == State.SELF_RESOLVED:
        return Action.CLOSE, {}
    if s == State.REPORTED:
        return (Action.REJECT, {}) if rng.random() < 0.02 else (Action.ACCEPT, {})
    if s == State.NEED_INFO:
        return Action.SUPPLY_INFO, {}
    if s in (State.ACCEPTED, State.RETURNED, State.ESCALATED):
        return Action.DISPATCH, {}
    if s == State.DISPATCHED:
        return (Action.RETURN, {}) if rng.random() < 0.04 else (Action.SIGN, {})
    if s == State.IN_PROGRESS:
        return Action.FEEDBACK, {}
    if s == State.EXTENSION_PENDING:
        return Action.REJECT_EXTENSION, {}
    if s == State.FEEDBACK:
        return Action.START_VERIFY, {}
    if s == State.VERIFYING:
        return (Action.VERIFY_FAIL, {}) if rng.random() < 0.04 else (Action.VERIFY_PASS, {})
    if s == State.CLOSED:
        sat = str(rng.choice(list(SATISFACTION_P), p=list(SATISFACTION_P.values())))
        # Asked through the demo's channel mix; the unsatisfied say why.
        survey = {"satisfaction": sat, "channel": draw_channel(rng)}
        return Action.SURVEY, {**survey, "comment": draw_comment(rng, sat)}
    return None


# Who takes each step (the centre for the rest); a worker's step names one of the ticket's
# grid workers, so the per-worker rollups see it.
STEP_ACTORS = {
    Action.SELF_RESOLVE: "worker",
    Action.REPORT: "worker",
    Action.START_VERIFY: "worker",
    Action.VERIFY_PASS: "worker",
    Action.VERIFY_FAIL: "worker",
    Action.SIGN: "department",
    Action.FEEDBACK: "department",
    Action.RETURN: "department",
}


def on_duty_share(local_hour: float) -> float:
    """Share of workers on patrol by local hour: day shifts, a thin night watch."""
    return 0.85 if 7.5 <= local_hour < 20.5 else 0.12


@dataclass(frozen=True)
class _Pace:
    rate_per_min: float
    steps_per_min: float
    ping_interval_s: float
    tick_s: float


@dataclass
class _World:
    """What the loop needs from the database, loaded once at start."""

    clocks: Any
    leads: dict[str, list[int]]
    cat_codes: list[str]
    cat_p: np.ndarray
    pos: dict[int, list[float]]  # staff id -> [lon, lat, home lon, home lat]
    workers: dict[str, list[int]]  # grid code -> staff ids of its workers
    next_ping: dict[int, float]  # staff id -> monotonic time of its next fix

    def worker_of(self, grid_code: str | None, rng: np.random.Generator) -> int | None:
        """One of the grid's workers (None when the grid has none)."""
        ids = self.workers.get(grid_code or "")
        return int(rng.choice(ids)) if ids else None


def run_live(
    settings: Settings,
    *,
    clock: Clock = SYSTEM_CLOCK,
    rate_per_min: float = 6.0,
    steps_per_min: float = 30.0,
    ping_interval_s: float = 15.0,
    seed: int = 1,
    duration_s: float | None = None,
    tick_s: float = 1.0,
    echo: Callable[[str], None] = print,
) -> LiveStats:
    """Run until interrupted (or ``duration_s`` of monotonic time); returns what was done.

    Each tick reads ``clock.now()`` once and stamps everything it writes with that instant.
    The database must answer at start (``DatabaseUnavailable`` otherwise); after that a tick
    that meets it away or busy (a refused or dropped connection, a statement timeout, a lock
    wait) is given up, logged once per outage (``FaultLog``), and the loop backs off and goes
    on, reconnecting when the connection broke: a 20 s table lock used to kill the simulator
    with an uncaught ``QueryCanceled`` (issue #10).
    """
    from queries.db import connect
    from queries.faults import FaultLog
    from queries.live import tickets_answer, yield_to_locks
    from queries.positions import PositionStore
    from queries.scope import Scope
    from queries.supervision import sweep
    from queries.transient import POSTGRES, POSTGRES_BUSY, TRANSIENT_DB_ERRORS, fault_name

    pace = _Pace(rate_per_min, steps_per_min, ping_interval_s, tick_s)
    rng = np.random.default_rng(seed)
    store = PositionStore.from_url(settings.redis_url, settings.database_url)
    scope = Scope(settings.jurisdiction)
    stats = LiveStats()
    faults = FaultLog(log)
    lock_ms = int(settings.db_wait_s * 1000)

    def reconnect() -> psycopg.Connection:
        fresh = connect(settings, timeout=settings.db_wait_s)
        yield_to_locks(fresh, lock_ms)
        return fresh

    first = reconnect()
    conn: psycopg.Connection | None = first
    try:
        world = _load_world(first, settings, scope, rng, ping_interval_s)
        echo(
            f"live: {len(world.pos)} workers, {rate_per_min:g} tickets/min, "
            f"{steps_per_min:g} steps/min; Ctrl-C to stop"
        )
        started = time.monotonic()
        next_sweep = started
        backoff = 0.0
        while duration_s is None or time.monotonic() - started < duration_s:
            tick_started = time.monotonic()
            try:
                if conn is None:
                    conn = reconnect()
                now = clock.now()
                _tick(conn, world, settings, scope, rng, now, pace, store, stats)
                if backoff:  # a tick that wrote nothing does not prove the outage over
                    tickets_answer(conn)
                if tick_started >= next_sweep:
                    stats.supervised += sweep(conn, scope, now)
                    next_sweep = tick_started + 60.0
            except TRANSIENT_DB_ERRORS as exc:
                faults.failed(fault_name(exc), exc)
                conn = _after_failure(conn)
                backoff = min(MAX_BACKOFF_S, max(tick_s, backoff * 2))
                left = None if duration_s is None else duration_s - (time.monotonic() - started)
                time.sleep(backoff if left is None else max(0.0, min(backoff, left)))
                continue
            if backoff:
                faults.ok(POSTGRES)
                faults.ok(POSTGRES_BUSY)
                backoff = 0.0
            elapsed = time.monotonic() - tick_started
            time.sleep(max(0.0, tick_s - elapsed))
            if math.floor(time.monotonic() - started) % 60 == 0 and elapsed < tick_s:
                log.info("live: %s", stats)
    finally:
        if conn is not None:
            conn.close()
    return stats


def _after_failure(conn: psycopg.Connection | None) -> psycopg.Connection | None:
    """``conn`` rolled back and kept when it still works, else closed (None: reconnect)."""
    if conn is None or conn.closed or conn.broken:
        if conn is not None:
            conn.close()
        return None
    try:
        conn.rollback()
    except psycopg.Error:
        conn.close()
        return None
    return conn


def _load_world(
    conn: psycopg.Connection,
    settings: Settings,
    scope: Any,
    rng: np.random.Generator,
    ping_interval_s: float,
) -> _World:
    from domain.clock.work_calendar import WorkCalendar
    from queries import live as q
    from queries.item_list import load_calendar_overrides, load_limits
    from queries.positions import workers_on_duty
    from queries.tickets import Clocks

    clocks = Clocks(
        WorkCalendar(tz=settings.timezone, overrides=load_calendar_overrides(conn)),
        load_limits(conn),
        settings.tz,
    )
    leads = q.lead_departments(conn)
    categories = [c for c in q.admitted_categories(conn) if len(c) == 2]
    workers = workers_on_duty(conn, scope)
    conn.commit()
    cat_codes = [c for c in CATEGORY_P if c in categories] or categories
    cat_p = np.array([CATEGORY_P.get(c, 0.05) for c in cat_codes])
    cat_p /= cat_p.sum()
    pos = {
        w["staff_id"]: [
            w["lon"] or w["home_lon"],
            w["lat"] or w["home_lat"],
            w["home_lon"],
            w["home_lat"],
        ]
        for w in workers
    }
    by_grid: dict[str, list[int]] = {}
    for w in workers:
        by_grid.setdefault(w["grid_code"], []).append(w["staff_id"])
    next_ping = {sid: time.monotonic() + rng.uniform(0, ping_interval_s) for sid in pos}
    return _World(clocks, leads, cat_codes, cat_p, pos, by_grid, next_ping)


def _tick(
    conn: psycopg.Connection,
    world: _World,
    settings: Settings,
    scope: Any,
    rng: np.random.Generator,
    now: datetime,
    pace: _Pace,
    store: Any,
    stats: LiveStats,
) -> None:
    """One tick: new tickets, workflow steps, GPS fixes, all stamped ``now``."""
    from queries import live as q
    from queries.positions import record_positions
    from queries.tickets import (
        NewTicket,
        TicketError,
        Transition,
        apply_transition,
        create_ticket,
        get_ticket,
    )

    n_new = int(rng.poisson(pace.rate_per_min * pace.tick_s / 60.0))
    if n_new:
        for p in q.random_points(conn, scope, n_new, int(rng.integers(1 << 30))):
            cat = str(rng.choice(world.cat_codes, p=world.cat_p))
            source = str(rng.choice(list(SOURCE_P), p=list(SOURCE_P.values())))
            finder = world.worker_of(p["grid_code"], rng) if source == "patrol" else None
            try:
                create_ticket(
                    conn,
                    world.clocks,
                    scope,
                    NewTicket(
                        category_code=cat,
                        lon=p["lon"],
                        lat=p["lat"],
                        grid_code=p["grid_code"],
                        source=source,
                        urgency=URGENCIES[1] if rng.random() < URGENT_P else URGENCIES[0],
                        description=DESCRIPTIONS.get(cat, "事项"),
                        actor_id=finder,
                    ),
                    now=now,
                )
                stats.created += 1
            except TicketError as exc:
                conn.rollback()
                stats.refused += 1
                log.warning("live: ticket refused: %s", exc)
    n_steps = int(rng.poisson(pace.steps_per_min * pace.tick_s / 60.0))
    if n_steps:
        for t in q.tickets_to_advance(conn, scope, now - timedelta(seconds=30), n_steps):
            step = next_action(t["state"], rng)
            if step is None:
                continue
            action, payload = step
            major = t["category_code"][:2]
            tr = Transition(action=action.value, at=now, **payload)
            if action == Action.DISPATCH:
                depts = world.leads.get(major) or world.leads.get("99") or []
                if not depts:
                    continue
                tr.department_id = int(rng.choice(depts))
            tr.actor_kind = STEP_ACTORS.get(action, "centre")
            try:
                if tr.actor_kind == "worker":
                    row = get_ticket(conn, scope, t["id"])
                    tr.actor_id = world.worker_of(row and row["grid_code"], rng)
                    if tr.actor_id is None:
                        # A grid with no worker (a staffing gap the demo plants): nobody
                        # there to take the step; the ticket waits, as it would.
                        continue
                apply_transition(conn, world.clocks, scope, t["id"], tr, now=now)
                stats.advanced += 1
            except TicketError as exc:
                conn.rollback()
                stats.refused += 1
                log.info("live: step refused: %s", exc)
    fixes = []
    mono = time.monotonic()
    local = now.astimezone(settings.tz)
    share = on_duty_share(local.hour + local.minute / 60)
    for sid, due in world.next_ping.items():
        if due > mono:
            continue
        world.next_ping[sid] = mono + pace.ping_interval_s * rng.uniform(0.8, 1.2)
        # A stable per-worker draw decides who is on duty in this half-hour.
        duty_draw = ((sid * 2654435761 + int(now.timestamp() // 1800)) % 1000) / 1000
        if duty_draw >= share:
            continue
        walk = world.pos[sid]
        # A random walk of a few metres, pulled back towards the worker's grid.
        walk[0] += rng.normal(0, 0.0002) + 0.05 * (walk[2] - walk[0])
        walk[1] += rng.normal(0, 0.0002) + 0.05 * (walk[3] - walk[1])
        fixes.append((sid, now, walk[0], walk[1]))
    if fixes:
        stats.fixes += record_positions(conn, fixes, store=store)
