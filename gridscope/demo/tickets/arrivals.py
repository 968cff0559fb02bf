"""Where and when tickets arrive: a point inside the micro-grid, creation instants per source."""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import shapely

from domain.clock.work_calendar import WorkCalendar
from domain.vocabulary import FIELD_SOURCES
from gridscope.demo.tickets.params import (
    DAY_OFF,
    GROWTH,
    HOURLY,
    MONTH_VOLUME,
    SPRING_FESTIVAL_FACTOR,
)
from gridscope.demo.tickets.schema import DAY, HOUR, SEC

log = logging.getLogger(__name__)


def points_in(rng, geoms, bounds, mg) -> tuple[np.ndarray, np.ndarray]:
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


def creation_times(rng, cal: WorkCalendar, source, start_us: int, end_us: int) -> np.ndarray:
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
    for k, name in enumerate(FIELD_SOURCES):
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
