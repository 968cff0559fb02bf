"""The wall's ticker (queries/screen/ticker.py) from three ordered scans (migration 0012)
gives exactly what sorting every open alert gave: the reference query below is the one it
replaced. Alerts are stirred at random (urgency, supervision, due times, change times with
ties) and compared for several jurisdictions, instants and limits."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.db import connect, custom_plans
from queries.scope import Scope
from queries.screen.ticker import ticker
from tests.conftest import DEMO_NOW

SCOPES = ("", "3304", "330402007", "330402007001", "330402007001001", "330402008")

REFERENCE_SQL = """
SELECT t.ticket_no
  FROM ticket t
 WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND t.grid_code LIKE %(like)s
   AND (t.urgency = 'urgent' OR t.supervision > 0
        OR (t.state <> 'suspended' AND t.stage_due_at < %(now)s))
 ORDER BY greatest(CASE WHEN t.urgency = 'urgent' THEN t.created_at END,
                   CASE WHEN t.state <> 'suspended' AND t.stage_due_at < %(now)s
                        THEN t.stage_due_at END,
                   CASE WHEN t.supervision > 0 THEN t.updated_at END) DESC NULLS LAST,
          t.ticket_no
 LIMIT %(limit)s
"""

STIR_SQL = """
WITH open AS (
    SELECT id, created_at FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected')
     ORDER BY md5(ticket_no || %(seed)s) LIMIT %(n)s
)
UPDATE ticket t
   SET urgency = CASE WHEN random() < 0.3 THEN 'urgent' ELSE 'normal' END,
       supervision = (random() * 3.4)::int * (random() < 0.4)::int,
       -- Whole hours around the instant: many tickets share a due or change time.
       stage_due_at = %(now)s + make_interval(hours => (random() * 96)::int - 72),
       updated_at = %(now)s - make_interval(hours => (random() * 48)::int)
  FROM open o
 WHERE t.id = o.id AND t.created_at = o.created_at
"""


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 10_000),
    stirred=st.sampled_from([0, 50, 400]),
    hours=st.integers(-48, 48),
    limit=st.sampled_from([1, 5, 20, 200]),
)
def test_the_ticker_equals_sorting_every_open_alert(demo_db, seed, stirred, hours, limit):
    now = DEMO_NOW + timedelta(hours=hours)
    with connect(demo_db) as conn:
        try:
            if stirred:
                conn.execute(STIR_SQL, {"seed": str(seed), "n": stirred, "now": now})
            for code in SCOPES:
                scope = Scope(code)
                params = {"like": scope.like, "now": now, "limit": limit}
                want = [r[0] for r in conn.execute(REFERENCE_SQL, params).fetchall()]
                with custom_plans(conn):  # as the feed runs it
                    got = [r["ticket_no"] for r in ticker(conn, scope, now, limit)]
                assert got == want, (code, limit)
        finally:
            conn.rollback()


def test_the_ticker_plan_is_kept_on_the_connection(demo_db):
    """The three scans keep a generic plan (planning them was most of the cost); the
    caller's plan_cache_mode is back afterwards."""
    with connect(demo_db) as conn, custom_plans(conn):
        for _ in range(3):
            ticker(conn, Scope("330402007"), DEMO_NOW)
        prepared = conn.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ("%ticket_alert%",),
        ).fetchone()
        mode = conn.execute("SELECT current_setting('plan_cache_mode')").fetchone()
    assert prepared is not None and prepared[0] == 1
    assert mode is not None and mode[0] == "force_custom_plan"
