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

Conventions of the tables (the write path in ``queries/tickets.py`` follows the same ones):

* ids: tickets 1..n in order of creation, tasks 1..m, events 1..e (set the sequences after COPY);
  ``ticket_no`` = 'GS' + local yyyymmdd + 7-digit id.
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
  suspended; self-resolved tickets carry their T1 due. closed_on_time = finished_at <=
  original_due_at, where finished_at is the last feedback (or the self-resolution).
* supervision = highest ladder level reached: 1 at warning, 2 overdue, 3 overdue by 100 % of
  the stage's time or reworked twice — on the handling stage, and on the current stage of
  open tickets.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from domain.categories import CATEGORIES, MAJOR_CODES
from domain.clock.limits import (
    DEFAULT_STAGE_LIMITS,
    ESCALATION_LIMIT,
    STAGES,
    limit_for,
)
from domain.clock.work_calendar import UNITS, WorkCalendar, to_us
from domain.workflow.rules import STAGE_OF_STATE, TRANSITIONS, Action, State
from gridscope.demo.model import Territory

log = logging.getLogger(__name__)

NAT = np.iinfo(np.int64).min
SEC = 1_000_000
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
TS = pa.timestamp("us", tz="UTC")

# ---- what the tables look like (column order = schema order) --------------------------------

TICKET_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("created_at", TS),
        ("ticket_no", pa.string()),
        ("external_id", pa.string()),
        ("source", pa.string()),
        ("category_code", pa.string()),
        ("urgency", pa.string()),
        ("state", pa.string()),
        ("stage", pa.string()),
        ("stage_started_at", TS),
        ("stage_warn_at", TS),
        ("stage_due_at", TS),
        ("due_at", TS),
        ("original_due_at", TS),
        ("grid_code", pa.string()),
        ("micro_grid_code", pa.string()),
        ("geom", pa.binary()),
        ("address", pa.string()),
        ("description", pa.string()),
        ("reported_at", TS),
        ("finished_at", TS),
        ("closed_at", TS),
        ("closed_on_time", pa.bool_()),
        ("self_resolved", pa.bool_()),
        ("rework_count", pa.int16()),
        ("return_count", pa.int16()),
        ("extension_count", pa.int16()),
        ("escalated", pa.bool_()),
        ("supervision", pa.int16()),
        ("satisfaction", pa.string()),
        ("updated_at", TS),
    ]
)
TASK_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ticket_id", pa.int64()),
        ("ticket_created_at", TS),
        ("department_id", pa.int64()),
        ("role", pa.string()),
        ("state", pa.string()),
        ("dispatched_at", TS),
        ("sign_due_at", TS),
        ("signed_at", TS),
        ("due_at", TS),
        ("original_due_at", TS),
        ("finished_at", TS),
        ("on_time", pa.bool_()),
    ]
)
# ``data`` is JSON text for the jsonb column: COPY BINARY needs the jsonb encoder for it.
EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ticket_id", pa.int64()),
        ("ticket_created_at", TS),
        ("at", TS),
        ("action", pa.string()),
        ("from_state", pa.string()),
        ("to_state", pa.string()),
        ("actor_kind", pa.string()),
        ("actor_id", pa.int64()),
        ("task_id", pa.int64()),
        ("comment", pa.string()),
        ("data", pa.string()),
    ]
)


@dataclass
class TicketBatch:
    """The simulated tables, typed like the schema (``ticket_event.data`` is JSON text)."""

    ticket: pa.Table
    ticket_task: pa.Table
    ticket_event: pa.Table
    stats: dict[str, float] = field(default_factory=dict)


# ---- the demo's parameters ---------------------------------------------------------------

SOURCES = ("patrol", "hotline", "app", "department", "video")
ACTOR_KINDS = ("worker", "centre", "department", "public", "system")
URGENCY = ("normal", "urgent")
SATISFACTION = ("satisfied", "basic", "unsatisfied")
GRID_CLASSES = (
    "urban",
    "rural",
    "school",
    "hospital",
    "industrial_park",
    "enterprise",
    "market",
    "office",
    "government",
    "scenic",
    "other",
)

# Relative ticket volume per household-weighted micro-grid, by grid class.
CLASS_BASE = (1.0, 0.5, 0.8, 1.2, 0.9, 0.6, 2.0, 0.7, 0.4, 1.0, 0.6)
# Source mix by grid class (patrol, hotline, app, department, video): patrol ~60 %.
CLASS_SOURCES = {
    "urban": (0.56, 0.27, 0.09, 0.04, 0.04),
    "rural": (0.70, 0.20, 0.05, 0.04, 0.01),
}
EXCLUSIVE_SOURCES = (0.55, 0.22, 0.08, 0.10, 0.05)
# Category mix (01 02 03 04 05 06 07 08 09 99) by grid class.
CLASS_MIX = {
    "urban": (4, 6, 12, 14, 8, 14, 5, 0.5, 34, 3),
    "rural": (5, 12, 8, 14, 16, 22, 5, 0.8, 10, 4),
    "school": (6, 3, 6, 4, 3, 35, 30, 1, 8, 4),
    "hospital": (3, 3, 20, 8, 8, 35, 10, 1, 8, 4),
    "industrial_park": (4, 6, 5, 3, 12, 50, 6, 1, 10, 3),
    "enterprise": (4, 6, 5, 3, 12, 45, 6, 1, 14, 4),
    "market": (3, 3, 8, 3, 8, 25, 6, 0.5, 40, 3),
    "office": (5, 5, 10, 5, 6, 30, 8, 0.5, 25, 5),
    "government": (10, 5, 20, 10, 10, 20, 10, 0.5, 10, 5),
    "scenic": (3, 2, 10, 3, 5, 30, 10, 1, 33, 3),
    "other": (4, 6, 12, 14, 8, 14, 5, 0.5, 34, 3),
}
# Month multipliers per major category: flood season (梅雨 June–July, typhoons July–September)
# for 06/08, summer street order for 09, wage disputes before the Spring Festival for 05.
SEASON = {
    "01": (1.0, 1.0, 1.2, 1.0, 1.0, 1.3, 1.0, 1.0, 1.0, 1.0, 1.2, 1.0),
    "05": (1.4, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.3),
    "06": (1.0, 0.8, 0.8, 0.9, 1.0, 1.6, 1.9, 1.7, 1.2, 0.9, 0.9, 1.0),
    "08": (0.6, 0.6, 0.7, 0.8, 1.0, 1.6, 2.0, 2.0, 1.4, 0.8, 0.6, 0.6),
    "09": (0.8, 0.7, 0.9, 1.0, 1.1, 1.3, 1.4, 1.4, 1.2, 1.0, 0.9, 0.8),
}
MONTH_VOLUME = (0.9, 0.8, 0.95, 1.0, 1.05, 1.15, 1.2, 1.2, 1.05, 1.0, 0.95, 0.9)
SPRING_FESTIVAL_FACTOR = 0.5
GROWTH = 0.12  # volume at the end of the window relative to its start, minus one
# Hour-of-day profiles (local time) per source.
HOURLY = {
    "patrol": (
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0.05,
        0.6,
        1.6,
        1.8,
        1.2,
        0.2,
        0.6,
        1.5,
        1.6,
        1.1,
        0.4,
        0.05,
        0.05,
        0.03,
        0,
        0,
        0,
    ),
    "hotline": (
        0.1,
        0.05,
        0.05,
        0.05,
        0.05,
        0.1,
        0.3,
        0.8,
        1.4,
        1.8,
        1.8,
        1.5,
        1.0,
        1.1,
        1.5,
        1.5,
        1.4,
        1.2,
        1.0,
        1.1,
        1.0,
        0.8,
        0.5,
        0.25,
    ),
    "app": (
        0.2,
        0.1,
        0.05,
        0.05,
        0.05,
        0.1,
        0.3,
        0.7,
        1.0,
        1.2,
        1.2,
        1.1,
        1.0,
        1.0,
        1.1,
        1.1,
        1.1,
        1.1,
        1.2,
        1.4,
        1.4,
        1.2,
        0.8,
        0.4,
    ),
    "department": (
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0.5,
        1.5,
        1.6,
        1.0,
        0.1,
        0.5,
        1.4,
        1.5,
        1.1,
        0.3,
        0,
        0,
        0,
        0,
        0,
        0,
    ),
    "video": (
        0.4,
        0.3,
        0.3,
        0.3,
        0.3,
        0.4,
        0.6,
        0.9,
        1.0,
        1.1,
        1.1,
        1.1,
        1.0,
        1.0,
        1.1,
        1.1,
        1.1,
        1.1,
        1.0,
        1.0,
        0.9,
        0.8,
        0.6,
        0.5,
    ),
}
# Day factor on days off (weekends and holidays) per source.
DAY_OFF = {"patrol": 0.3, "hotline": 0.85, "app": 1.0, "department": 0.05, "video": 1.0}
# Per major category: urgent share, patrol self-resolution share (小事不出网格).
URGENT_P = {
    "01": 0.01,
    "02": 0.0,
    "03": 0.03,
    "04": 0.02,
    "05": 0.04,
    "06": 0.08,
    "07": 0.06,
    "08": 0.5,
    "09": 0.03,
    "99": 0.02,
}
SELF_RESOLVE_P = {
    "01": 0.85,
    "02": 0.85,
    "03": 0.3,
    "04": 0.5,
    "05": 0.55,
    "06": 0.4,
    "07": 0.45,
    "08": 0.05,
    "09": 0.6,
    "99": 0.5,
}
MAJOR_ONLY_P = 0.08  # share of tickets filed under the major category only
REJECT_P = {"patrol": 0.01, "hotline": 0.04, "app": 0.05, "department": 0.01, "video": 0.03}
NEED_INFO_P = {"patrol": 0.01, "hotline": 0.02, "app": 0.05, "department": 0.01, "video": 0.02}
SUPPLY_P = 0.9  # need_info tickets whose reporter answers
ESCALATE_P = 0.025
RETURN_P = 0.04
ASSIST_P = 0.10
EXTENSION_P, EXTENSION_APPROVE_P = 0.03, 0.85
SUSPEND_P, RESUME_P = 0.01, 0.5
REWORK_P, REWORK_AGAIN_P = 0.04, 0.15
SURVEY_P, SURVEY_SELF_RESOLVED_P = 0.85, 0.3
# Handling (T5) duration as a fraction of the limit: median and share past the limit.
T5_MEDIAN, T5_LATE = 0.45, 0.11


# ---- slots: the lifecycle template, in chronological order ----------------------------------

SLOTS: tuple[tuple[str, str], ...] = (
    ("create", "create"),
    ("self_resolve", Action.SELF_RESOLVE),
    ("sr_close", Action.CLOSE),
    ("report", Action.REPORT),
    ("request_info", Action.REQUEST_INFO),
    ("supply_info", Action.SUPPLY_INFO),
    ("reject", Action.REJECT),
    ("accept", Action.ACCEPT),
    ("escalate", Action.ESCALATE),
    ("dispatch1", Action.DISPATCH),
    ("return_unsigned", Action.RETURN),
    ("sign1", Action.SIGN),
    ("return_signed", Action.RETURN),
    ("dispatch2", Action.DISPATCH),
    ("sign2", Action.SIGN),
    ("request_extension", Action.REQUEST_EXTENSION),
    ("approve_extension", Action.APPROVE_EXTENSION),
    ("reject_extension", Action.REJECT_EXTENSION),
    ("suspend", Action.SUSPEND),
    ("resume", Action.RESUME),
    ("feedback1", Action.FEEDBACK),
    ("verify1", Action.START_VERIFY),
    ("fail1", Action.VERIFY_FAIL),
    ("feedback2", Action.FEEDBACK),
    ("verify2", Action.START_VERIFY),
    ("fail2", Action.VERIFY_FAIL),
    ("feedback3", Action.FEEDBACK),
    ("verify3", Action.START_VERIFY),
    ("pass", Action.VERIFY_PASS),
    ("survey", Action.SURVEY),
)
K = len(SLOTS)
S = {name: i for i, (name, _) in enumerate(SLOTS)}
ACTIONS = ("create", *(a.value for a in Action), "supervise")
_ACTION_IDX = {a: i for i, a in enumerate(ACTIONS)}
SLOT_ACTION = np.array([_ACTION_IDX[str(a)] for _, a in SLOTS], dtype=np.int16)
STATES = tuple(s.value for s in State)
_STATE_IDX = {s: i for i, s in enumerate(STATES)}
# Who acts in each slot: (actor kind, actor id source, task id source); None = per source.
_W, _C, _D = "worker", "centre", "department"
SLOT_ACTORS: dict[str, tuple[str | None, str | None, str | None]] = {
    "create": (None, "source", None),
    "self_resolve": (_W, "worker", None),
    "sr_close": (_W, "worker", None),
    "report": (_W, "worker", None),
    "request_info": (_C, "centre", None),
    "supply_info": (None, "source", None),
    "reject": (_C, "centre", None),
    "accept": (_C, "centre", None),
    "escalate": (_C, "centre", None),
    "dispatch1": (_C, "centre", "task1"),
    "return_unsigned": (_D, "lead1", "task1"),
    "sign1": (_D, "lead1", "task1"),
    "return_signed": (_D, "lead1", "task1"),
    "dispatch2": (_C, "centre", "task2"),
    "sign2": (_D, "lead2", "task2"),
    "request_extension": (_D, "lead", "task"),
    "approve_extension": (_C, "centre", "task"),
    "reject_extension": (_C, "centre", "task"),
    "suspend": (_C, "centre", None),
    "resume": (_C, "centre", None),
    "feedback1": (_D, "lead", "task"),
    "verify1": (_W, "worker", None),
    "fail1": (_W, "worker", None),
    "feedback2": (_D, "lead", "task"),
    "verify2": (_W, "worker", None),
    "fail2": (_W, "worker", None),
    "feedback3": (_D, "lead", "task"),
    "verify3": (_W, "worker", None),
    "pass": (_W, "worker", None),
    "survey": (_C, "centre", None),
}
SOURCE_ACTOR = {
    "patrol": "worker",
    "hotline": "centre",
    "app": "public",
    "department": "department",
    "video": "system",
}
# Who supplies missing information, by source.
SUPPLY_ACTOR = {
    "patrol": "worker",
    "hotline": "public",
    "app": "public",
    "department": "department",
    "video": "centre",
}
# Supervision ladder levels 1..3 (DOMAIN.md §4).
SUPERVISION_NAMES_ZH = ("预警提醒", "黄牌督办", "红牌督办")


def _next_state_table() -> np.ndarray:
    """table[state, action] -> next state index, -1 where rules.TRANSITIONS has no entry."""
    table = np.full((len(STATES), len(ACTIONS)), -1, dtype=np.int16)
    for (state, action), to in TRANSITIONS.items():
        table[_STATE_IDX[state.value], _ACTION_IDX[action.value]] = _STATE_IDX[to.value]
    return table


# ---- small numeric helpers ---------------------------------------------------------------


def _lognorm(rng: np.random.Generator, size: int, median: float, p_late: float) -> np.ndarray:
    """Fractions of a limit: lognormal with the given median and P(x > 1) = p_late."""
    if p_late <= 0:
        sigma = 0.5
    else:
        sigma = math.log(1 / median) / NormalDist().inv_cdf(1 - p_late)
    return median * np.exp(sigma * rng.standard_normal(size))


def _floor_s(t: np.ndarray) -> np.ndarray:
    return t - np.mod(t, SEC)


def _pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per element: ``probs[rows[i]]`` is the distribution of element i."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(rows.size)
    out = np.zeros(rows.size, dtype=np.int64)
    for c in range(probs.shape[1] - 1):  # inverse CDF, one category column at a time
        out += u >= cdf[rows, c]
    return out


def _csr(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Group ``values`` by integer ``keys`` in [0, n_keys): (offsets, values sorted by key)."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    return np.concatenate([[0], np.cumsum(counts)]), values[order]


def _draw_from_pool(rng, offsets, pool, keys, fallback=NAT):
    """A uniform member of pool group ``keys[i]`` for each i (``fallback`` for empty groups)."""
    lo, hi = offsets[keys], offsets[keys + 1]
    size = hi - lo
    pos = lo + np.floor(rng.random(keys.size) * np.maximum(size, 1)).astype(np.int64)
    out = np.full(keys.size, fallback, dtype=np.int64)
    ok = size > 0
    out[ok] = pool[pos[ok]]
    return out


# ---- the simulation ----------------------------------------------------------------------


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
    ctx = _Context(territory, calendar, department_ids_by_category, rng)

    # Where: micro-grid by weight, then a point inside it.
    mg = rng.choice(len(ctx.mg_codes), size=n, p=ctx.mg_weight)
    cls = ctx.mg_class[mg]
    # What and when.
    source = _pick(rng, ctx.class_sources, cls)
    created = _creation_times(rng, calendar, source, start_us, end_us)
    month = _local_months(calendar, created)
    order = np.argsort(created, kind="stable")
    mg, cls, source, created, month = (
        mg[order],
        cls[order],
        source[order],
        created[order],
        month[order],
    )
    major = _pick(rng, ctx.category_probs, cls * 12 + month)
    code_idx = _minor_for(rng, ctx, major)
    urgent = rng.random(n) < ctx.urgent_p[major]
    timings["where_what_when"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    x, y = _points_in(rng, ctx.mg_geoms, ctx.mg_bounds, mg)
    timings["points"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    lim = _Limits(ctx.codes, code_idx, urgent, limits)
    life = _Lifecycle(rng, calendar, lim, n, created, source, major, urgent)
    life.run()
    timings["lifecycle"] = time.perf_counter() - t2

    t3 = time.perf_counter()
    people = _People(rng, ctx, mg, major, n)
    out = _assemble(
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


class _Context:
    """Territory, categories and people as flat arrays."""

    def __init__(self, t: Territory, cal: WorkCalendar, by_category, rng):
        grids = t.grids.reset_index(drop=True)
        mgs = t.micro_grids.reset_index(drop=True)
        grid_pos = {c: i for i, c in enumerate(grids["code"].astype(str))}
        self.grid_codes = grids["code"].astype(str).to_numpy()
        self.mg_codes = mgs["code"].astype(str).to_numpy()
        self.mg_grid = np.array([grid_pos[c] for c in mgs["grid_code"].astype(str)], np.int64)
        self.mg_geoms = np.asarray(mgs.geometry.values, dtype=object)
        shapely.prepare(self.mg_geoms)
        self.mg_bounds = shapely.bounds(self.mg_geoms)

        # Grid class: urban/rural comprehensive, or the exclusive kind.
        kind = grids["exclusive_kind"].astype(object).where(grids["exclusive_kind"].notna(), None)
        urban = grids["urban"].astype(bool).to_numpy()
        cls_of_grid = np.array(
            [
                GRID_CLASSES.index(k)
                if k in GRID_CLASSES
                else GRID_CLASSES.index("other")
                if k is not None
                else (0 if u else 1)
                for k, u in zip(kind, urban, strict=True)
            ],
            dtype=np.int64,
        )
        self.mg_class = cls_of_grid[self.mg_grid]

        # Micro-grid weights: class base × households × hotspot kernel.
        hh = mgs["households"].fillna(0).to_numpy(dtype=np.float64)
        hh_term = 0.3 + hh / max(hh.mean(), 1.0)
        cx = shapely.get_x(shapely.centroid(self.mg_geoms))
        cy = shapely.get_y(shapely.centroid(self.mg_geoms))
        kern = _hotspot_kernel(cx, cy, t.hotspots, rng)
        kern_term = 0.25 + kern / max(kern.mean(), 1e-12)
        w = np.asarray(CLASS_BASE)[self.mg_class] * hh_term * kern_term
        self.mg_weight = w / w.sum()

        # Addresses per micro-grid: community name + road + number, or village + group.
        communities = t.regions.loc[t.regions["level"] == "community"]
        comm_name = dict(
            zip(communities["code"].astype(str), communities["name"].astype(str), strict=True)
        )
        comm_of_grid = grids["community_code"].astype(str).to_numpy()
        prefixes = []
        road_pick = rng.integers(0, len(ROADS), size=len(self.mg_codes))
        group_pick = rng.integers(1, 13, size=len(self.mg_codes))
        for i, g in enumerate(self.mg_grid):
            name = comm_name.get(comm_of_grid[g], "")
            if urban[g] or self.mg_class[i] >= 2:
                prefixes.append(f"{name}{ROADS[road_pick[i]]}")
            else:
                prefixes.append(f"{name}{group_pick[i]}组")
        self.mg_address_prefix = pa.array(prefixes, pa.string())
        self.mg_urban = urban[self.mg_grid] | (self.mg_class >= 2)

        # Categories: majors and codes (major or minor) used on tickets.
        self.codes = tuple(c.code for c in CATEGORIES)
        self.code_pos = {c: i for i, c in enumerate(self.codes)}
        self.major_codes = MAJOR_CODES
        self.minors_of = [
            np.array([self.code_pos[c] for c in self.codes if len(c) == 4 and c[:2] == m], np.int64)
            for m in MAJOR_CODES
        ]
        self.urgent_p = np.array([URGENT_P[m] for m in MAJOR_CODES])
        self.self_resolve_p = np.array([SELF_RESOLVE_P[m] for m in MAJOR_CODES])
        mix = np.array([CLASS_MIX[c] for c in GRID_CLASSES], np.float64)  # class × major
        season = np.array([SEASON.get(m, (1.0,) * 12) for m in MAJOR_CODES]).T  # month × major
        self.category_probs = (mix[:, None, :] * season[None, :, :]).reshape(-1, len(MAJOR_CODES))
        self.class_sources = np.array(
            [CLASS_SOURCES.get(c, EXCLUSIVE_SOURCES) for c in GRID_CLASSES]
        )

        # People: workers per grid, centre operators, departments per major category.
        staff = t.staff
        a = t.assignments
        worker_roles = {"fulltime_worker", "parttime_worker", "grid_chief", "micro_grid_chief"}
        a = a.loc[a["role"].isin(worker_roles) & a["grid_code"].astype(str).isin(grid_pos)]
        keys = np.array([grid_pos[c] for c in a["grid_code"].astype(str)], np.int64)
        self.worker_offsets, self.worker_pool = _csr(
            keys, a["staff_id"].to_numpy(np.int64), len(self.grid_codes)
        )
        missing = int((np.diff(self.worker_offsets) == 0).sum())
        if missing:
            log.warning(
                "%d grids have no grid worker assigned: their events get no actor_id", missing
            )
        self.centre_pool = staff.loc[staff["role"] == "centre_operator", "id"].to_numpy(np.int64)
        if by_category is None:
            by_category = {}
            for dept_id, cats in zip(t.departments["id"], t.departments["categories"], strict=True):
                for c in cats or ():
                    by_category.setdefault(str(c)[:2], []).append(int(dept_id))
        deps = t.departments
        linked = deps.loc[deps["kind"].isin(["linked", "service_unit"]), "id"].to_numpy(np.int64)
        if linked.size == 0:
            linked = deps["id"].to_numpy(np.int64)
        if linked.size == 0:
            raise ValueError("the territory has no departments to dispatch tickets to")
        self.all_depts = np.unique(linked)
        lists = []
        for m in MAJOR_CODES:
            ids = sorted({int(i) for code, v in by_category.items() if code[:2] == m for i in v})
            if not ids:
                log.warning("no lead department for category %s: any linked department leads", m)
                ids = [int(i) for i in self.all_depts]
            lists.append(np.array(ids, np.int64))
        self.dept_offsets = np.concatenate([[0], np.cumsum([len(v) for v in lists])])
        self.dept_pool = np.concatenate(lists)

        # Descriptions: per-code template ranges in one flat array.
        texts, offsets = [], [0]
        for code in self.codes:
            pool = _templates_for(code)
            texts.extend(pool)
            offsets.append(len(texts))
        self.templates = pa.array(texts, pa.string())
        self.template_offsets = np.array(offsets, np.int64)


def _hotspot_kernel(cx, cy, hotspots, rng) -> np.ndarray:
    """Σ weight × Gaussian(distance; σ 300–800 m) over hotspots, at the given lon/lat points."""
    if hotspots is None or len(hotspots) == 0:
        return np.ones(cx.size)
    hx = hotspots["x"].to_numpy(np.float64)
    hy = hotspots["y"].to_numpy(np.float64)
    hw = hotspots["weight"].to_numpy(np.float64)
    sigma = rng.uniform(300.0, 800.0, size=hx.size)
    m_per_deg_y = 111_320.0
    m_per_deg_x = m_per_deg_y * math.cos(math.radians(float(np.mean(cy))))
    out = np.zeros(cx.size)
    for lo in range(0, cx.size, 20_000):
        dx = (cx[lo : lo + 20_000, None] - hx[None, :]) * m_per_deg_x
        dy = (cy[lo : lo + 20_000, None] - hy[None, :]) * m_per_deg_y
        out[lo : lo + 20_000] = (hw * np.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))).sum(1)
    return out


def _points_in(rng, geoms, bounds, mg) -> tuple[np.ndarray, np.ndarray]:
    """A uniform random point inside micro-grid ``mg[i]`` for each i (rejection sampling)."""
    n = mg.size
    x, y = np.empty(n), np.empty(n)
    todo = np.arange(n)
    for _ in range(60):
        if todo.size == 0:
            break
        b = bounds[mg[todo]]
        px = b[:, 0] + rng.random(todo.size) * (b[:, 2] - b[:, 0])
        py = b[:, 1] + rng.random(todo.size) * (b[:, 3] - b[:, 1])
        inside = shapely.contains_xy(geoms[mg[todo]], px, py)
        x[todo[inside]], y[todo[inside]] = px[inside], py[inside]
        todo = todo[~inside]
    if todo.size:
        # Slivers that 60 passes could not hit: a point on the surface is still inside.
        log.warning("%d ticket points fell back to a point on the micro-grid surface", todo.size)
        pts = shapely.point_on_surface(geoms[mg[todo]])
        x[todo], y[todo] = shapely.get_x(pts), shapely.get_y(pts)
    return x, y


def _creation_times(rng, cal: WorkCalendar, source, start_us: int, end_us: int) -> np.ndarray:
    """Creation instants (µs UTC, whole seconds) per ticket following each source's rhythm."""
    n_hours = (end_us - start_us) // HOUR
    bucket = start_us + np.arange(n_hours, dtype=np.int64) * HOUR
    day_us = (bucket // DAY) * DAY
    # Local offset per UTC day (constant within a day is close enough for hourly rhythms).
    uniq_days, inv = np.unique(day_us, return_inverse=True)
    offsets = np.array(
        [
            dt.datetime.fromtimestamp(d / SEC + 43_200, cal.tz).utcoffset().total_seconds() * SEC
            for d in uniq_days
        ],
        dtype=np.int64,
    )
    local = bucket + offsets[inv]
    local_hour = (local // HOUR) % 24
    local_day = local // DAY
    ld_uniq, ld_inv = np.unique(local_day, return_inverse=True)
    dates = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in ld_uniq]
    workday = np.array([cal.is_workday(d) for d in dates])[ld_inv]
    spring = np.array([cal.holiday_name(d) == "Spring Festival" for d in dates])[ld_inv]
    month = np.array([d.month - 1 for d in dates])[ld_inv]
    common = np.asarray(MONTH_VOLUME)[month] * np.where(spring, SPRING_FESTIVAL_FACTOR, 1.0)
    common *= 1.0 + GROWTH * np.arange(n_hours) / max(n_hours, 1)
    out = np.empty(source.size, dtype=np.int64)
    for k, name in enumerate(SOURCES):
        idx = np.flatnonzero(source == k)
        if idx.size == 0:
            continue
        w = np.asarray(HOURLY[name])[local_hour] * common
        w = w * np.where(workday, 1.0, DAY_OFF[name])
        cdf = np.cumsum(w)
        b = np.searchsorted(cdf, rng.random(idx.size) * cdf[-1], side="right")
        b = np.minimum(b, n_hours - 1)
        out[idx] = bucket[b] + rng.integers(0, HOUR // SEC, size=idx.size) * SEC
    return np.minimum(out, end_us - SEC)


def _local_months(cal: WorkCalendar, t: np.ndarray) -> np.ndarray:
    """Local month (0–11) of each instant."""
    days, inv = _local_days(cal, t)
    return np.array([d.month - 1 for d in days], dtype=np.int64)[inv]


def _local_days(cal: WorkCalendar, t: np.ndarray) -> tuple[list[dt.date], np.ndarray]:
    """(local dates d0..d1, index of each instant's local date) — one tz lookup per UTC day."""
    day = t // DAY
    d0 = int(day.min())
    span = int(day.max()) - d0 + 1
    off = (
        np.array(
            [
                dt.datetime.fromtimestamp((d0 + i) * 86_400, cal.tz).utcoffset().total_seconds()
                for i in range(span)
            ],
            dtype=np.int64,
        )
        * SEC
    )
    local_day = (t + off[day - d0]) // DAY
    l0 = int(local_day.min())
    dates = [
        dt.date(1970, 1, 1) + dt.timedelta(days=l0 + i)
        for i in range(int(local_day.max()) - l0 + 1)
    ]
    return dates, local_day - l0


def _minor_for(rng, ctx: _Context, major: np.ndarray) -> np.ndarray:
    """Category code index per ticket: a minor of the major, or the major itself."""
    out = np.array([ctx.code_pos[m] for m in MAJOR_CODES], np.int64)[major]
    u = rng.random(major.size)
    for m, minors in enumerate(ctx.minors_of):
        if minors.size == 0:
            continue
        sel = np.flatnonzero((major == m) & (u >= MAJOR_ONLY_P))
        out[sel] = minors[rng.integers(0, minors.size, size=sel.size)]
    return out


class _Limits:
    """Per-ticket (amount, unit code) of each stage, looked up once per (code, urgency)."""

    def __init__(self, codes, code_idx, urgent, limits):
        combo = code_idx * 2 + urgent.astype(np.int64)
        self.amount: dict[str, np.ndarray] = {}
        self.unit: dict[str, np.ndarray] = {}
        n_combo = len(codes) * 2
        for stage in STAGES:
            amt = np.zeros(n_combo)
            unit = np.zeros(n_combo, np.int8)
            for c, code in enumerate(codes):
                for u, urg in enumerate(URGENCY):
                    a, un = limit_for(code, stage, urg, limits)
                    amt[c * 2 + u], unit[c * 2 + u] = float(a), UNITS.index(un)
            self.amount[stage], self.unit[stage] = amt[combo], unit[combo]


def _add(cal: WorkCalendar, starts: np.ndarray, amounts: np.ndarray, units: np.ndarray):
    """starts (int64 µs) + amounts in per-element units, on each unit's clock."""
    out = np.full(starts.shape, NAT, dtype=np.int64)
    for k, unit in enumerate(UNITS):
        m = units == k
        if m.any():
            out[m] = cal.add_many(starts[m].view("datetime64[us]"), amounts[m], unit).view(np.int64)
    return out


def _warn(cal: WorkCalendar, starts, dues, units):
    """Warning instants; a stage whose due time precedes its start (a ticket resumed after
    its due time) warns at its due time."""
    out = np.where((dues != NAT) & (dues < starts), dues, NAT)
    for k, unit in enumerate(UNITS):
        m = (units == k) & (starts != NAT) & (dues != NAT) & (dues >= starts)
        if m.any():
            out[m] = cal.warn_at_many(
                starts[m].view("datetime64[us]"), dues[m].view("datetime64[us]"), unit
            ).view(np.int64)
    return out


def _red(cal: WorkCalendar, starts, dues, units):
    """Red-card instant: overdue by 100 % of the stage's time (due + (due − start) on its clock)."""
    out = np.full(starts.shape, NAT, dtype=np.int64)
    for k, unit in enumerate(UNITS):
        m = (units == k) & (starts != NAT) & (dues != NAT)
        if not m.any():
            continue
        s, d = starts[m], dues[m]
        if unit in ("min", "h"):
            out[m] = d + np.maximum(d - s, 0)
        else:
            span = cal.work_minutes_between_many(s.view("datetime64[us]"), d.view("datetime64[us]"))
            out[m] = cal.add_many(d.view("datetime64[us]"), np.maximum(span, 0) / 60.0, "wh").view(
                np.int64
            )
    return out


class _Lifecycle:
    """Planned times of every slot for every ticket (before the cut at ``end``)."""

    def __init__(self, rng, cal, lim: _Limits, n, created, source, major, urgent):
        self.rng, self.cal, self.lim, self.n = rng, cal, lim, n
        self.created, self.source, self.major, self.urgent = created, source, major, urgent
        self.t = np.full((K, n), NAT, dtype=np.int64)
        self.t[S["create"]] = created
        self.cur = created.copy()
        self.suspend_shift = np.zeros(n, dtype=np.int64)
        self.n_assist = np.zeros(n, dtype=np.int8)
        self.late_handling = np.zeros(n, dtype=bool)

    def put(self, slot: str, idx: np.ndarray, planned: np.ndarray) -> np.ndarray:
        """Record slot times: the planned instant, but at least 1 s after the previous event."""
        tt = np.maximum(_floor_s(planned), self.cur[idx] + SEC)
        self.t[S[slot], idx] = tt
        self.cur[idx] = tt
        return tt

    def after(self, idx, base, stage, frac):
        """base + frac × the stage's limit, on the stage's clock (µs)."""
        return _add(self.cal, base, frac * self.lim.amount[stage][idx], self.lim.unit[stage][idx])

    def frac(self, idx, median, p_late, urgent_median=None, urgent_p_late=None):
        f = _lognorm(self.rng, idx.size, median, p_late)
        if urgent_median is not None:
            u = self.urgent[idx]
            f[u] = _lognorm(self.rng, int(u.sum()), urgent_median, urgent_p_late)
        return f

    def chance(self, mask: np.ndarray, p) -> np.ndarray:
        return mask & (self.rng.random(self.n) < p)

    def run(self) -> None:
        rng, n, t = self.rng, self.n, self.t
        src = self.source
        patrol = src == SOURCES.index("patrol")

        # Patrol: self-resolved on the spot within hours, or reported on the T1 clock (ZJ 32).
        p_sr = np.asarray([SELF_RESOLVE_P[m] for m in MAJOR_CODES])[self.major]
        p_sr = np.where(self.urgent, p_sr * 0.3, p_sr)
        sr = self.chance(patrol, p_sr)
        i = np.flatnonzero(sr)
        t1_due = self.after(i, self.created[i], "T1", np.ones(i.size))
        dur = np.minimum(
            np.exp(math.log(0.7) + 0.8 * rng.standard_normal(i.size)) * HOUR,
            0.9 * (t1_due - self.created[i]),
        ).astype(np.int64)
        self.put("self_resolve", i, self.created[i] + dur)
        self.put("sr_close", i, t[S["self_resolve"], i] + rng.integers(1, 30, i.size) * MIN)
        surv = i[rng.random(i.size) < SURVEY_SELF_RESOLVED_P]
        self.put(
            "survey",
            surv,
            self.after(surv, t[S["sr_close"], surv], "T7", self.frac(surv, 0.3, 0.04)),
        )

        alive = ~sr
        i = np.flatnonzero(patrol & alive)
        self.put(
            "report", i, self.after(i, self.created[i], "T1", self.frac(i, 0.06, 0.03, 0.3, 0.05))
        )
        reported = np.where(patrol, t[S["report"]], self.created)

        # Accept (T2), possibly after asking for more information, or reject.
        ni = self.chance(alive, np.asarray([NEED_INFO_P[s] for s in SOURCES])[src])
        i = np.flatnonzero(ni)
        self.put("request_info", i, self.after(i, reported[i], "T2", self.frac(i, 0.4, 0.04)))
        supplied = ni & (rng.random(n) < SUPPLY_P)
        i = np.flatnonzero(supplied)
        wait = np.exp(math.log(3.0) + 1.0 * rng.standard_normal(i.size)) * HOUR
        self.put("supply_info", i, t[S["request_info"], i] + wait.astype(np.int64))
        reported = np.where(supplied, t[S["supply_info"]], reported)
        alive &= ~(ni & ~supplied)
        rj = self.chance(alive, np.asarray([REJECT_P[s] for s in SOURCES])[src])
        i = np.flatnonzero(rj)
        self.put("reject", i, self.after(i, reported[i], "T2", self.frac(i, 0.5, 0.05)))
        alive &= ~rj
        i = np.flatnonzero(alive)
        self.put("accept", i, self.after(i, reported[i], "T2", self.frac(i, 0.35, 0.04, 0.4, 0.06)))

        # Dispatch (T3), a few escalated to the upper level first (ZJ 33).
        esc = self.chance(alive, ESCALATE_P)
        i = np.flatnonzero(esc)
        esc_us = ESCALATION_LIMIT.amount * HOUR
        self.put(
            "escalate", i, t[S["accept"], i] + (self.frac(i, 0.15, 0.02) * esc_us).astype(np.int64)
        )
        base = np.where(esc, t[S["escalate"]], t[S["accept"]])
        i = np.flatnonzero(alive)
        self.put("dispatch1", i, self.after(i, base[i], "T3", self.frac(i, 0.35, 0.05, 0.4, 0.06)))

        # Sign (T4); a few returned by the department and re-dispatched.
        ret = self.chance(alive, RETURN_P)
        ret_unsigned = ret & (rng.random(n) < 0.5)
        ret_signed = ret & ~ret_unsigned
        i = np.flatnonzero(ret_unsigned)
        self.put(
            "return_unsigned", i, self.after(i, t[S["dispatch1"], i], "T4", self.frac(i, 0.3, 0.01))
        )
        i = np.flatnonzero(alive & ~ret_unsigned)
        self.put(
            "sign1",
            i,
            self.after(i, t[S["dispatch1"], i], "T4", self.frac(i, 0.2, 0.04, 0.3, 0.05)),
        )
        i = np.flatnonzero(ret_signed)
        self.put(
            "return_signed", i, self.after(i, t[S["sign1"], i], "T5", self.frac(i, 0.08, 0.001))
        )
        returned_at = np.where(ret_unsigned, t[S["return_unsigned"]], t[S["return_signed"]])
        i = np.flatnonzero(ret)
        self.put("dispatch2", i, self.after(i, returned_at[i], "T3", self.frac(i, 0.4, 0.05)))
        self.put("sign2", i, self.after(i, t[S["dispatch2"], i], "T4", self.frac(i, 0.2, 0.04)))
        dispatch = np.where(ret, t[S["dispatch2"]], t[S["dispatch1"]])
        i = np.flatnonzero(alive)
        due0 = np.full(n, NAT, dtype=np.int64)
        due0[i] = self.after(i, dispatch[i], "T5", np.ones(i.size))

        # Extension (requested before the due time, approved by the centre).
        ext = self.chance(alive & ~self.urgent, EXTENSION_P)
        i = np.flatnonzero(ext)
        plan = _floor_s(self.after(i, dispatch[i], "T5", rng.uniform(0.55, 0.9, i.size)))
        when = np.maximum(plan, self.cur[i] + SEC)
        ok = when < due0[i]
        ext[i[~ok]] = False
        i = i[ok]
        self.put("request_extension", i, when[ok])
        approve = ext & (rng.random(n) < EXTENSION_APPROVE_P)
        for slot, m in (("approve_extension", approve), ("reject_extension", ext & ~approve)):
            j = np.flatnonzero(m)
            self.put(
                slot,
                j,
                _add(
                    self.cal,
                    t[S["request_extension"], j],
                    rng.uniform(0.2, 3.0, j.size),
                    np.full(j.size, 2, np.int8),
                ),
            )

        # Suspension (挂账); half resumed after days or weeks.
        sus = self.chance(alive & ~self.urgent, SUSPEND_P)
        i = np.flatnonzero(sus)
        self.put("suspend", i, self.after(i, dispatch[i], "T5", rng.uniform(0.1, 0.6, i.size)))
        res = sus & (rng.random(n) < RESUME_P)
        i = np.flatnonzero(res)
        self.put("resume", i, t[S["suspend"], i] + rng.integers(3 * DAY, 40 * DAY, i.size))
        self.suspend_shift[i] = t[S["resume"], i] - t[S["suspend"], i]
        alive &= ~(sus & ~res)

        # Handling (T5): durations relative to the (extended) limit; a share ends late.
        i = np.flatnonzero(alive)
        appr = approve[i]
        f = self.frac(i, T5_MEDIAN, T5_LATE)
        f[appr] = _lognorm(rng, int(appr.sum()), 0.75, 0.08) * 2.0
        fb = self.after(i, dispatch[i], "T5", f) + self.suspend_shift[i]
        last_fb = np.full(n, NAT, dtype=np.int64)
        last_fb[i] = self.put("feedback1", i, fb)
        self.late_handling[i] = f > np.where(appr, 2.0, 1.0)

        # Verification on site within 24 h (T6, ZJ 35); rework (返工) sends it back.
        rw1 = self.chance(alive, REWORK_P)
        rw2 = rw1 & (rng.random(n) < REWORK_AGAIN_P)
        verify_done = np.full(n, NAT, dtype=np.int64)
        for k, again in ((1, rw1), (2, rw2), (3, None)):
            i = np.flatnonzero(alive if k == 1 else (rw1 if k == 2 else rw2))
            v = (self.frac(i, 0.2, 0.05) * 24 * HOUR).astype(np.int64)
            self.put(
                f"verify{k}", i, last_fb[i] + (v * rng.uniform(0.4, 0.9, i.size)).astype(np.int64)
            )
            verify_done[i] = last_fb[i] + v
            if again is None:
                break
            j = np.flatnonzero(again)
            self.put(f"fail{k}", j, verify_done[j])
            last_fb[j] = self.put(
                f"feedback{k + 1}",
                j,
                self.after(j, t[S[f"fail{k}"], j], "T5", self.frac(j, 0.25, 0.1)),
            )
        i = np.flatnonzero(alive)
        self.put("pass", i, verify_done[i])
        surv = i[rng.random(i.size) < SURVEY_P]
        self.put(
            "survey", surv, self.after(surv, t[S["pass"], surv], "T7", self.frac(surv, 0.3, 0.04))
        )
        self.n_assist[np.flatnonzero(self.chance(alive | ret, ASSIST_P))] = 1
        self.n_assist[(self.n_assist == 1) & (rng.random(n) < 0.3)] = 2


class _People:
    """Per-ticket actors: the grid worker, a centre operator and the departments."""

    def __init__(self, rng, ctx: _Context, mg, major, n):
        grid = ctx.mg_grid[mg]
        self.worker = _draw_from_pool(rng, ctx.worker_offsets, ctx.worker_pool, grid)
        if ctx.centre_pool.size:
            self.centre = ctx.centre_pool[rng.integers(0, ctx.centre_pool.size, n)]
        else:
            self.centre = np.full(n, NAT, dtype=np.int64)
        self.lead1 = _draw_from_pool(rng, ctx.dept_offsets, ctx.dept_pool, major)
        self.source_dept = _draw_from_pool(rng, ctx.dept_offsets, ctx.dept_pool, major)
        # Re-dispatch after a return goes to another department.
        pool = ctx.all_depts
        pos = np.searchsorted(pool, self.lead1)
        pos = np.where(
            (pos < pool.size) & (pool[np.minimum(pos, pool.size - 1)] == self.lead1), pos, 0
        )
        step = 1 + rng.integers(0, max(pool.size - 1, 1), n)
        self.lead2 = pool[(pos + step) % pool.size] if pool.size > 1 else self.lead1.copy()
        self.pool = pool


def _assist_departments(rng, pool, lead, count):
    """``count`` (0–2) distinct assisting departments per ticket, none of them the lead."""
    n = lead.size
    pos = np.searchsorted(pool, lead)
    pos = np.minimum(pos, pool.size - 1)
    m = max(pool.size - 1, 1)
    r1 = rng.integers(0, m, n)
    r2 = (r1 + 1 + rng.integers(0, max(m - 1, 1), n)) % m
    a1 = pool[(pos + 1 + r1) % pool.size]
    a2 = pool[(pos + 1 + r2) % pool.size]
    count = np.where(pool.size >= 3, count, np.minimum(count, pool.size - 1))
    return a1, a2, count


# ---- from planned slots to tables ----------------------------------------------------------


def _ts(a: np.ndarray) -> pa.Array:
    return pa.array(a, type=TS, mask=a == NAT)


def _str_take(labels, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(idx.astype(np.int32), mask=mask)
    return pc.take(pa.array(labels, pa.string()), arr)


def _i64(a: np.ndarray) -> pa.Array:
    return pa.array(a, type=pa.int64(), mask=a == NAT)


def _ewkb_points(x: np.ndarray, y: np.ndarray) -> pa.Array:
    """EWKB points (little-endian, SRID 4326, 25 bytes each) for PostGIS geometry columns."""
    rec = np.empty(
        x.size,
        dtype=np.dtype(
            [("bo", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")]
        ),
    )
    rec["bo"], rec["type"], rec["srid"] = 1, 0x20000001, 4326
    rec["x"], rec["y"] = x, y
    offsets = np.arange(0, 25 * (x.size + 1), 25, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), x.size, [None, pa.py_buffer(offsets), pa.py_buffer(rec.tobytes())]
    )


def _assemble(
    rng,
    cal,
    ctx: _Context,
    lim: _Limits,
    life: _Lifecycle,
    people: _People,
    end_us,
    mg,
    source,
    code_idx,
    urgent,
    x,
    y,
) -> TicketBatch:
    n = life.n
    t = life.t
    present = (t != NAT) & (t <= end_us)

    # Replay every ticket through rules.TRANSITIONS, slot by slot.
    table = _next_state_table()
    patrol = source == SOURCES.index("patrol")
    state = np.where(patrol, _STATE_IDX["discovered"], _STATE_IDX["reported"]).astype(np.int16)
    from_s = np.full((K, n), -1, dtype=np.int16)
    to_s = np.full((K, n), -1, dtype=np.int16)
    to_s[0] = state
    for k in range(1, K):
        idx = np.flatnonzero(present[k])
        if idx.size == 0:
            continue
        nxt = table[state[idx], SLOT_ACTION[k]]
        if (nxt < 0).any():
            bad = idx[np.flatnonzero(nxt < 0)[0]]
            raise AssertionError(
                f"simulated an illegal transition: {SLOTS[k][0]} from {STATES[state[bad]]}"
            )
        from_s[k, idx], to_s[k, idx] = state[idx], nxt
        state[idx] = nxt

    last_slot = K - 1 - np.argmax(present[::-1], axis=0)
    last_time = t[last_slot, np.arange(n)]
    st = {s: state == _STATE_IDX[s] for s in STATES}
    created = t[0]

    # Handling due times (T5), moved by an approved extension and by time spent suspended.
    dispatch = np.where(
        present[S["dispatch2"]],
        t[S["dispatch2"]],
        np.where(present[S["dispatch1"]], t[S["dispatch1"]], NAT),
    )
    has_d = dispatch != NAT
    shift = np.where(present[S["resume"]], life.suspend_shift, 0)
    orig_due = np.full(n, NAT, dtype=np.int64)
    due = np.full(n, NAT, dtype=np.int64)
    i = np.flatnonzero(has_d)
    orig_due[i] = _add(cal, dispatch[i], lim.amount["T5"][i], lim.unit["T5"][i])
    due[i] = orig_due[i]
    j = np.flatnonzero(present[S["approve_extension"]])
    due[j] = _add(cal, orig_due[j], lim.amount["T5"][j], lim.unit["T5"][j])
    orig_due[i] += shift[i]
    due[i] += shift[i]
    # Self-resolved tickets are judged against the T1 window they were resolved in.
    sr = present[S["self_resolve"]]
    j = np.flatnonzero(sr)
    t1_due = _add(cal, created[j], lim.amount["T1"][j], lim.unit["T1"][j])
    orig_due[j] = due[j] = t1_due

    fb_last = np.full(n, NAT, dtype=np.int64)
    for k in ("feedback1", "feedback2", "feedback3"):
        fb_last = np.where(present[S[k]], t[S[k]], fb_last)
    fed_back = st["feedback"] | st["verifying"] | st["closed"] | st["surveyed"]
    finished = np.where(fed_back & ~sr, fb_last, NAT)
    finished = np.where(sr, t[S["self_resolve"]], finished)
    closed_at = np.where(
        present[S["pass"]], t[S["pass"]], np.where(present[S["sr_close"]], t[S["sr_close"]], NAT)
    )
    is_closed = closed_at != NAT
    closed_on_time = is_closed & (finished <= orig_due)
    reported_at = np.where(patrol, np.where(present[S["report"]], t[S["report"]], NAT), created)

    # Current stage, its start, warning and due instants.
    stage_of = np.array(
        [
            STAGES.index(STAGE_OF_STATE[State(s)]) if STAGE_OF_STATE[State(s)] else -1
            for s in STATES
        ],
        np.int8,
    )
    stage = stage_of[state]
    in_t5 = stage == STAGES.index("T5")
    in_t6 = stage == STAGES.index("T6")
    stage_start = last_time.copy()
    stage_start[in_t5] = np.where(present[S["resume"]], t[S["resume"]], dispatch)[in_t5]
    stage_start[in_t6] = fb_last[in_t6]
    stage_due = np.full(n, NAT, dtype=np.int64)
    stage_unit = np.zeros(n, np.int8)
    for s_i, s_name in enumerate(STAGES):
        m = np.flatnonzero(stage == s_i)
        if m.size == 0:
            continue
        stage_unit[m] = lim.unit[s_name][m]
        if s_name == "T5":
            stage_due[m] = due[m]
        else:
            stage_due[m] = _add(cal, stage_start[m], lim.amount[s_name][m], lim.unit[s_name][m])
    has_stage = stage >= 0
    stage_warn = np.full(n, NAT, dtype=np.int64)
    m = np.flatnonzero(has_stage)
    stage_warn[m] = _warn(cal, stage_start[m], stage_due[m], stage_unit[m])

    # Supervision ladder (督办): reminder at warning, yellow card overdue, red card overdue by
    # 100 % of the stage's time or reworked twice (DOMAIN.md §4).
    sup_ticket, sup_time, sup_level = [], [], []

    def ladder(idx, start, stop, due_, unit):
        warn_ = _warn(cal, start, due_, unit)
        red_ = _red(cal, start, due_, unit)
        for level, at in ((1, warn_), (2, due_), (3, red_)):
            ok = (at != NAT) & (at < stop) & (at <= end_us)
            sup_ticket.append(idx[ok])
            sup_time.append(_floor_s(at[ok]))
            sup_level.append(np.full(int(ok.sum()), level, np.int8))

    i = np.flatnonzero(has_d & ~sr)
    t5_start = np.where(present[S["resume"]], t[S["resume"]], dispatch)[i]
    stop = np.where(
        finished[i] != NAT,
        finished[i],
        np.where(st["suspended"][i], t[S["suspend"], i], end_us + 1),
    )
    ladder(i, t5_start, stop, due[i], lim.unit["T5"][i])
    open_ = ~(st["closed"] | st["surveyed"] | st["rejected"] | st["suspended"])
    i = np.flatnonzero(open_ & has_stage & ~in_t5)
    ladder(i, stage_start[i], np.full(i.size, end_us + 1), stage_due[i], stage_unit[i])
    i = np.flatnonzero(present[S["fail2"]])
    sup_ticket.append(i)
    sup_time.append(t[S["fail2"], i])
    sup_level.append(np.full(i.size, 3, np.int8))
    sup_ticket = np.concatenate(sup_ticket)
    sup_time = np.concatenate(sup_time)
    sup_level = np.concatenate(sup_level)
    supervision = np.zeros(n, np.int16)
    np.maximum.at(supervision, sup_ticket, sup_level.astype(np.int16))
    updated = last_time.copy()
    np.maximum.at(updated, sup_ticket, sup_time)

    # Satisfaction: worse after late handling or rework.
    bad = life.late_handling | present[S["fail1"]]
    u = rng.random(n)
    sat = np.where(u < np.where(bad, 0.60, 0.82), 0, np.where(u < np.where(bad, 0.80, 0.945), 1, 2))
    surveyed = present[S["survey"]]

    # Tasks: the first lead, the lead after a return, and assisting departments.
    task_plan = _tasks(
        rng, cal, lim, life, people, present, t, orig_due, due, fb_last, finished, state, end_us
    )
    task_table, task_ids = task_plan

    # Ticket numbers: GS + local yyyymmdd + 7-digit id (the write path's format).
    ids = np.arange(1, n + 1, dtype=np.int64)
    ticket_no = _ticket_numbers(cal, created, ids)
    addr_num = pc.cast(pa.array(rng.integers(1, 400, n)), pa.string())
    address = pc.binary_join_element_wise(
        pc.take(ctx.mg_address_prefix, pa.array(mg)), addr_num, pa.scalar("号"), ""
    )
    lo = ctx.template_offsets[code_idx]
    hi = ctx.template_offsets[code_idx + 1]
    desc = pc.take(
        ctx.templates, pa.array(lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64))
    )

    ticket = pa.table(
        [
            pa.array(ids),
            _ts(created),
            ticket_no,
            pa.nulls(n, pa.string()),
            _str_take(SOURCES, source),
            _str_take(ctx.codes, code_idx),
            _str_take(URGENCY, urgent.astype(np.int64)),
            _str_take(STATES, state),
            _str_take(STAGES, np.maximum(stage, 0), stage < 0),
            _ts(stage_start),
            _ts(stage_warn),
            _ts(stage_due),
            _ts(due),
            _ts(orig_due),
            pa.array(ctx.grid_codes[ctx.mg_grid[mg]], pa.string()),
            pa.array(ctx.mg_codes[mg], pa.string()),
            _ewkb_points(x, y),
            address,
            desc,
            _ts(reported_at),
            _ts(finished),
            _ts(closed_at),
            pa.array(closed_on_time, mask=~is_closed),
            pa.array(sr),
            pa.array(present[S["fail1"]].astype(np.int16) + present[S["fail2"]]),
            pa.array(
                (present[S["return_unsigned"]] | present[S["return_signed"]]).astype(np.int16)
            ),
            pa.array(present[S["approve_extension"]].astype(np.int16)),
            pa.array(present[S["escalate"]]),
            pa.array(supervision),
            _str_take(SATISFACTION, sat, ~surveyed),
            _ts(updated),
        ],
        schema=TICKET_SCHEMA,
    )

    events = _events(
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
    )
    return TicketBatch(
        ticket,
        task_table,
        events,
        {
            "tickets": n,
            "tasks": task_table.num_rows,
            "events": events.num_rows,
        },
    )


def _ticket_numbers(cal: WorkCalendar, created: np.ndarray, ids: np.ndarray) -> pa.Array:
    days, inv2 = _local_days(cal, created)
    labels = [f"GS{d:%Y%m%d}" for d in days]
    prefix = pc.take(pa.array(labels, pa.string()), pa.array(inv2.astype(np.int32)))
    num = pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 7, "0")
    return pc.binary_join_element_wise(prefix, num, "")


def _tasks(
    rng, cal, lim, life, people, present, t, orig_due, due, fb_last, finished, state, end_us
):
    """ticket_task rows and, per ticket, the task ids events refer to."""
    d1 = present[S["dispatch1"]]
    d2 = present[S["dispatch2"]]
    final_d = np.where(d2, t[S["dispatch2"]], np.where(d1, t[S["dispatch1"]], NAT))
    a1_dept, a2_dept, count = _assist_departments(
        rng, people.pool, np.where(d2, people.lead2, people.lead1), life.n_assist
    )
    n_assist = np.where(final_d != NAT, count, 0)
    per_ticket = d1.astype(np.int64) + d2 + n_assist
    first = np.concatenate([[0], np.cumsum(per_ticket)[:-1]]) + 1
    m = int(per_ticket.sum())
    task1 = np.where(d1, first, NAT)
    task2 = np.where(d2, first + 1, NAT)
    final_task = np.where(d2, task2, task1)
    returned_at = np.where(
        present[S["return_unsigned"]],
        t[S["return_unsigned"]],
        np.where(present[S["return_signed"]], t[S["return_signed"]], NAT),
    )

    cols = {
        k: np.full(m, NAT, dtype=np.int64)
        for k in (
            "ticket_id",
            "department_id",
            "dispatched_at",
            "sign_due_at",
            "signed_at",
            "due_at",
            "original_due_at",
            "finished_at",
        )
    }
    role = np.zeros(m, np.int8)  # 0 lead, 1 assist
    tstate = np.zeros(m, np.int8)  # index into TASK_STATES
    created = t[0]
    fed_back = np.isin(
        state, [_STATE_IDX[s] for s in ("feedback", "verifying", "closed", "surveyed")]
    )

    def fill(rows, tix, dept, dispatched, signed, tdue, torig, fin, st_):
        cols["ticket_id"][rows] = tix + 1
        cols["department_id"][rows] = dept
        cols["dispatched_at"][rows] = dispatched
        cols["sign_due_at"][rows] = _add(
            cal, dispatched, lim.amount["T4"][tix], lim.unit["T4"][tix]
        )
        cols["signed_at"][rows] = signed
        cols["due_at"][rows] = tdue
        cols["original_due_at"][rows] = torig
        cols["finished_at"][rows] = fin
        tstate[rows] = st_

    # First lead task: returned, or the live lead task when there was no return.
    i = np.flatnonzero(d1)
    ret = returned_at[i] != NAT
    sign1 = np.where(present[S["sign1"], i], t[S["sign1"], i], NAT)
    t1_orig = _add(cal, t[S["dispatch1"], i], lim.amount["T5"][i], lim.unit["T5"][i])
    live = ~ret & ~d2[i]
    st1 = np.where(ret, 2, np.where(live & fed_back[i], 3, np.where(sign1 != NAT, 1, 0)))
    fin1 = np.where(ret, returned_at[i], np.where(st1 == 3, fb_last[i], NAT))
    fill(
        task1[i] - 1,
        i,
        people.lead1[i],
        t[S["dispatch1"], i],
        sign1,
        np.where(live, due[i], t1_orig),
        np.where(live, orig_due[i], t1_orig),
        fin1,
        st1,
    )
    # Second lead task after a return.
    i = np.flatnonzero(d2)
    sign2 = np.where(present[S["sign2"], i], t[S["sign2"], i], NAT)
    st2 = np.where(fed_back[i], 3, np.where(sign2 != NAT, 1, 0))
    fill(
        task2[i] - 1,
        i,
        people.lead2[i],
        t[S["dispatch2"], i],
        sign2,
        due[i],
        orig_due[i],
        np.where(st2 == 3, fb_last[i], NAT),
        st2,
    )
    # Assisting departments: dispatched with the final lead, finished before the lead's feedback.
    for k, dept in ((1, a1_dept), (2, a2_dept)):
        i = np.flatnonzero(n_assist >= k)
        rows = first[i] - 1 + d1[i] + d2[i] + (k - 1)
        lead_sign = np.where(d2[i], t[S["sign2"], i], t[S["sign1"], i])
        fb_plan = np.where(t[S["feedback1"], i] != NAT, t[S["feedback1"], i], due[i])
        base = np.where(lead_sign != NAT, lead_sign, final_d[i] + HOUR)
        signed = _floor_s(
            final_d[i] + ((base - final_d[i]) * rng.uniform(0.5, 1.5, i.size)).astype(np.int64)
        )
        signed = np.clip(signed, final_d[i] + SEC, np.maximum(fb_plan - SEC, final_d[i] + SEC))
        fin = _floor_s(
            signed + ((fb_plan - signed) * rng.uniform(0.3, 0.95, i.size)).astype(np.int64)
        )
        fin = np.maximum(fin, signed)
        signed = np.where(signed <= end_us, signed, NAT)
        fin = np.where((fin <= end_us) & (signed != NAT), fin, NAT)
        st_a = np.where(fin != NAT, 3, np.where(signed != NAT, 1, 0))
        fill(rows, i, dept[i], final_d[i], signed, due[i], orig_due[i], fin, st_a)
        role[rows] = 1

    fin = cols["finished_at"]
    on_time = (fin != NAT) & (tstate == 3) & (fin <= cols["original_due_at"])
    task_table = pa.table(
        [
            pa.array(np.arange(1, m + 1, dtype=np.int64)),
            pa.array(cols["ticket_id"]),
            _ts(created[cols["ticket_id"] - 1]),
            pa.array(cols["department_id"]),
            _str_take(("lead", "assist"), role),
            _str_take(TASK_STATES, tstate),
            _ts(cols["dispatched_at"]),
            _ts(cols["sign_due_at"]),
            _ts(cols["signed_at"]),
            _ts(cols["due_at"]),
            _ts(cols["original_due_at"]),
            _ts(fin),
            pa.array(on_time, mask=tstate != 3),
        ],
        schema=TASK_SCHEMA,
    )
    return task_table, {"task1": task1, "task2": task2, "task": final_task}


TASK_STATES = ("dispatched", "signed", "returned", "feedback", "cancelled")


def _events(
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
    labels = [json.dumps({"source": s}) for s in SOURCES]
    labels += [json.dumps({"on_time": b}) for b in (False, True)]
    labels += [json.dumps({"satisfaction": s}) for s in SATISFACTION]
    labels += [json.dumps({"level": lv}) for lv in (1, 2, 3)]
    on_time0 = len(SOURCES)
    data = np.full((K, n), -1, np.int8)
    # No data on 'create': the source is a column of the ticket itself, and a jsonb per
    # ticket would cost the bulk load a parse per row for nothing.
    i = np.flatnonzero(present[S["report"]])
    t1_due = _add(cal, created[i], lim.amount["T1"][i], lim.unit["T1"][i])
    data[S["report"], i] = on_time0 + (t[S["report"], i] <= t1_due)
    for verdict, fb in (("fail1", "feedback1"), ("fail2", "feedback2")):
        i = np.flatnonzero(present[S[verdict]])
        data[S[verdict], i] = on_time0 + (t[S[verdict], i] - t[S[fb], i] <= 24 * HOUR)
    i = np.flatnonzero(present[S["pass"]])
    data[S["pass"], i] = on_time0 + (t[S["pass"], i] - fb_last[i] <= 24 * HOUR)
    i = np.flatnonzero(present[S["survey"]])
    data[S["survey"], i] = on_time0 + 2 + sat[i]

    # Actor kind, actor id and task id per (slot, source): small tables, then one gather each.
    id_rows = ("none", "worker", "centre", "lead1", "lead2", "lead", "source")
    kind_tab = np.zeros((K, len(SOURCES)), np.int8)
    id_tab = np.zeros((K, len(SOURCES)), np.int64)
    task_rows = ("none", "task1", "task2", "task")
    task_tab = np.zeros(K, np.int64)
    for k, (name, _) in enumerate(SLOTS):
        kind_name, id_src, task_src = SLOT_ACTORS[name]
        task_tab[k] = task_rows.index(task_src or "none")
        for j, src in enumerate(SOURCES):
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
                    _ts(created[tick]),
                    _ts(at),
                    _str_take(ACTIONS, SLOT_ACTION[ki]),
                    _str_take(STATES, np.maximum(frm, 0), frm < 0),
                    _str_take(STATES, np.maximum(to, 0), to < 0),
                    _str_take(ACTOR_KINDS, kind_tab[ki, src_ev]),
                    _i64(actor_id),
                    _i64(task_id),
                    pa.nulls(ti.size, pa.string()),
                    _str_take(labels, np.maximum(dix, 0), dix < 0),
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
                _ts(created[sup_ticket]),
                _ts(sup_time),
                _str_take(ACTIONS, np.full(s_n, _ACTION_IDX["supervise"])),
                pa.nulls(s_n, pa.string()),
                pa.nulls(s_n, pa.string()),
                _str_take(
                    ACTOR_KINDS,
                    np.where(
                        sup_level == 1, ACTOR_KINDS.index("system"), ACTOR_KINDS.index("centre")
                    ),
                ),
                _i64(np.where(sup_level == 1, NAT, people.centre[sup_ticket])),
                pa.nulls(s_n, pa.int64()),
                _str_take(SUPERVISION_NAMES_ZH, sup_level.astype(np.int64) - 1),
                _str_take(labels, on_time0 + 5 + sup_level.astype(np.int64) - 1),
            ],
            schema=EVENT_SCHEMA,
        )
    )
    return pa.concat_tables(tables)


# ---- texts ---------------------------------------------------------------------------------

ROADS = (
    "中山路",
    "解放路",
    "人民路",
    "建设路",
    "和平路",
    "新华路",
    "胜利路",
    "文化路",
    "南湖路",
    "长水路",
    "东升路",
    "西安路",
    "环城路",
    "花园路",
    "学院路",
    "工农路",
    "禾兴路",
    "友谊街",
    "紫阳街",
    "梅湾街",
    "府前街",
    "朝阳路",
    "滨河路",
    "健康路",
    "光明路",
    "青年路",
    "复兴路",
    "育才路",
    "清河弄",
    "杨柳弄",
)

TEMPLATES: dict[str, tuple[str, ...]] = {
    "0101": ("开展防范电信网络诈骗宣传，入户发放资料", "宣传新修订的社区管理规定"),
    "0102": ("汛期来临前向居民发放防汛安全提示", "提醒独居老人冬季用电用气安全"),
    "0103": ("组织垃圾分类宣传进楼道活动", "张贴文明城市创建宣传海报"),
    "0201": ("新入住租户人口信息待采集登记", "流动人口信息变更需更新"),
    "0202": ("新建小区房屋信息待采集", "出租房屋信息核实更新"),
    "0203": ("新开办商铺单位信息采集", "辖区企业联系人信息变更"),
    "0204": ("新增消防栓点位信息采集", "公共设施部件信息核查"),
    "0301": ("居民建议在小区增设非机动车充电桩", "群众建议增加公交站点候车亭"),
    "0302": ("居民反映楼下餐饮油烟扰民", "群众反映夜间施工噪音扰民"),
    "0303": ("多名业主聚集反映房屋交付问题", "劳务人员聚集讨要工资苗头"),
    "0401": ("独居老人委托代办医保报销手续", "残疾人申请代办补贴材料"),
    "0402": ("困难家庭申请临时救助", "低保户反映住房漏水需要帮助"),
    "0403": ("高龄独居老人多日未出门需上门探望", "老人走失后已找回需后续关爱"),
    "0404": ("留守儿童放学无人看护", "留守儿童学习生活需结对帮扶"),
    "0405": ("残疾人家庭无障碍设施改造需求", "重度残疾人托养服务咨询"),
    "0501": ("邻里因楼道堆物发生争执", "楼上漏水引发邻里纠纷"),
    "0502": ("家庭成员因赡养问题发生矛盾", "夫妻争吵影响邻居需调解"),
    "0503": ("村民因宅基地边界发生争议", "承包地界址纠纷需调处"),
    "0504": ("务工人员反映被拖欠工资", "企业与员工因解除合同发生纠纷"),
    "0505": ("业主与物业因停车收费发生纠纷", "物业服务不到位引发业主不满"),
    "0601": ("楼道内电动自行车违规充电", "消防通道被占用堵塞", "商铺灭火器过期未更换"),
    "0602": ("餐饮店液化气瓶存放不规范", "居民反映楼道内有燃气异味"),
    "0603": ("小作坊生产存在安全隐患", "工地塔吊作业防护不到位"),
    "0604": ("路口信号灯损坏存在交通隐患", "道路坑洼影响行车安全"),
    "0605": ("老旧房屋墙体开裂存在安全隐患", "危房仍有人员居住"),
    "0606": ("低洼地段积水严重需排涝", "河道水位上涨需巡查加固", "广告牌松动台风前需加固"),
    "0607": ("流动摊贩无证销售熟食", "小餐馆后厨卫生条件差"),
    "0701": ("发现可疑人员在小区徘徊", "夜间有人撬盗电动车"),
    "0702": ("社区矫正对象走访", "特殊人群近期情绪异常需关注"),
    "0703": ("出租房屋群租现象", "出租屋未登记租住人员"),
    "0801": ("暴雨导致道路积水车辆被困", "大风刮倒树木压住电线"),
    "0802": ("居民楼发生火情", "路面塌陷有车辆受损"),
    "0803": ("学校出现多名学生腹泻", "疑似食物中毒事件"),
    "0804": ("人员聚集引发冲突", "商场发生踩踏险情"),
    "0901": ("沿街商户占道经营", "流动摊贩占用人行道经营"),
    "0902": ("垃圾桶满溢未及时清运", "河面漂浮垃圾需清理", "小区绿化带内垃圾堆积"),
    "0903": ("窨井盖破损缺失", "路灯不亮影响夜间出行", "人行道板松动破损"),
    "0904": ("小区屋顶违章搭建", "沿街违规搭建雨棚"),
    "0905": ("楼道内乱堆乱放杂物", "建筑垃圾随意堆放"),
    "0906": ("机动车占用消防通道停放", "共享单车乱停乱放堵塞通道"),
    "99": ("其他需协调处理的事项", "群众来访反映的其他问题"),
}


def _templates_for(code: str) -> tuple[str, ...]:
    """Description templates for a category code (a major gets its minors' texts)."""
    if code in TEMPLATES:
        return TEMPLATES[code]
    texts = tuple(x for c, v in TEMPLATES.items() if len(c) == 4 and c[:2] == code for x in v)
    return texts or TEMPLATES["99"]


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
    open_ = ~np.isin(state, ["closed", "surveyed", "rejected", "suspended"])
    late_done = (fin != NAT) & (orig != NAT) & (fin > orig)
    late_open = open_ & (
        ((stage_due != NAT) & (stage_due < now_us)) | ((due != NAT) & (due < now_us) & (fin == NAT))
    )
    return late_done | late_open


__all__ = [
    "EVENT_SCHEMA",
    "SLOTS",
    "TASK_SCHEMA",
    "TICKET_SCHEMA",
    "TicketBatch",
    "overdue",
    "simulate_tickets",
]
