"""The supervision ladder (督办) over arrays: which steps each ticket reached, and when.

The rule is ``domain.supervision`` (warning at ``WorkCalendar.warn_at``, yellow card when
overdue, red card overdue by the stage's whole span or after the second rework); this module
lays it onto arrays of instants (int64 µs, UTC) for the simulator, and
``tests/unit/test_simulation_rules.py`` holds ``steps_at`` to ``ladder_step``.
"""

from __future__ import annotations

import numpy as np

from domain.clock.work_calendar import UNITS, WorkCalendar
from domain.supervision import RED_OVERDUE_SHARE, RED_REWORKS, Step
from gridscope.demo.tickets.numeric import floor_s
from gridscope.demo.tickets.schema import NAT


def warn_instants(cal: WorkCalendar, starts, dues, units):
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


def red_instants(starts: np.ndarray, dues: np.ndarray) -> np.ndarray:
    """Red-card instants: overdue by ``RED_OVERDUE_SHARE`` of the stage's span (due − start,
    elapsed time, as ``ladder_step`` measures it); a stage due before it started (a ticket
    resumed after its due time) is red as soon as it is overdue."""
    out = np.full(starts.shape, NAT, dtype=np.int64)
    m = (starts != NAT) & (dues != NAT)
    span = np.maximum(dues[m] - starts[m], 0)
    out[m] = dues[m] + np.round(span * RED_OVERDUE_SHARE).astype(np.int64)
    return out


def steps_at(
    now_us: int,
    warn: np.ndarray,
    due: np.ndarray,
    red: np.ndarray,
    reworks: np.ndarray | None = None,
) -> np.ndarray:
    """``domain.supervision.ladder_step`` per element for tickets on the ladder (int8 steps):
    warning from ``warn`` on, yellow once past ``due``, red from ``red`` on (past due) or after
    ``RED_REWORKS`` reworks. NAT instants are never reached."""
    past_due = (due != NAT) & (now_us > due)
    step = np.where((warn != NAT) & (now_us >= warn), Step.WARNING, Step.NONE).astype(np.int8)
    step[past_due] = Step.YELLOW
    step[past_due & (red != NAT) & (now_us >= red)] = Step.RED
    if reworks is not None:
        step[reworks >= RED_REWORKS] = Step.RED
    return step


def supervision_steps(
    cal: WorkCalendar,
    end_us: int,
    *,
    handled: np.ndarray,
    t5_start: np.ndarray,
    t5_stop: np.ndarray,
    due: np.ndarray,
    t5_unit: np.ndarray,
    waiting: np.ndarray,
    stage_start: np.ndarray,
    stage_due: np.ndarray,
    stage_unit: np.ndarray,
    reworked_twice: np.ndarray,
    fail2_at: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ticket index, instant, step) of every ladder step reached by ``end_us``.

    ``handled`` tickets climb the ladder of their handling stage (T5, from ``t5_start`` to its
    ``due``) until ``t5_stop`` (the feedback or the suspension); ``waiting`` tickets, open in
    another stage, climb that stage's ladder; the second rework is a red card at once.
    """
    tickets, times, steps = [], [], []

    def climb(idx, start, stop, due_, unit):
        warn_ = warn_instants(cal, start, due_, unit)
        red_ = red_instants(start, due_)
        # A step is recorded at the instant it is reached, if that comes before the stage
        # stopped and the rule has it reached by ``end_us``.
        reached = steps_at(end_us, warn_, due_, red_)
        for level, at in ((Step.WARNING, warn_), (Step.YELLOW, due_), (Step.RED, red_)):
            ok = (reached >= level) & (at < stop)
            tickets.append(idx[ok])
            times.append(floor_s(at[ok]))
            steps.append(np.full(int(ok.sum()), level, np.int8))

    i = handled
    climb(i, t5_start[i], t5_stop[i], due[i], t5_unit[i])
    i = waiting
    climb(i, stage_start[i], np.full(i.size, end_us + 1), stage_due[i], stage_unit[i])
    i = reworked_twice
    tickets.append(i)
    times.append(fail2_at[i])
    steps.append(np.full(i.size, Step.RED, np.int8))
    return np.concatenate(tickets), np.concatenate(times), np.concatenate(steps)
