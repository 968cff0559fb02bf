"""The lifecycle of every ticket, planned slot by slot for all tickets at once.

Times are drawn per slot as fractions of the stage's limit on the stage's own clock, so lateness
rates are explicit parameters (``params``); the cut at ``end`` happens later, in ``assemble``.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from domain.categories import MAJOR_CODES
from domain.clock.limits import ESCALATION_LIMIT
from domain.vocabulary import FIELD_SOURCES
from domain.workflow.timeliness import VERIFY_LIMIT
from gridscope.demo.tickets.clocks import Limits, add_on_clock
from gridscope.demo.tickets.numeric import floor_s, lognorm
from gridscope.demo.tickets.params import (
    ASSIST_P,
    ESCALATE_P,
    EXTENSION_APPROVE_P,
    EXTENSION_P,
    NEED_INFO_P,
    REJECT_P,
    RESUME_P,
    RETURN_P,
    REWORK_AGAIN_P,
    REWORK_P,
    SELF_RESOLVE_P,
    SUPPLY_P,
    SURVEY_P,
    SURVEY_SELF_RESOLVED_P,
    SUSPEND_P,
    T5_LATE,
    T5_MEDIAN,
)
from gridscope.demo.tickets.schema import DAY, HOUR, MIN, NAT, SEC
from gridscope.demo.tickets.slots import K, S

# T6 on the calendar clock, in hours (a float: the draw is a fraction of it).
VERIFY_HOURS = VERIFY_LIMIT / dt.timedelta(hours=1)


class Lifecycle:
    """Planned times of every slot for every ticket (before the cut at ``end``)."""

    def __init__(self, rng, cal, lim: Limits, n, created, source, major, urgent):
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
        tt = np.maximum(floor_s(planned), self.cur[idx] + SEC)
        self.t[S[slot], idx] = tt
        self.cur[idx] = tt
        return tt

    def after(self, idx, base, stage, frac):
        """base + frac × the stage's limit, on the stage's clock (µs)."""
        return add_on_clock(
            self.cal, base, frac * self.lim.amount[stage][idx], self.lim.unit[stage][idx]
        )

    def frac(self, idx, median, p_late, urgent_median=None, urgent_p_late=None):
        f = lognorm(self.rng, idx.size, median, p_late)
        if urgent_median is not None:
            u = self.urgent[idx]
            f[u] = lognorm(self.rng, int(u.sum()), urgent_median, urgent_p_late)
        return f

    def chance(self, mask: np.ndarray, p) -> np.ndarray:
        return mask & (self.rng.random(self.n) < p)

    def run(self) -> None:
        rng, n, t = self.rng, self.n, self.t
        src = self.source
        patrol = src == FIELD_SOURCES.index("patrol")

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
        ni = self.chance(alive, np.asarray([NEED_INFO_P[s] for s in FIELD_SOURCES])[src])
        i = np.flatnonzero(ni)
        self.put("request_info", i, self.after(i, reported[i], "T2", self.frac(i, 0.4, 0.04)))
        supplied = ni & (rng.random(n) < SUPPLY_P)
        i = np.flatnonzero(supplied)
        wait = np.exp(math.log(3.0) + 1.0 * rng.standard_normal(i.size)) * HOUR
        self.put("supply_info", i, t[S["request_info"], i] + wait.astype(np.int64))
        reported = np.where(supplied, t[S["supply_info"]], reported)
        alive &= ~(ni & ~supplied)
        rj = self.chance(alive, np.asarray([REJECT_P[s] for s in FIELD_SOURCES])[src])
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
        plan = floor_s(self.after(i, dispatch[i], "T5", rng.uniform(0.55, 0.9, i.size)))
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
                add_on_clock(
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
        f[appr] = lognorm(rng, int(appr.sum()), 0.75, 0.08) * 2.0
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
            v = (self.frac(i, 0.2, 0.05) * VERIFY_HOURS * HOUR).astype(np.int64)
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
