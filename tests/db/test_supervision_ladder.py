"""``queries.supervision.LADDER_SQL`` equals ``domain.supervision.ladder_step`` on many ticket
rows: seeded random rows plus the boundaries (exactly at warn, at due, exactly 100 % overdue,
two reworks, off-ladder states, missing instants)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from domain.supervision import OFF_LADDER_STATES, RED_REWORKS, ladder_step
from domain.workflow.rules import State
from queries.db import connect
from queries.supervision import LADDER_SQL

NOW = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
STATES = [s.value for s in State]


def _row(state, start, warn, due, reworks):
    return (state, start, warn, due, reworks)


def boundary_rows() -> list[tuple]:
    """Rows on every edge of the rule, relative to NOW."""
    h = timedelta(hours=1)
    rows = []
    for state in ("in_progress", "reported", "verifying", *sorted(OFF_LADDER_STATES)):
        rows += [
            _row(state, NOW - 4 * h, NOW, NOW + h, 0),  # exactly at warn
            _row(state, NOW - 4 * h, NOW - h, NOW, 0),  # exactly at due: not yet overdue
            _row(state, NOW - 5 * h, NOW - 2 * h, NOW - h, 0),  # just overdue
            _row(state, NOW - 2 * h, NOW - 1.2 * h, NOW - h, 0),  # exactly 100 % overdue
            _row(state, NOW - 2 * h, NOW - 1.2 * h, NOW - h + timedelta(microseconds=1), 0),
            _row(state, NOW - 4 * h, NOW + h, NOW + 2 * h, RED_REWORKS),  # reworked twice
            _row(state, NOW - 4 * h, NOW + h, NOW + 2 * h, RED_REWORKS - 1),
            _row(state, NOW - 4 * h, NOW - h, None, 5),  # no due: off the ladder
            _row(state, None, NOW - h, NOW - h, 0),  # no stage start: a zero limit
            _row(state, NOW - 4 * h, None, NOW + h, 0),  # no warning instant
            _row(state, NOW, NOW, NOW, 0),  # a zero-length stage
        ]
    return rows


def random_rows(n: int, seed: int = 20261125) -> list[tuple]:
    """``n`` rows with instants within ±3 days of NOW (to the microsecond)."""
    rng = random.Random(seed)
    span = 3 * 24 * 3600 * 10**6

    def instant():
        return NOW + timedelta(microseconds=rng.randint(-span, span))

    rows = []
    for _ in range(n):
        start = instant()
        due = start + timedelta(microseconds=rng.randint(0, span))
        warn = start + (due - start) * rng.choice((0.8, 0.5, 1.0, rng.random()))
        rows.append(
            _row(
                rng.choice(STATES),
                None if rng.random() < 0.03 else start,
                None if rng.random() < 0.03 else warn,
                None if rng.random() < 0.05 else due,
                rng.choice((0, 0, 0, 1, 2, 3)),
            )
        )
    return rows


def test_ladder_sql_equals_ladder_step(fresh_db):
    rows = boundary_rows() + random_rows(3000)
    with connect(fresh_db) as conn:
        conn.execute(
            "CREATE TEMP TABLE ladder_case (i int, state text, stage_started_at timestamptz,"
            " stage_warn_at timestamptz, stage_due_at timestamptz, rework_count int)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ladder_case VALUES (%s, %s, %s, %s, %s, %s)",
                [(i, *r) for i, r in enumerate(rows)],
            )
        got = dict(
            conn.execute(
                f"SELECT i, {LADDER_SQL} FROM ladder_case ORDER BY i",  # noqa: S608
                {"now": NOW},
            ).fetchall()
        )
        conn.rollback()
    want = {i: int(ladder_step(*r[:4], r[4], NOW)) for i, r in enumerate(rows)}
    mismatches = [(rows[i], got[i], want[i]) for i in want if got[i] != want[i]]
    assert not mismatches, mismatches[:5]
    # The sample reaches every step.
    assert set(want.values()) == {0, 1, 2, 3}
