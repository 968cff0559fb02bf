"""On-time rules of the closed loop (DOMAIN.md §4–5), scalar and vectorised, written once.

The lifecycle rules (``domain.workflow.lifecycle``, applied by the write path), the file importer
and the demo simulator judge timeliness with these functions
(the simulator with the ``*_many`` forms over numpy arrays); a property test holds the two forms
to each other. Instants are aware UTC datetimes; arrays are ``datetime64[us]`` with NaT for
"none".
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

# T6: verify on site within 24 hours of the feedback (ZJ 35, AR 17), on the calendar clock.
VERIFY_LIMIT = timedelta(hours=24)

# The counts the daily rollup (table stat_daily) keeps per local day, grid and category.
STAT_COUNTS: tuple[str, ...] = (
    "created",
    "self_resolved",
    "reported",
    "reported_on_time",
    "dispatched",
    "returned",
    "closed",
    "closed_on_time",
    "reworked",
    "verify_due",
    "verified_on_time",
    "surveyed",
    "satisfied",
)


def reported_on_time(reported_at: datetime, report_due_at: datetime) -> bool:
    """Reported within the T1 window (DOMAIN.md §5 按时上报率)."""
    return reported_at <= report_due_at


def verified_on_time(finished_at: datetime | None, verified_at: datetime) -> bool:
    """Verified within 24 h of the feedback (按时核查率); no feedback time counts as on time."""
    return verified_at - (finished_at or verified_at) <= VERIFY_LIMIT


def closed_on_time(finished_at: datetime, original_due_at: datetime | None) -> bool:
    """Closed on time: the handling finished by the *original* due time, whatever extensions
    moved it to (按期结案率); an item with no due time is on time."""
    return original_due_at is None or finished_at <= original_due_at


def closed_on_time_many(finished: np.ndarray, original_due: np.ndarray) -> np.ndarray:
    """Vectorised ``closed_on_time`` over ``datetime64[us]`` arrays (NaT due = on time)."""
    finished = np.asarray(finished, dtype="datetime64[us]")
    original_due = np.asarray(original_due, dtype="datetime64[us]")
    return np.isnat(original_due) | (finished <= original_due)


def resumed_due_times(
    suspended_at: datetime,
    resumed_at: datetime,
    due_at: datetime | None,
    original_due_at: datetime | None,
) -> tuple[datetime, datetime]:
    """(due_at, original_due_at) after a suspension (挂账) ends: time spent suspended does not
    count against the handling clock, so both move by the suspension's length."""
    shift = resumed_at - suspended_at
    due = (due_at or resumed_at) + shift
    return due, (original_due_at or due) + shift
