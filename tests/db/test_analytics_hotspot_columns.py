"""The hotspot panel answered from the in-memory ticket columns (a loaded server process) is the
panel answered by SQL, to the last field, for every scope and several periods of the small demo
with its planted hotspot."""

from __future__ import annotations

import orjson
import pytest

from domain.analytics.periods import parse_period
from queries.analytics import hotspots
from queries.analytics.query import Query
from queries.cache import data_version
from queries.db import connect
from queries.explore.columns import load
from queries.scope import Scope
from tests.conftest import DEMO_NOW, database_copy, settings_for

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def conn(small_demo_template):
    with database_copy(small_demo_template) as s, connect(s) as c:
        yield c


@pytest.mark.parametrize(
    "period", ["2026-11", "2026-10", "2026-W40", "2026-Q3", "2026-02-01..2026-03-15"]
)
def test_the_columns_give_the_sql_answer(conn, period):
    settings = settings_for(conn.info.dbname)
    snap = load(conn, DEMO_NOW, 400, data_version(conn))
    codes = [
        "",
        *[
            r[0]
            for r in conn.execute(
                "SELECT code FROM region WHERE valid_to IS NULL AND level IN ('town', 'community')"
                " ORDER BY code LIMIT 4"
            ).fetchall()
        ],
    ]
    flagged = 0
    for code in codes:
        p = parse_period(period).cut(DEMO_NOW, settings.tz)
        q = Query(Scope(code), p, DEMO_NOW, settings.tz, settings)
        by_sql = hotspots.compute(conn, q)
        by_columns = hotspots.compute(
            conn, Query(Scope(code), p, DEMO_NOW, settings.tz, settings, columns=snap)
        )
        assert orjson.dumps(by_columns) == orjson.dumps(by_sql), (code, period)
        flagged += by_sql["hotspots"]["total"] + by_sql["recurring"]["total"]
    if period in ("2026-11", "2026-10"):
        assert flagged > 0  # the planted hotspot: the comparison is not between empty panels


@pytest.mark.parametrize("listed", [1, 4])
def test_the_columns_give_the_sql_answer_for_the_places_listed(conn, monkeypatch, listed):
    """Only the largest places are listed (and their tickets read again, by primary key from
    the columns, by box from SQL): the same places, counts and details either way."""
    monkeypatch.setattr(hotspots, "MAX_RECURRING", listed)
    settings = settings_for(conn.info.dbname).model_copy(update={"recurring_min": 2})
    snap = load(conn, DEMO_NOW, 400, data_version(conn))
    p = parse_period("2026-11").cut(DEMO_NOW, settings.tz)
    by_sql = hotspots.compute(conn, Query(Scope(""), p, DEMO_NOW, settings.tz, settings))
    by_columns = hotspots.compute(
        conn, Query(Scope(""), p, DEMO_NOW, settings.tz, settings, columns=snap)
    )
    assert orjson.dumps(by_columns) == orjson.dumps(by_sql)
    rec = by_sql["recurring"]
    assert len(rec["items"]) == listed < rec["total"]
    assert sum(i["count"] for i in rec["items"]) <= rec["tickets"]
