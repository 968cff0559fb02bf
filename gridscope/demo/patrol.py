"""The demo's patrol history: ``patrol_visit`` and ``stat_online_daily`` rows for the ~400 days
before the demo's "now", written directly as rollup rows.

The demo loads a year of tickets but no position history (a year of GPS fixes would be billions
of rows, and retention keeps 30 days of them anyway), so the history the rollup would have built
day by day is drawn here, with the definitions of queries.analytics.patrol_build:

* Each grid has a patrol quality: in most grids a micro-grid is visited on a working day with a
  chance of 22–45 %, so most of them are seen within a week and all within a month; about one
  grid in six is fair (5–12 %: a month misses some) and one in ten poor (1.5–5 %, and blind
  spots hardly ever visited). Quality drifts month to month, so 环比 moves. The chances are
  lower than "every micro-grid every day" on purpose: one row per visit, and the large demo's
  400 days must load in seconds.
* A micro-grid is visited on a day with its own probability (lower on weekends and holidays by
  the work calendar, lower on a few rainy days), by one of its grid's patrol workers.
* Each worker has an online habit near the schedule (most at 90–97 %, a few clearly lower),
  misses a day now and then, and is online in whole 5-minute buckets; minutes are split over a
  worker's grids like the rollup does. Today's schedule is cut at "now".

Vectorised over micro-grids and workers (one loop over days) and written with one binary COPY
per table, in primary-key order. Deterministic for (territory, seed, now). Per-worker visit
detail is kept for the last ``DETAIL_MONTHS`` months only (see there).
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa

from domain.clock.work_calendar import WorkCalendar
from domain.config import Settings
from gridscope.demo.model import HISTORY_DAYS

DAYS = HISTORY_DAYS  # as long as the ticket history: patrol coverage has a 同比 too
# Grid quality classes: share of grids, range of a micro-grid's visit chance on a working day.
QUALITY = {"good": (0.72, 0.22, 0.45), "fair": (0.18, 0.05, 0.12), "poor": (0.10, 0.015, 0.05)}
BLIND_SPOT_P = 0.3  # share of a poor grid's micro-grids hardly ever visited
DAY_OFF_FACTOR = 0.15  # visits on weekends and holidays, relative to a working day
RAIN_P, RAIN_FACTOR = 0.06, 0.55
ABSENT_P = 0.02  # a worker not online at all on a working day
BUCKET_MIN = 5
# patrol_visit (one row per visit and worker) is written for this month and the one before:
# the months a rollup run can still rebuild (positions are kept 30 days). Earlier months carry
# only their monthly summary, which is all that coverage reads; on the large demo the daily
# detail of 400 days was 5 M rows and half the load time.
DETAIL_MONTHS = 2


def _calendar_days(
    calendar: WorkCalendar, settings: Settings, now: datetime
) -> tuple[list[date], np.ndarray, np.ndarray]:
    """The local days of the history, whether each is a working day, and its scheduled
    minutes (the day under way cut at ``now``, in whole 5-minute buckets like the rollup)."""
    from queries.analytics.patrol_build import schedule_buckets

    tz = settings.tz
    today = now.astimezone(tz).date()
    days = [today - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    work = np.array([calendar.is_workday(d) for d in days])
    full = int(sum(schedule_buckets(days[int(np.argmax(work))], tz, calendar)[1]))
    sched = np.where(work, full, 0).astype(np.int64)
    if work[-1]:
        sched[-1] = sum(schedule_buckets(today, tz, calendar, now)[1])
    return days, work, sched


def _patrol_workers(territory) -> pd.DataFrame:
    """(staff_id, grid_code) of the patrol assignments, with the worker's grid count n and
    rank k among its grids by code (the rollup's split of minutes)."""
    from queries.analytics.patrol_build import PATROL_ROLES

    a = territory.assignments
    w = a.loc[a["role"].isin(PATROL_ROLES), ["staff_id", "grid_code"]].drop_duplicates()
    w = w.sort_values(["staff_id", "grid_code"]).reset_index(drop=True)
    w["n"] = w.groupby("staff_id")["grid_code"].transform("size").astype(np.int64)
    w["k"] = w.groupby("staff_id").cumcount().astype(np.int64) + 1
    return w


def _split(total: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """A worker's minutes over its n grids: the k-th (1-based) gets total // n, plus one of
    the remainder when k <= total % n (exactly the rollup's split)."""
    return total // n + (k <= total % n)


def _months(days: list[date]) -> tuple[np.ndarray, np.ndarray]:
    """Per day: the index of its month in the history, and its bit in a month's day mask."""
    month = np.array([(d.year - days[0].year) * 12 + d.month - days[0].month for d in days])
    bit = np.array([1 << (d.day - 1) for d in days], dtype=np.int64)
    return month, bit


def _date_array(days: list[date]) -> pa.Array:
    return pa.array(np.array(days, dtype="datetime64[D]")).cast(pa.date32())


def visit_rows(
    territory, days: list[date], work: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table]:
    """``patrol_visit`` rows for ``days``, sorted by (day, grid, micro-grid), and the
    ``patrol_micro_month`` rows they make (sorted by month, grid, micro-grid)."""
    micro = territory.micro_grids[["code", "grid_code"]].sort_values("code")
    grid_codes = np.sort(territory.grids["code"].to_numpy().astype(str))
    g_of_m = np.searchsorted(grid_codes, micro["grid_code"].to_numpy().astype(str))
    n_grid, n_micro, n_days = len(grid_codes), len(micro), len(days)

    # Quality per grid, a visit chance per micro-grid, blind spots in poor grids.
    shares = np.array([q[0] for q in QUALITY.values()])
    cls = rng.choice(len(QUALITY), size=n_grid, p=shares / shares.sum())
    lo = np.array([q[1] for q in QUALITY.values()])[cls]
    hi = np.array([q[2] for q in QUALITY.values()])[cls]
    base = rng.uniform(lo, hi)
    p_micro = base[g_of_m] * rng.uniform(0.6, 1.25, n_micro)
    poor = cls[g_of_m] == list(QUALITY).index("poor")
    p_micro[poor & (rng.random(n_micro) < BLIND_SPOT_P)] *= 0.05
    p_micro = np.clip(p_micro, 0.0, 0.95)

    # A monthly drift per grid (smoothed random walk), the calendar, rain.
    month_of_day, bit_of_day = _months(days)
    steps = rng.normal(0.0, 0.12, (month_of_day[-1] + 1, n_grid))
    drift = np.exp(np.clip(np.cumsum(steps, axis=0) * 0.6, -0.8, 0.5))
    day_factor = np.where(work, 1.0, DAY_OFF_FACTOR) * np.where(
        rng.random(n_days) < RAIN_P, RAIN_FACTOR, 1.0
    )

    # The grid's patrol workers, as slices of one array (a grid with none gets no visits).
    w = _patrol_workers(territory)
    w = w[w["grid_code"].isin(grid_codes)].sort_values(["grid_code", "staff_id"])
    g_of_w = np.searchsorted(grid_codes, w["grid_code"].to_numpy().astype(str))
    w_start = np.searchsorted(g_of_w, np.arange(n_grid), side="left")
    w_count = np.searchsorted(g_of_w, np.arange(n_grid), side="right") - w_start
    staff = w["staff_id"].to_numpy(np.int64)

    # One draw per month: (days of the month × micro-grids), hits in (day, micro-grid) order.
    p_micro = np.where(w_count[g_of_m] > 0, p_micro, 0.0)
    day_idx, micro_idx = [], []
    for m in range(int(month_of_day[-1]) + 1):
        in_month = np.flatnonzero(month_of_day == m)
        p = (p_micro * drift[m, g_of_m])[None, :] * day_factor[in_month][:, None]
        d, hit = np.nonzero(rng.random(p.shape, dtype=np.float32) < p)
        day_idx.append(in_month[d])
        micro_idx.append(hit)
    di = np.concatenate(day_idx)
    mi = np.concatenate(micro_idx)
    gi = g_of_m[mi]
    pick = w_start[gi] + (rng.random(mi.size) * w_count[gi]).astype(np.int64)
    fixes = 1 + rng.poisson(14, mi.size).astype(np.int32)
    grid_arr = pa.array(grid_codes)
    micro_arr = pa.array(micro["code"].to_numpy().astype(str))
    # Per-worker detail only from the previous month on (see DETAIL_MONTHS); the monthly
    # summary below covers every day.
    first_detail = month_of_day[-1] - DETAIL_MONTHS + 1
    d = np.flatnonzero(month_of_day[di] >= first_detail)
    visits = pa.table(
        {
            "day": _date_array(days).take(pa.array(di[d])),
            "grid_code": grid_arr.take(pa.array(gi[d])),
            "micro_grid_code": micro_arr.take(pa.array(mi[d])),
            "staff_id": pa.array(staff[pick[d]]),
            "fixes": pa.array(fixes[d]),
        }
    )
    # One visit row per micro-grid and day here, so OR-ing the day bits is summing them
    # (distinct powers of two, exact in float64 up to bit 30).
    n_months = int(month_of_day[-1]) + 1
    key = month_of_day[di] * n_micro + mi
    masks = np.bincount(key, weights=bit_of_day[di], minlength=n_months * n_micro)
    cells = np.flatnonzero(masks)
    m_idx, u_idx = np.divmod(cells, n_micro)
    firsts = [
        date(days[0].year + (days[0].month - 1 + k) // 12, (days[0].month - 1 + k) % 12 + 1, 1)
        for k in range(n_months)
    ]
    micro_month = pa.table(
        {
            "month": _date_array(firsts).take(pa.array(m_idx)),
            "grid_code": grid_arr.take(pa.array(g_of_m[u_idx])),
            "micro_grid_code": micro_arr.take(pa.array(u_idx)),
            "days": pa.array(masks[cells].astype(np.int32)),
        }
    )
    return visits, micro_month


def online_rows(
    territory, days: list[date], sched: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table]:
    """``stat_online_daily`` rows for the scheduled days, sorted by (day, staff, grid), and
    the ``stat_online_month`` rows they sum to (sorted by month, grid)."""
    w = _patrol_workers(territory)
    staff_ids = np.unique(w["staff_id"].to_numpy(np.int64))
    n_staff = staff_ids.size
    # Habit per worker: most near the schedule, a tail clearly lower.
    habit = np.where(
        rng.random(n_staff) < 0.85,
        rng.normal(0.935, 0.025, n_staff),
        rng.uniform(0.45, 0.85, n_staff),
    )
    habit = np.clip(habit, 0.0, 1.0)
    col = np.searchsorted(staff_ids, w["staff_id"].to_numpy(np.int64))
    n = w["n"].to_numpy(np.int64)
    k = w["k"].to_numpy(np.int64)
    on_days = np.flatnonzero(sched > 0)
    # Per worker and scheduled day: the share online, in whole buckets, none on absent days.
    share = np.clip(habit[None, :] + rng.normal(0.0, 0.05, (on_days.size, n_staff)), 0.0, 1.0)
    share[rng.random((on_days.size, n_staff)) < ABSENT_P] = 0.0
    total = sched[on_days][:, None]
    online = np.minimum(total, np.round(share * total / BUCKET_MIN).astype(np.int64) * BUCKET_MIN)
    # Expand to (day, assignment) rows; the assignments are sorted by (staff, grid).
    rows_online = _split(online[:, col], n[None, :], k[None, :])
    rows_sched = _split(np.broadcast_to(total, rows_online.shape), n[None, :], k[None, :])
    n_rows = rows_online.size
    daily = pa.table(
        {
            "day": _date_array([days[i] for i in on_days]).take(
                pa.array(np.repeat(np.arange(on_days.size), len(w)))
            ),
            "staff_id": pa.array(np.tile(w["staff_id"].to_numpy(np.int64), on_days.size)),
            "grid_code": pa.array(w["grid_code"].to_numpy().astype(str)).take(
                pa.array(np.tile(np.arange(len(w)), on_days.size))
            ),
            "online_minutes": pa.array(rows_online.reshape(n_rows).astype(np.int32)),
            "scheduled_minutes": pa.array(rows_sched.reshape(n_rows).astype(np.int32)),
        }
    )
    # Month sums per grid: days of a month are contiguous rows, assignments map to grids.
    month_of_day, _ = _months(days)
    months_on = month_of_day[on_days]
    starts = np.flatnonzero(np.r_[True, months_on[1:] != months_on[:-1]])
    grid_codes, g_of_w = np.unique(w["grid_code"].to_numpy().astype(str), return_inverse=True)
    out: dict[str, list] = {"month": [], "grid": [], "online": [], "sched": []}
    for part_on, part_sched, s0 in zip(
        np.add.reduceat(rows_online, starts, axis=0),
        np.add.reduceat(rows_sched, starts, axis=0),
        starts,
        strict=True,
    ):
        on_g = np.bincount(g_of_w, weights=part_on, minlength=grid_codes.size)
        sc_g = np.bincount(g_of_w, weights=part_sched, minlength=grid_codes.size)
        keep = np.flatnonzero(sc_g > 0)
        d0 = days[int(on_days[s0])]
        out["month"] += [d0.replace(day=1)] * keep.size
        out["grid"].append(keep)
        out["online"].append(on_g[keep])
        out["sched"].append(sc_g[keep])
    grid_idx = np.concatenate(out["grid"]) if out["grid"] else np.zeros(0, np.int64)
    monthly = pa.table(
        {
            "month": pa.array(out["month"], pa.date32()),
            "grid_code": pa.array(grid_codes).take(pa.array(grid_idx)),
            "online_minutes": pa.array(
                np.concatenate(out["online"] or [np.zeros(0)]).astype(np.int64)
            ),
            "scheduled_minutes": pa.array(
                np.concatenate(out["sched"] or [np.zeros(0)]).astype(np.int64)
            ),
        }
    )
    return daily, monthly


def after_load(
    conn: psycopg.Connection,
    settings: Settings,
    territory,
    seed: int,
    now: datetime,
    echo: Callable[[str], None] = print,
) -> None:
    """Replace the patrol rollups (daily and monthly) by the demo's history: ``DAYS`` local
    days ending today, cut at ``now``. The caller commits."""
    from queries.analytics.patrol_history import replace_history
    from queries.item_list import load_calendar_overrides

    t0 = _time.perf_counter()
    calendar = WorkCalendar(tz=settings.timezone, overrides=load_calendar_overrides(conn))
    rng = np.random.default_rng((seed, 12, 7))
    days, work, sched = _calendar_days(calendar, settings, now)
    visits, micro_month = visit_rows(territory, days, work, rng)
    online, online_month = online_rows(territory, days, sched, rng)
    t1 = _time.perf_counter()
    replace_history(conn, visits, online, micro_month, online_month)
    echo(
        f"patrol history: {visits.num_rows:,} visits and {online.num_rows:,} online rows over "
        f"{len(days)} days (drawn in {t1 - t0:.1f} s, copied in {_time.perf_counter() - t1:.1f} s)"
    )
