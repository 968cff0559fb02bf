"""The work calendar: working days and hours that the stage clocks run on (DOMAIN.md §4).

Two clocks exist (DOMAIN.md §4 table, schema ``stage_limit.unit``):

* the **calendar clock** — units ``'min'`` and ``'h'`` — plain elapsed time;
* the **work clock** — units ``'wh'`` (work hours) and ``'wd'`` (working days) — which only runs
  inside the working periods (default 08:30–12:00 and 13:30–17:30 local time) of working days.

Working days are Monday–Friday, except the national holidays and make-up working days (调休)
that the State Council announces every year. Those are seeded offline from the
``chinese_calendar`` package for the years it knows (2004–2026 in version 1.11), and explicit
overrides (table ``calendar_day``) win over everything. Years the package does not know fall
back to Monday–Friday, with a logged warning.

All instants going in and out are UTC: timezone-aware ``datetime`` for the scalar API and
``numpy.datetime64[us]`` (UTC, naive by numpy's convention) for the vectorised API. Local time
(default Asia/Shanghai) is only used to lay the working periods onto the UTC axis.

Time is counted in integer microseconds, so the scalar and vectorised paths agree exactly.
A start outside working hours begins counting at the next working instant. An addition on the
work clock ends at the *earliest* instant at which enough work time has elapsed, so 1 wh from
11:00 ends at 12:00, not at 13:30.

``'wd'`` means N × (working minutes per day) on the work clock, so a limit of N WD started
mid-morning ends at the same time of day N working days later (1 WD from Monday 10:00 ends on
Tuesday 10:00 with the default hours); started outside working hours it ends at the close of
business of the N-th working day.

Why this module is long: the scalar clock (the write path, one ticket at a time) and the
vectorised clock (the demo and the importer, whole columns) are one class over one integer
index, side by side, so that they cannot drift apart; tests/unit/test_work_calendar.py holds
them to each other.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np

from domain.supervision import WARN_DEN, WARN_NUM  # the warning rule (DOMAIN.md §4)

log = logging.getLogger(__name__)

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
US_PER_MIN = 60_000_000
US_PER_HOUR = 60 * US_PER_MIN
US_PER_DAY = 24 * US_PER_HOUR
UNITS: tuple[str, ...] = ("min", "h", "wh", "wd")
CALENDAR_UNITS = frozenset({"min", "h"})
WORK_UNITS = frozenset({"wh", "wd"})

DEFAULT_PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(8, 30), dt.time(12, 0)),
    (dt.time(13, 30), dt.time(17, 30)),
)
DEFAULT_TZ = "Asia/Shanghai"
_NAT = np.iinfo(np.int64).min  # numpy's NaT as int64
# A work-clock walk that finds no working time within this many days has a broken calendar.
_MAX_DAYS = 3700


def to_us(t: dt.datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime; naive datetimes are refused."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t!r}: pass a timezone-aware instant (UTC)")
    d = t - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_us(us: int) -> dt.datetime:
    """The aware UTC datetime for microseconds since the Unix epoch."""
    return EPOCH + dt.timedelta(microseconds=int(us))


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")


@dataclass(frozen=True)
class _Index:
    """Working periods of a day range on the UTC axis with cumulative work time (µs)."""

    first_day: dt.date
    last_day: dt.date
    ps: np.ndarray  # period starts, int64 µs UTC, ascending
    pe: np.ndarray  # period ends
    length: np.ndarray  # pe - ps
    cum_start: np.ndarray  # work µs elapsed from the index origin to each period start
    cum_end: np.ndarray

    def work_at(self, t: np.ndarray) -> np.ndarray:
        """W(t): work µs from the index origin to t (t must lie inside the index range)."""
        # Period 0 is an empty sentinel at the index origin, so i >= 0 for every t in range.
        i = np.searchsorted(self.ps, t, side="right")
        i -= 1
        w = t - self.ps[i]
        np.minimum(w, self.length[i], out=w)
        w += self.cum_start[i]
        return w


class WorkCalendar:
    """Working days and hours of one jurisdiction, with scalar and vectorised clock arithmetic.

    ``periods``: local (start, end) working periods of a working day, ascending, not crossing
    midnight. ``overrides``: date → is_workday, applied over the seed (table ``calendar_day``).
    ``seed_official``: seed holidays and make-up days from ``chinese_calendar``.

    Instances are immutable; ``with_overrides`` returns a new calendar. The vectorised index is
    a derived cache on the instance.
    """

    def __init__(
        self,
        periods: Sequence[tuple[dt.time, dt.time]] = DEFAULT_PERIODS,
        tz: str = DEFAULT_TZ,
        overrides: Mapping[dt.date, bool] | None = None,
        seed_official: bool = True,
    ):
        periods = tuple((dt.time(*_hm(s)), dt.time(*_hm(e))) for s, e in periods)
        if not periods:
            raise ValueError("a work calendar needs at least one working period")
        prev_end = dt.time(0, 0)
        for start, end in periods:
            if not start < end:
                raise ValueError(f"working period {start}–{end} must end after it starts")
            if start < prev_end:
                raise ValueError("working periods must be ascending and must not overlap")
            prev_end = end
        self.periods = periods
        self.tz_name = tz
        self.tz = ZoneInfo(tz)
        self.overrides: Mapping[dt.date, bool] = dict(overrides or {})
        self.seed_official = seed_official
        self.work_minutes_per_day = sum(_minutes(e) - _minutes(s) for s, e in periods)
        self._index: _Index | None = None
        self._unknown_years: set[int] = set()
        # Working periods per local day, memoised: the instance is immutable, and the ingest
        # API asks for the same few days on every ticket (chinese_calendar's lookup was 14 %
        # of the API's Python time). Bounded by the days ever asked about (a few hundred).
        self._periods_by_day: dict[dt.date, tuple[tuple[int, int], ...]] = {}

    # ---- construction helpers -------------------------------------------------------------

    def with_overrides(self, overrides: Mapping[dt.date, bool]) -> WorkCalendar:
        """A new calendar with ``overrides`` applied on top of this one's."""
        merged = {**self.overrides, **overrides}
        return WorkCalendar(self.periods, self.tz_name, merged, self.seed_official)

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, object]], **kwargs) -> WorkCalendar:
        """A calendar from ``calendar_day`` rows (mappings with ``day`` and ``is_workday``)."""
        overrides: dict[dt.date, bool] = {
            r["day"]: bool(r["is_workday"])  # type: ignore[misc]
            for r in rows
        }
        return cls(overrides=overrides, **kwargs)

    # ---- days ------------------------------------------------------------------------------

    def is_workday(self, day: dt.date) -> bool:
        """Whether ``day`` (a local date) is a working day."""
        if isinstance(day, dt.datetime):
            raise TypeError("is_workday takes a local date, not a datetime")
        if day in self.overrides:
            return self.overrides[day]
        if self.seed_official:
            try:
                return bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                if day.year not in self._unknown_years:
                    self._unknown_years.add(day.year)
                    log.warning(
                        "chinese_calendar has no holiday data for %s: Monday–Friday assumed;"
                        " add calendar_day overrides for that year",
                        day.year,
                    )
        return day.weekday() < 5

    def holiday_name(self, day: dt.date) -> str | None:
        """The official holiday name (English, from chinese_calendar) of a day off, else None."""
        if not self.seed_official or self.is_workday(day):
            return None
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        return name if is_holiday else None

    def official_rows(self, first: dt.date, last: dt.date) -> list[dict[str, object]]:
        """``calendar_day`` rows for the days in [first, last] that differ from Monday–Friday."""
        rows = []
        day = first
        while day <= last:
            work = self.is_workday(day)
            if work != (day.weekday() < 5):
                note = self.holiday_name(day) or ("调休上班" if work else None)
                rows.append({"day": day, "is_workday": work, "note": note})
            day += dt.timedelta(days=1)
        return rows

    def local_date(self, t: dt.datetime) -> dt.date:
        """The local calendar date of an aware instant."""
        return from_us(to_us(t)).astimezone(self.tz).date()

    def _day_periods_us(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        got = self._periods_by_day.get(day)
        if got is None:
            got = self._periods_by_day[day] = (
                tuple(
                    (
                        to_us(dt.datetime.combine(day, s, tzinfo=self.tz)),
                        to_us(dt.datetime.combine(day, e, tzinfo=self.tz)),
                    )
                    for s, e in self.periods
                )
                if self.is_workday(day)
                else ()
            )
        return got

    def _local_date_us(self, us: int) -> dt.date:
        return from_us(us).astimezone(self.tz).date()

    # ---- amounts -------------------------------------------------------------------------

    def _factor(self, unit: str) -> float:
        """Microseconds per unit (work µs for work units)."""
        _check_unit(unit)
        if unit == "min":
            return float(US_PER_MIN)
        if unit in ("h", "wh"):
            return float(US_PER_HOUR)
        return float(self.work_minutes_per_day * US_PER_MIN)

    def amount_us(self, amount: float, unit: str) -> int:
        """An amount in ``unit`` as integer microseconds (rounded half to even, like numpy)."""
        amount = float(amount)
        if not amount >= 0 or math.isinf(amount):
            raise ValueError(f"amount must be a finite number >= 0, got {amount!r}")
        return round(amount * self._factor(unit))

    # ---- scalar clock ----------------------------------------------------------------------

    def _add_work_us(self, start: int, work: int) -> int:
        """The earliest instant ≥ start by which ``work`` µs of work time have elapsed.

        With work == 0 this is the next working instant at or after ``start``.
        """
        remaining = work
        day = self._local_date_us(start) - dt.timedelta(days=1)
        for _ in range(_MAX_DAYS):
            for ps, pe in self._day_periods_us(day):
                if pe <= start:
                    continue
                s = max(ps, start)
                avail = pe - s
                if remaining <= avail:
                    return s + remaining
                remaining -= avail
            day += dt.timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_DAYS} days: check the calendar")

    def _work_between_us(self, a: int, b: int) -> int:
        """Work µs in [a, b]; negative when b < a."""
        if b < a:
            return -self._work_between_us(b, a)
        total = 0
        day = self._local_date_us(a) - dt.timedelta(days=1)
        last = self._local_date_us(b) + dt.timedelta(days=1)
        while day <= last:
            for ps, pe in self._day_periods_us(day):
                lo, hi = max(ps, a), min(pe, b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def next_working_instant(self, t: dt.datetime) -> dt.datetime:
        """``t`` itself inside working hours, else the start of the next working period."""
        return from_us(self._add_work_us(to_us(t), 0))

    def add(self, start: dt.datetime, amount: float, unit: str) -> dt.datetime:
        """``start`` + ``amount`` ``unit`` on that unit's clock, as an aware UTC datetime.

        'min'/'h' run on the calendar clock; 'wh'/'wd' on the work clock, where a start outside
        working hours begins counting at the next working instant.
        """
        amount_us = self.amount_us(amount, unit)
        start_us = to_us(start)
        if unit in CALENDAR_UNITS:
            return from_us(start_us + amount_us)
        return from_us(self._add_work_us(start_us, amount_us))

    def work_minutes_between(self, a: dt.datetime, b: dt.datetime) -> float:
        """Working minutes between two instants (negative when b is before a)."""
        return self._work_between_us(to_us(a), to_us(b)) / US_PER_MIN

    def warn_at(
        self,
        start: dt.datetime,
        due: dt.datetime | None = None,
        amount: float | None = None,
        unit: str = "h",
    ) -> dt.datetime:
        """The warning instant: 80 % of the stage's time from ``start`` to ``due`` consumed.

        Measured on the stage's own clock (``unit``: work clock for 'wh'/'wd'). ``due`` is
        computed from ``amount`` when not given (pass ``due`` after an extension moved it).
        """
        _check_unit(unit)
        if due is None:
            if amount is None:
                raise ValueError("warn_at needs due or amount")
            due = self.add(start, amount, unit)
        s, d = to_us(start), to_us(due)
        if d < s:
            raise ValueError("due must not be before start")
        if unit in CALENDAR_UNITS:
            return from_us(s + (d - s) * WARN_NUM // WARN_DEN)
        span = self._work_between_us(s, d)
        return from_us(self._add_work_us(s, span * WARN_NUM // WARN_DEN))

    # ---- vectorised clock ------------------------------------------------------------------

    def _build_index(self, first: dt.date, last: dt.date) -> _Index:
        origin = to_us(dt.datetime.combine(first, dt.time(0), tzinfo=self.tz))
        ps, pe = [origin], [origin]  # the empty sentinel period (see _Index.work_at)
        day = first
        while day <= last:
            for s, e in self._day_periods_us(day):
                ps.append(s)
                pe.append(e)
            day += dt.timedelta(days=1)
        ps_a = np.asarray(ps, dtype=np.int64)
        pe_a = np.asarray(pe, dtype=np.int64)
        length = pe_a - ps_a
        cum_end = np.cumsum(length)
        cum_start = cum_end - length
        return _Index(first, last, ps_a, pe_a, length, cum_start, cum_end)

    def _index_for(self, lo_us: int, hi_us: int) -> _Index:
        """An index covering [lo_us, hi_us] plus a day either side (cached, grown as needed)."""
        first = self._local_date_us(lo_us) - dt.timedelta(days=1)
        last = self._local_date_us(hi_us) + dt.timedelta(days=1)
        idx = self._index
        if idx is not None and idx.first_day <= first and idx.last_day >= last:
            return idx
        if idx is not None:
            first, last = min(first, idx.first_day), max(last, idx.last_day)
        idx = self._build_index(first, last)
        if len(idx.ps) == 1:
            raise ValueError(f"no working time between {first} and {last}: check the calendar")
        self._index = idx
        return idx

    def _amounts_us(self, amounts: np.ndarray, unit: str) -> np.ndarray:
        a = np.asarray(amounts, dtype=np.float64)
        bad = ~np.isnan(a) & ~((a >= 0) & np.isfinite(a))
        if bad.any():
            raise ValueError("amounts must be finite numbers >= 0 (NaN allowed for 'no value')")
        out = np.full(a.shape, _NAT, dtype=np.int64)
        ok = ~np.isnan(a)
        out[ok] = np.rint(a[ok] * self._factor(unit)).astype(np.int64)
        return out

    def _add_work_many_us(self, starts: np.ndarray, work: np.ndarray) -> np.ndarray:
        """Vectorised ``_add_work_us`` over int64 µs arrays (no NaT inside)."""
        out = np.empty_like(starts)
        if starts.size == 0:
            return out
        lo, hi = int(starts.min()), int(starts.max())
        per_day = self.work_minutes_per_day * US_PER_MIN
        # Calendar days needed for the largest amount: 5 working days a week plus the longest
        # holiday runs; grown below if still short.
        span_days = int(work.max() // per_day) * 7 // 5 + 20
        zero = np.flatnonzero(work == 0)
        while True:
            idx = self._index_for(lo, hi + span_days * US_PER_DAY)
            target = idx.work_at(starts)
            target += work
            j = np.searchsorted(idx.cum_end, target, side="left")
            # work == 0: the next working instant, i.e. the first period ending after start.
            j[zero] = np.searchsorted(idx.pe, starts[zero], side="right")
            if j.size == 0 or j.max() < len(idx.ps):
                break
            span_days *= 2
        target -= idx.cum_start[j]
        target += idx.ps[j]
        out[:] = target
        out[zero] = np.maximum(idx.ps[j[zero]], starts[zero])
        return out

    def add_many(self, starts: np.ndarray, amounts: np.ndarray | float, unit: str) -> np.ndarray:
        """Vectorised ``add``: datetime64[us] UTC starts + float amounts → datetime64[us] UTC.

        NaT starts or NaN amounts give NaT. Agrees exactly with ``add``.
        """
        _check_unit(unit)
        s = _as_us(starts)
        a = np.broadcast_to(self._amounts_us(np.asarray(amounts), unit), s.shape)
        out = np.full(s.shape, _NAT, dtype=np.int64)
        ok = (s != _NAT) & (a != _NAT)
        if unit in CALENDAR_UNITS:
            out[ok] = s[ok] + a[ok]
        else:
            out[ok] = self._add_work_many_us(s[ok], a[ok])
        return out.view("datetime64[us]")

    def work_minutes_between_many(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Vectorised ``work_minutes_between`` (float minutes; NaN where either side is NaT)."""
        au, bu = np.broadcast_arrays(_as_us(a), _as_us(b))
        out = np.full(au.shape, np.nan)
        ok = (au != _NAT) & (bu != _NAT)
        if ok.any():
            idx = self._index_for(
                int(min(au[ok].min(), bu[ok].min())), int(max(au[ok].max(), bu[ok].max()))
            )
            out[ok] = (idx.work_at(bu[ok]) - idx.work_at(au[ok])) / US_PER_MIN
        return out

    def warn_at_many(self, starts: np.ndarray, dues: np.ndarray, unit: str) -> np.ndarray:
        """Vectorised ``warn_at`` (given the due times); NaT where either side is NaT."""
        _check_unit(unit)
        s, d = np.broadcast_arrays(_as_us(starts), _as_us(dues))
        out = np.full(s.shape, _NAT, dtype=np.int64)
        ok = (s != _NAT) & (d != _NAT)
        if (d[ok] < s[ok]).any():
            raise ValueError("due must not be before start")
        so, do = s[ok], d[ok]
        if unit in CALENDAR_UNITS:
            out[ok] = so + (do - so) * WARN_NUM // WARN_DEN
        elif so.size:
            idx = self._index_for(int(so.min()), int(do.max()))
            span = idx.work_at(do) - idx.work_at(so)
            out[ok] = self._add_work_many_us(so, span * WARN_NUM // WARN_DEN)
        return out.view("datetime64[us]")


def _as_us(t: np.ndarray) -> np.ndarray:
    """int64 µs view of datetime64 input (converted to [us] first)."""
    arr = np.asarray(t)
    if arr.dtype.kind != "M":
        raise TypeError(f"expected numpy datetime64 (UTC), got {arr.dtype}")
    return arr.astype("datetime64[us]").view(np.int64)


def _hm(t: dt.time | str) -> tuple[int, int]:
    if isinstance(t, str):
        h, m = t.split(":")
        return int(h), int(m)
    if t.second or t.microsecond:
        raise ValueError("working periods are given to the minute")
    return t.hour, t.minute


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute
