"""The simulator's pick of tickets to move on (queries.live.tickets_to_advance): from a
sample of the pages when it holds enough, else from every row; only eligible tickets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queries import live
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW

TOWN = "330402007"


@pytest.mark.parametrize("percent", [100.0, 0.0])  # the sample alone; nothing sampled
def test_tickets_to_advance_are_eligible_and_as_many_as_asked(demo_db, monkeypatch, percent):
    monkeypatch.setattr(live, "SAMPLE_PERCENT", percent)
    with connect(demo_db) as conn:
        eligible = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM ticket WHERE state NOT IN ('surveyed', 'rejected', 'suspended')"
                " AND grid_code LIKE %s AND stage_started_at < %s"
                " AND created_at > %s - interval '60 days'",
                (TOWN + "%", DEMO_NOW, DEMO_NOW),
            ).fetchall()
        }
        assert len(eligible) > 10
        rows = live.tickets_to_advance(conn, Scope(TOWN), DEMO_NOW, 10)
        assert len(rows) == 10 and {r["id"] for r in rows} <= eligible
        # Fewer eligible than asked: all of them.
        early = DEMO_NOW - timedelta(days=59, hours=23)
        few = live.tickets_to_advance(conn, Scope(TOWN), early, 10_000)
        assert len(few) < 10_000
