"""The on-time rules of ``domain.workflow.timeliness`` over int64 µs arrays (NAT = none).

``closed_on_time_us`` calls the domain's own vectorised form; the report and verification
rules have only scalar forms in the domain, so their array forms are here, and
``tests/unit/test_simulation_rules.py`` holds them to the scalar ones.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from domain.workflow.timeliness import VERIFY_LIMIT, closed_on_time_many
from gridscope.demo.tickets.schema import NAT

VERIFY_LIMIT_US = VERIFY_LIMIT // dt.timedelta(microseconds=1)


def closed_on_time_us(finished: np.ndarray, original_due: np.ndarray) -> np.ndarray:
    """``timeliness.closed_on_time`` per element; False where nothing finished."""
    on_time = closed_on_time_many(
        finished.view("datetime64[us]"), original_due.view("datetime64[us]")
    )
    return on_time & (finished != NAT)


def reported_on_time_us(reported: np.ndarray, report_due: np.ndarray) -> np.ndarray:
    """``timeliness.reported_on_time`` per element (both instants present)."""
    return reported <= report_due


def verified_on_time_us(finished: np.ndarray, verified: np.ndarray) -> np.ndarray:
    """``timeliness.verified_on_time`` per element: verified within VERIFY_LIMIT of the feedback;
    no feedback time counts as on time."""
    late = (finished != NAT) & (verified - np.where(finished == NAT, 0, finished) > VERIFY_LIMIT_US)
    return ~late
