"""The hotspot panel on the small demo with its planted hotspot (gridscope/demo/hotspot_plant.py):
the planted grid is flagged and the steady ones are not, the planted spot is a recurring
problem, the jurisdiction scope holds, and odd requests answer with empty lists."""

from __future__ import annotations

from datetime import date, timedelta

import orjson
import pytest

from domain.analytics.periods import Period, parse_period
from domain.analytics.recurring import metres_per_degree
from gridscope.demo import hotspot_plant
from gridscope.demo.territory import build_territory
from queries.analytics import hotspots
from queries.analytics.hotspot_plant import META_KEY
from queries.analytics.query import Query
from queries.bulk import get_meta
from queries.db import connect
from queries.scope import NOWHERE, WHOLE, Scope
from queries.tickets.rollup import stat_upsert
from tests.conftest import DEMO_NOW, database_copy

TOWN = "330402007"  # the small demo's one town
# A grid of another town, added here with a burst of its own (the demo has one town only).
OTHER_GRID = "330402099001001"
OTHER_BOX = (120.800, 30.750, 120.806, 30.755)
OTHER_SPOT = (120.8030, 30.7525)


def _add_other_town(conn) -> None:
    w, s, e, n = OTHER_BOX
    conn.execute(
        "INSERT INTO grid (code, name, community_code, grid_type, geom)"
        " VALUES (%s, '别镇第1网格', %s, 'comprehensive',"
        " ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326)))",
        (OTHER_GRID, OTHER_GRID[:12], w, s, e, n),
    )
    tz = DEMO_NOW.tzinfo
    for i in range(30):
        at = DEMO_NOW - timedelta(days=1 + i % 20, hours=i)
        lon, lat = OTHER_SPOT if i < 6 else (w + (i % 7) * 0.0008, s + (i % 5) * 0.0009)
        conn.execute(
            "INSERT INTO ticket (created_at, ticket_no, source, category_code, urgency, state,"
            " stage, stage_started_at, grid_code, geom, address, updated_at)"
            " VALUES (%(at)s, %(no)s, 'hotline', '0902', 'normal', 'reported', 'T2', %(at)s,"
            " %(grid)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), '别镇某路1号', %(at)s)",
            {"at": at, "no": f"X-OTHER-{i}", "grid": OTHER_GRID, "lon": lon, "lat": lat},
        )
        with conn.cursor() as cur:
            day = at.astimezone(tz).date()
            stat_upsert(cur, day, OTHER_GRID, "0902", {"created": 1, "reported": 1})


@pytest.fixture(scope="module")
def db(small_demo_template):
    with database_copy(small_demo_template) as settings:
        with connect(settings) as conn:
            # A demo load plants the hotspot (gridscope/demo/analytics_load.py); planting again
            # is a no-op, so this holds whether or not the load already did.
            hotspot_plant.after_load(
                conn, settings, build_territory("small", 7), 7, DEMO_NOW, echo=lambda _m: None
            )
            _add_other_town(conn)
            conn.commit()
        yield settings


@pytest.fixture(scope="module")
def conn(db):
    with connect(db) as c:
        yield c


@pytest.fixture(scope="module")
def planted(conn) -> dict:
    meta = get_meta(conn, META_KEY)
    assert meta, "the demo hotspot was not planted"
    return meta


def run(conn, db, key: str, scope: Scope = WHOLE, **overrides) -> dict:
    settings = db.model_copy(update=overrides) if overrides else db
    period = parse_period(key).cut(DEMO_NOW, settings.tz)
    return hotspots.compute(conn, Query(scope, period, DEMO_NOW, settings.tz, settings))


def flagged(data: dict) -> set[str]:
    return {h["grid"] for h in data["hotspots"]["items"]}


def test_the_demo_load_keeps_the_grid_rollup(conn):
    """stat_grid_daily is stat_daily summed per grid after the load, the plant and the writes
    of this module (triggers), as a rebuild would make it."""
    diff = conn.execute(
        "SELECT count(*) FROM ((SELECT day, grid_code, sum(created)::int FROM stat_daily"
        " GROUP BY 1, 2 HAVING sum(created) <> 0) EXCEPT ALL"
        " (SELECT day, grid_code, created FROM stat_grid_daily WHERE created <> 0)) d"
    ).fetchone()[0]
    rows = conn.execute("SELECT count(*) FROM stat_grid_daily WHERE created <> 0").fetchone()[0]
    assert rows > 1000 and diff == 0


@pytest.mark.parametrize("key", ["2026-11", "2026-10"])
def test_the_planted_grid_is_flagged_and_no_steady_grid_is(conn, db, planted, key):
    data = run(conn, db, key)
    assert planted["grid"] in flagged(data)
    # The simulator's grids follow steady rates: only the planted grids rise.
    assert flagged(data) <= {planted["grid"], OTHER_GRID}
    item = next(h for h in data["hotspots"]["items"] if h["grid"] == planted["grid"])
    assert item["ratio"] >= 1.5 and item["p"] < db.hotspot_alpha and item["count"] >= 5
    assert item["town"] == "建设街道" and item["name"]
    assert data["hotspots"]["tested"] >= 70


def test_a_flat_grid_is_not_flagged(conn, db, planted):
    q = Query(Scope(""), parse_period("2026-11").cut(DEMO_NOW, db.tz), DEMO_NOW, db.tz, db)
    periods = [q.period, *hotspots.baseline_periods(q.period, db.hotspot_baseline_periods)]
    counts = hotspots.grid_counts(conn, q, periods)
    tests = {g: t for g, t, _ in hotspots.assess_grids(counts, periods, db.hotspot_alpha, 75)}
    busiest = max(
        (g for g in counts if g not in (planted["grid"], OTHER_GRID)),
        key=lambda g: sum(counts[g][1:]),
    )
    t = tests[busiest]
    assert sum(counts[busiest][1:]) >= 30 and t.observed > 0
    assert not t.flagged and t.ratio < 1.5
    assert tests[planted["grid"]].flagged


def test_the_planted_spot_is_a_recurring_problem(conn, db, planted):
    data = run(conn, db, "2026-11")
    rec = data["recurring"]
    top = rec["items"][0]
    assert top["category"] == planted["category"] == "0901"
    assert top["grid"] == planted["grid"] and top["category_name"] == "占道经营"
    assert top["count"] >= planted["spot_tickets"]
    per_lon, per_lat = metres_per_degree(top["lat"])
    off = (
        (top["lon"] - planted["spot"][0]) * per_lon,
        (top["lat"] - planted["spot"][1]) * per_lat,
    )
    assert (off[0] ** 2 + off[1] ** 2) ** 0.5 < db.recurring_radius_m
    assert top["first"] >= rec["window"]["start"] and top["last"] <= rec["window"]["end"]
    assert rec["window"] == {"start": "2026-08-27", "end": "2026-11-25"}
    assert rec["total"] >= 1 and rec["tickets"] >= top["count"]


def test_a_town_scope_leaves_other_towns_out(conn, db, planted):
    whole = run(conn, db, "2026-11")
    assert OTHER_GRID in flagged(whole)
    assert OTHER_GRID in {r["grid"] for r in whole["recurring"]["items"]}
    town = run(conn, db, "2026-11", Scope(TOWN))
    assert planted["grid"] in flagged(town) and OTHER_GRID not in flagged(town)
    listed = flagged(town) | {r["grid"] for r in town["recurring"]["items"]}
    assert listed and all(g.startswith(TOWN) for g in listed)
    assert town["hotspots"]["tested"] < whole["hotspots"]["tested"]
    outline = {f["properties"]["code"] for f in town["map"]["outline"]["geojson"]["features"]}
    assert outline and all(c.startswith(TOWN) for c in outline)
    # A community other than the planted grid's sees neither.
    other = next(
        c
        for (c,) in conn.execute(
            "SELECT code FROM region WHERE level = 'community' AND valid_to IS NULL ORDER BY code"
        )
        if not planted["grid"].startswith(c)
    )
    data = run(conn, db, "2026-11", Scope(other))
    listed = flagged(data) | {r["grid"] for r in data["recurring"]["items"]}
    assert planted["grid"] not in listed and all(g.startswith(other) for g in listed)


def test_the_payload_is_json_with_its_tables(conn, db, planted):
    data = run(conn, db, "2026-11")
    assert orjson.loads(orjson.dumps(data)) == data
    tables = data["tables"]
    assert len(tables["hotspots"]["rows"]) == len(data["hotspots"]["items"])
    assert len(tables["recurring"]["rows"]) == len(data["recurring"]["items"])
    assert tables["recurring"]["personal"] == ["address"]
    assert all(len(r) == len(tables["hotspots"]["columns"]) for r in tables["hotspots"]["rows"])
    grids = {f["properties"]["grid"] for f in data["hotspots"]["geojson"]["features"]}
    assert planted["grid"] in grids
    (s, w), (n, e) = data["map"]["bounds"]
    assert s < n and w < e


def test_a_gcj02_basemap_shifts_what_is_drawn(conn, db):
    wgs = run(conn, db, "2026-11")
    gcj = run(conn, db, "2026-11", basemap_crs="gcj02")
    a, b = wgs["recurring"]["items"][0], gcj["recurring"]["items"][0]
    assert a["count"] == b["count"]
    per_lon, per_lat = metres_per_degree(a["lat"])
    shift = (((b["lon"] - a["lon"]) * per_lon) ** 2 + ((b["lat"] - a["lat"]) * per_lat) ** 2) ** 0.5
    assert 100 < shift < 1000  # GCJ-02 moves Jiaxing by a few hundred metres


@pytest.mark.parametrize(
    "scope, period",
    [
        (NOWHERE, parse_period("2026-11")),
        (Scope("9999"), parse_period("2026-11")),
        (Scope(""), parse_period("2001-01")),
        (Scope(""), Period("custom", date(2026, 11, 20), date(2026, 11, 20))),
        (Scope(""), parse_period("2026")),
        (Scope(""), parse_period("2026-W47")),
    ],
)
def test_odd_requests_answer_without_error(conn, db, scope, period):
    data = hotspots.compute(conn, Query(scope, period.cut(DEMO_NOW, db.tz), DEMO_NOW, db.tz, db))
    orjson.dumps(data)
    if scope.empty or scope.prefix == "9999":
        assert data["hotspots"]["items"] == [] and data["recurring"]["items"] == []
        assert data["map"]["bounds"] is None
    if period.start.year == 2001:
        assert data["hotspots"]["items"] == []
    if period.kind == "year":
        # The demo's history is one year: no earlier year to compare with, so no test (not
        # every grid "rising" against a baseline of zero).
        assert data["hotspots"]["baseline"] == [] and data["hotspots"]["items"] == []


def test_planting_twice_plants_once(conn, db, planted):
    before = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
    hotspot_plant.after_load(
        conn, db, build_territory("small", 7), 7, DEMO_NOW, echo=lambda _m: None
    )
    assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] == before
    conn.rollback()


def test_planted_tickets_are_counted_like_written_ones(conn, planted):
    """The planted tickets' events recount to the rollup rows they added (the rules of
    queries/sql/rebuild_stat_daily.sql for the steps they took)."""
    lo, hi = planted["ticket_ids"]
    recount = conn.execute(
        "SELECT count(*) FILTER (WHERE e.action = 'create'),"
        " count(*) FILTER (WHERE e.action = 'self_resolve'),"
        " count(*) FILTER (WHERE e.to_state = 'closed'),"
        " count(*) FILTER (WHERE e.to_state = 'closed' AND t.closed_on_time)"
        " FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id"
        " AND t.created_at = e.ticket_created_at WHERE t.id BETWEEN %s AND %s",
        (lo, hi),
    ).fetchone()
    assert recount[0] == recount[1] == recount[2] == planted["tickets"]
    assert recount[3] == planted["tickets"]  # resolved within the hour: on time
    states = conn.execute(
        "SELECT array_agg(DISTINCT state), bool_and(self_resolved), count(micro_grid_code)"
        " FROM ticket WHERE id BETWEEN %s AND %s",
        (lo, hi),
    ).fetchone()
    assert states[0] == ["closed"] and states[1] and states[2] > 0
