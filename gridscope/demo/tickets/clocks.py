"""Stage limits per ticket and the stage clocks over arrays of instants (int64 µs, UTC).

Thin vectorised front ends to ``domain.clock.work_calendar.WorkCalendar.add_many`` and
``domain.clock.limits.limit_for``: the rules live there.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from domain.clock.limits import STAGES, limit_for
from domain.clock.work_calendar import UNITS, WorkCalendar
from domain.vocabulary import URGENCIES
from gridscope.demo.tickets.schema import DAY, NAT, SEC


class Limits:
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
                for u, urg in enumerate(URGENCIES):
                    a, un = limit_for(code, stage, urg, limits)
                    amt[c * 2 + u], unit[c * 2 + u] = float(a), UNITS.index(un)
            self.amount[stage], self.unit[stage] = amt[combo], unit[combo]


def add_on_clock(cal: WorkCalendar, starts: np.ndarray, amounts: np.ndarray, units: np.ndarray):
    """starts (int64 µs) + amounts in per-element units, on each unit's clock."""
    out = np.full(starts.shape, NAT, dtype=np.int64)
    for k, unit in enumerate(UNITS):
        m = units == k
        if m.any():
            out[m] = cal.add_many(starts[m].view("datetime64[us]"), amounts[m], unit).view(np.int64)
    return out


def local_months(cal: WorkCalendar, t: np.ndarray) -> np.ndarray:
    """Local month (0–11) of each instant."""
    days, inv = local_days(cal, t)
    return np.array([d.month - 1 for d in days], dtype=np.int64)[inv]


def local_days(cal: WorkCalendar, t: np.ndarray) -> tuple[list[dt.date], np.ndarray]:
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
