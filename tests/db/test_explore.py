"""The analyst workbench's queries (queries.explore) on the small demo, real PostgreSQL/PostGIS:
counts, facets, series and the table equal independently written SQL for random filter states;
the viewer's jurisdiction always applies; saved views; the drawer's event log; exports.

The direct SQL below is written from the rules stated in the product's docstrings, not copied
from queries/explore: a discrepancy means one of the two is wrong."""

from __future__ import annotations

import csv
import uuid
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from dashboard.explore.export import HEADER, filter_lines, write_file
from domain import masking
from domain.access import Role, is_sensitive_category
from domain.explore.filters import (
    CLOCK_NAMES_ZH,
    FLAG_NAMES_ZH,
    SORTS,
    STAGES,
    STATES,
    SUPERVISION_NAMES_ZH,
    Filters,
    encode,
)
from domain.explore.periods import CUSTOM, QUICK_NAMES_ZH, quick_range
from domain.explore.timeline import stage_runs
from domain.vocabulary import SOURCES, URGENCIES
from queries import accounts
from queries.db import connect
from queries.explore import drawer, table
from queries.explore.summary import WEEKLY_AFTER_DAYS, summary
from queries.explore.views import MAX_VIEWS, ViewError, delete_view, list_views, save_view
from queries.explore.where import AreaError, resolve, where
from queries.scope import NOWHERE, Scope
from queries.viewer import Viewer
from tests.conftest import DEMO_NOW, database_copy

pytestmark = pytest.mark.db

TZ = ZoneInfo("Asia/Shanghai")
NOW = DEMO_NOW
WHOLE = Scope("")
TOWN = "330402007"
# A ticket of another town, added to this module's copy of the demo (the small demo has one
# town): no viewer of TOWN may ever see it.
OTHER_TOWN = "330402099"
OTHER_GRID = OTHER_TOWN + "001001"
OTHER_NO = "X-OTHER-TOWN-1"


@pytest.fixture(scope="module")
def db(small_demo_template):
    with database_copy(small_demo_template) as settings:
        with connect(settings) as conn:
            conn.execute(
                "INSERT INTO ticket (created_at, ticket_no, source, category_code, urgency,"
                " state, stage, stage_started_at, stage_warn_at, stage_due_at, grid_code, geom,"
                " address, updated_at)"
                " VALUES (%(at)s, %(no)s, 'hotline', '0901', 'normal', 'reported', 'T2', %(at)s,"
                " %(at)s, %(at)s, %(grid)s, ST_SetSRID(ST_MakePoint(121.5, 31.2), 4326),"
                " '别的街道某路1号', %(at)s)",
                {"at": NOW - timedelta(days=2), "no": OTHER_NO, "grid": OTHER_GRID},
            )
            conn.commit()
        yield settings


@pytest.fixture(scope="module")
def conn(db):
    with connect(db) as c:
        yield c


@pytest.fixture(scope="module")
def demo(conn) -> dict[str, Any]:
    """Codes and values of the demo to draw filters from."""

    def col(q: str) -> list:
        return [r[0] for r in conn.execute(q).fetchall()]

    micro_with_tickets = col(
        "SELECT DISTINCT micro_grid_code FROM ticket WHERE micro_grid_code IS NOT NULL"
        " ORDER BY 1 LIMIT 12"
    )
    return {
        "regions": col("SELECT code FROM region WHERE valid_to IS NULL ORDER BY code"),
        "communities": col(
            "SELECT code FROM region WHERE valid_to IS NULL AND level = 'community' ORDER BY 1"
        ),
        "grids": col("SELECT code FROM grid WHERE valid_to IS NULL ORDER BY code"),
        "micro": micro_with_tickets
        + col("SELECT code FROM micro_grid WHERE valid_to IS NULL ORDER BY code DESC LIMIT 3"),
        "cats": col("SELECT DISTINCT category_code FROM ticket ORDER BY 1")
        + col("SELECT DISTINCT left(category_code, 2) FROM ticket ORDER BY 1"),
        "depts": col(
            "SELECT DISTINCT lead_department_id FROM ticket"
            " WHERE lead_department_id IS NOT NULL ORDER BY 1"
        ),
        "lon_cuts": _cuts(col("SELECT DISTINCT ST_X(geom) FROM ticket ORDER BY 1")),
        "lat_cuts": _cuts(col("SELECT DISTINCT ST_Y(geom) FROM ticket ORDER BY 1")),
        "micro_kind": set(col("SELECT code FROM micro_grid WHERE valid_to IS NULL")),
        "micro_parent": dict(
            conn.execute("SELECT code, grid_code FROM micro_grid WHERE valid_to IS NULL")
        ),
    }


def _cuts(values: list[float]) -> list[float]:
    """Box edges at least 2e-5° (about 2 m) from every ticket: whether a point exactly on or
    a hair beside a drawn edge is inside is tested on its own (test_box_edge_…)."""
    out = [round(values[0] - 0.01, 6), round(values[-1] + 0.01, 6)]
    for a, b in zip(values, values[1:], strict=False):
        if b - a >= 4e-5:
            out.append(round((a + b) / 2, 6))
    return sorted(out)


# ---- the direct SQL ------------------------------------------------------------------------------

DIRECT_CLOCK = """CASE
  WHEN t.state IN ('closed', 'surveyed', 'rejected') THEN
    CASE WHEN t.closed_on_time IS TRUE THEN 'closed_on_time'
         WHEN t.closed_on_time IS FALSE THEN 'closed_late'
         ELSE 'none' END
  WHEN t.state <> 'suspended' AND t.stage_due_at < %(now)s THEN 'overdue'
  WHEN t.state <> 'suspended' AND t.stage_warn_at <= %(now)s THEN 'warning'
  ELSE 'normal' END"""

# facet name -> the expression it counts by
DIRECT_FACETS = {
    "state": "t.state",
    "stage": "t.stage",
    "source": "t.source",
    "urgency": "t.urgency",
    "clock": DIRECT_CLOCK,
    "sup": "t.supervision",
    "reworked": "t.rework_count > 0",
    "returned": "t.return_count > 0",
    "dept": "t.lead_department_id",
    "cat": "t.category_code",
    "stype": "t.source_type",
}


def days_of(f: Filters) -> tuple[date, date]:
    if f.period == CUSTOM:
        assert f.start and f.end
        return f.start, f.end
    return quick_range(f.period, NOW.astimezone(TZ).date())


def direct_where(f: Filters, scope: str, micro: set[str]) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of ``f`` for a viewer of ``scope``, written plainly."""
    first, last = days_of(f)
    p: dict[str, Any] = {"now": NOW, "first": first, "last": last, "like": scope + "%"}
    w = ["t.grid_code LIKE %(like)s"]
    basis = "t.closed_at" if f.basis == "closed" else "t.created_at"
    w.append(
        f"{basis} >= (%(first)s::date)::timestamp AT TIME ZONE 'Asia/Shanghai'"
        f" AND {basis} < (%(last)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'"
    )
    if f.area in micro:
        w.append("t.micro_grid_code = %(area)s")
        p["area"] = f.area
    elif f.area:
        w.append("t.grid_code LIKE %(area_like)s")
        p["area_like"] = f.area + "%"
    if f.cat:
        ors = []
        for i, c in enumerate(f.cat):
            p[f"cat{i}"] = c
            ors.append(
                f"substr(t.category_code, 1, 2) = %(cat{i})s"
                if len(c) == 2
                else f"t.category_code = %(cat{i})s"
            )
        w.append("(" + " OR ".join(ors) + ")")
    for name, column in (
        ("state", "t.state"),
        ("stage", "t.stage"),
        ("source", "t.source"),
        ("urgency", "t.urgency"),
        ("stype", "t.source_type"),
        ("sup", "t.supervision"),
        ("dept", "t.lead_department_id"),
    ):
        vals = getattr(f, name)
        if vals:
            keys = []
            for i, v in enumerate(vals):
                p[f"{name}{i}"] = v
                keys.append(f"%({name}{i})s")
            w.append(f"{column} IN ({', '.join(keys)})")
    if f.clock:
        w.append(f"({DIRECT_CLOCK}) IN ({', '.join(repr(c) for c in f.clock)})")
    if f.flag:
        conds = {"reworked": "t.rework_count > 0", "returned": "t.return_count > 0"}
        w.append("(" + " OR ".join(conds[x] for x in f.flag) + ")")
    if f.bbox:
        p.update(zip(("w", "s", "e", "n"), f.bbox, strict=True))
        w.append("ST_X(t.geom) BETWEEN %(w)s AND %(e)s AND ST_Y(t.geom) BETWEEN %(s)s AND %(n)s")
    return " AND ".join(w), p


def direct_counts(conn, f: Filters, scope: str, micro: set[str]) -> dict[str, Any]:
    w, p = direct_where(f, scope, micro)
    out: dict[str, Any] = {
        "total": conn.execute(f"SELECT count(*) FROM ticket t WHERE {w}", p).fetchone()[0]
    }
    for name, expr in DIRECT_FACETS.items():
        out[name] = dict(
            conn.execute(f"SELECT {expr}, count(*) FROM ticket t WHERE {w} GROUP BY 1", p)
        )
    out["grids"] = dict(
        conn.execute(f"SELECT t.grid_code, count(*) FROM ticket t WHERE {w} GROUP BY 1", p)
    )
    basis = "t.closed_at" if f.basis == "closed" else "t.created_at"
    local = f"({basis} AT TIME ZONE 'Asia/Shanghai')"
    out["days"] = dict(
        conn.execute(f"SELECT {local}::date, count(*) FROM ticket t WHERE {w} GROUP BY 1", p)
    )
    out["pattern"] = {
        (int(d), int(h)): n
        for d, h, n in conn.execute(
            f"SELECT extract(isodow FROM {local}), extract(hour FROM {local}), count(*)"
            f" FROM ticket t WHERE {w} GROUP BY 1, 2",
            p,
        )
    }
    return out


# ---- strategies ------------------------------------------------------------------------------

_DIMS = ("cat", "state", "stage", "source", "urgency", "clock", "sup", "flag", "dept", "bbox")
DEMO_FIRST, DEMO_LAST = date(2025, 11, 20), date(2026, 11, 30)  # the demo: a year to DEMO_NOW


def _some(values) -> st.SearchStrategy[tuple]:
    return st.lists(st.sampled_from(list(values)), min_size=1, max_size=3, unique=True).map(tuple)


def filters_for(demo: dict[str, Any]) -> st.SearchStrategy[Filters]:
    areas = st.one_of(
        st.just(""),
        st.just(""),
        st.sampled_from(demo["regions"]),
        st.sampled_from(demo["grids"]),
        st.sampled_from(demo["micro"]),
    )

    @st.composite
    def period(draw) -> dict[str, Any]:
        if draw(st.booleans()):
            return {"period": draw(st.sampled_from(tuple(QUICK_NAMES_ZH)))}
        start = draw(st.dates(DEMO_FIRST, DEMO_LAST - timedelta(days=20)))
        end = min(start + timedelta(days=draw(st.integers(20, 400))), DEMO_LAST)
        return {"period": CUSTOM, "start": start, "end": end}

    @st.composite
    def bbox(draw) -> tuple[float, float, float, float]:
        w, e = sorted(
            draw(st.lists(st.sampled_from(demo["lon_cuts"]), min_size=2, max_size=2, unique=True))
        )
        s, n = sorted(
            draw(st.lists(st.sampled_from(demo["lat_cuts"]), min_size=2, max_size=2, unique=True))
        )
        return (w, s, e, n)

    values = {
        "cat": _some(demo["cats"] + ["0999"]),
        "state": _some(STATES),
        "stage": _some(STAGES),
        "source": _some(SOURCES),
        "urgency": _some(URGENCIES),
        "clock": _some(CLOCK_NAMES_ZH),
        "sup": _some(SUPERVISION_NAMES_ZH),
        "flag": _some(FLAG_NAMES_ZH),
        "dept": _some([*demo["depts"], 999_999]),
        "bbox": bbox(),
    }

    @st.composite
    def build(draw) -> Filters:
        dims = draw(st.lists(st.sampled_from(_DIMS), max_size=2, unique=True))
        return Filters(
            area=draw(areas),
            basis=draw(st.sampled_from(("created", "closed"))),
            sort=draw(st.sampled_from([*SORTS, *("-" + s for s in SORTS)])),
            **draw(period()),
            **{d: draw(values[d]) for d in dims},
        )

    return build()


# ---- summary equals direct counts ---------------------------------------------------------------


def test_summary_and_table_equal_direct_sql_for_random_filters(conn, demo):
    seen: list[int] = []
    scopes = ["", TOWN, demo["communities"][0]]

    @settings(max_examples=40, deadline=None, derandomize=True, database=None)
    @given(filters_for(demo), st.sampled_from(scopes))
    def check(f: Filters, prefix: str):
        scope = Scope(prefix)
        if f.area and not f.area.startswith(prefix):
            with pytest.raises(AreaError):
                resolve(conn, f, scope, NOW, TZ)
            seen.append(-1)
            return
        view = resolve(conn, f, scope, NOW, TZ)
        assert view.scope.within(scope)
        assert (view.first_day, view.last_day) == days_of(f)
        clause, params = where(view)
        assert "t.grid_code LIKE %(scope)s" in clause.as_string(conn)
        assert params["scope"] == view.scope.like

        got = summary(conn, view)
        want = direct_counts(conn, f, prefix, demo["micro_kind"])
        assert got.total == want["total"], f
        for name in DIRECT_FACETS:
            assert got.facets[name] == want[name], (name, f)
        assert got.grids == want["grids"], f
        assert got.pattern == want["pattern"], f
        assert sum(n for _, n in got.series) == got.total
        assert sum(got.pattern.values()) == got.total
        assert sum(got.grids.values()) == got.total
        # the series: every day (or ISO week) of the period, in order, with direct counts
        first, last = days_of(f)
        span = (last - first).days + 1
        assert got.weekly == (span > WEEKLY_AFTER_DAYS)
        if got.weekly:
            monday = first - timedelta(days=first.weekday())
            weeks = {}
            while monday <= last:
                weeks[monday] = 0
                monday += timedelta(days=7)
            for d, n in want["days"].items():
                weeks[d - timedelta(days=d.weekday())] += n
            assert got.series == sorted(weeks.items()), f
        else:
            assert got.series == [
                (first + timedelta(i), want["days"].get(first + timedelta(i), 0))
                for i in range(span)
            ], f

        assert table.count(conn, view) == got.total
        rows = table.page(conn, view, 0, table.MAX_PAGE)
        assert len(rows) == min(got.total, table.MAX_PAGE)
        check_order(conn, f, prefix, demo["micro_kind"], rows)
        seen.append(got.total)

    check()
    # the draws were not all empty or all refused
    assert sum(1 for n in seen if n > 0) >= 12, seen
    assert -1 in seen


def check_order(conn, f: Filters, prefix: str, micro: set[str], rows: list[dict]) -> None:
    """``rows`` are the first rows of the direct filter's tickets in the order asked: by the
    column (NULLs last), ties by id in the same direction."""
    col = f.sort.lstrip("-")
    desc = f.sort.startswith("-")
    w, p = direct_where(f, prefix, micro)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            f"SELECT t.id, t.{col} AS v, {DIRECT_CLOCK} AS clock FROM ticket t WHERE {w}", p
        )
        everything = cur.fetchall()
    present = [r for r in everything if r["v"] is not None]
    nulls = [r for r in everything if r["v"] is None]
    present.sort(key=lambda r: (r["v"], r["id"]), reverse=desc)
    nulls.sort(key=lambda r: r["id"], reverse=desc)
    expected = [r["id"] for r in present + nulls]
    assert [r["id"] for r in rows] == expected[: len(rows)], f.sort
    clocks = {r["id"]: r["clock"] for r in everything}
    assert all(r["clock"] == clocks[r["id"]] for r in rows)


# ---- the table -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sort",
    [
        "-created_at",
        "closed_at",
        "-closed_at",
        "stage_due_at",
        "grid_code",
        "-supervision",
        "rework_count",
        "state",
    ],
)
def test_paging_through_a_view_gives_every_row_once_in_order(conn, demo, sort):
    f = Filters(period="quarter", sort=sort)
    view = resolve(conn, f, WHOLE, NOW, TZ)
    total = table.count(conn, view)
    assert 500 < total < 3000  # several pages
    rows: list[dict] = []
    for offset in range(0, total + 200, 200):
        rows += table.page(conn, view, offset, 200)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == total
    # all of them, in the order asked: the pages join up without gaps or repeats
    check_order(conn, f, "", demo["micro_kind"], rows)


def test_page_bounds_raise(conn):
    view = resolve(conn, Filters(), WHOLE, NOW, TZ)
    for offset, limit in [
        (-1, 10),
        (table.MAX_OFFSET + 1, 10),
        (0, 0),
        (0, -5),
        (0, table.MAX_PAGE + 1),
    ]:
        with pytest.raises(ValueError):
            table.page(conn, view, offset, limit)
    assert len(table.page(conn, view, table.MAX_OFFSET, 1)) == 0  # the last allowed offset
    with pytest.raises(ValueError):
        table.order_by("password")


def test_polygon_filter_equals_postgis_containment(conn):
    x0, y0, x1, y1 = conn.execute(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent(geom)::geometry AS e FROM ticket WHERE grid_code LIKE %s) b",
        (TOWN + "%",),
    ).fetchone()
    # a triangle over part of the town, and a bow tie (a ring that crosses itself)
    tri = ((x0, y0), (x1, y0), ((x0 + x1) / 2, y1))
    bow = ((x0, y0), (x1, y1), (x1, y0), (x0, y1))
    for poly in (tri, bow):
        f = Filters(period="365d", poly=poly)
        view = resolve(conn, f, WHOLE, NOW, TZ)
        wkt = "POLYGON((" + ",".join(f"{x!r} {y!r}" for x, y in (*poly, poly[0])) + "))"
        want = conn.execute(
            "SELECT count(*) FROM ticket t WHERE t.created_at >= %(s)s AND t.created_at < %(e)s"
            " AND ST_Covers(ST_MakeValid(ST_GeomFromText(%(wkt)s, 4326)), t.geom)",
            {"s": view.start, "e": view.end, "wkt": wkt},
        ).fetchone()[0]
        assert (
            0
            < summary(conn, view).total
            == want
            < table.count(conn, resolve(conn, Filters(period="365d"), WHOLE, NOW, TZ))
        )


def test_box_edge_a_hair_beside_a_ticket(conn):
    """A drawn box whose edge passes 1e-6° (about 10 cm) beside a ticket: inside on one side,
    outside on the other (PostGIS's index boxes are float4, coarser than that)."""
    tid, x, y = conn.execute(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM ticket WHERE created_at >= %s"
        " AND grid_code LIKE %s ORDER BY id LIMIT 1",
        (NOW - timedelta(days=300), TOWN + "%"),
    ).fetchone()
    d, eps = 2e-4, 1e-6
    boxes = {
        "east edge": ((x - d, y - d, x - eps, y + d), (x - d, y - d, x + eps, y + d)),
        "west edge": ((x + eps, y - d, x + d, y + d), (x - eps, y - d, x + d, y + d)),
        "north edge": ((x - d, y - d, x + d, y - eps), (x - d, y - d, x + d, y + eps)),
        "south edge": ((x - d, y + eps, x + d, y + d), (x - d, y - eps, x + d, y + d)),
    }
    for edge, (outside, inside) in boxes.items():
        for box, expected in ((outside, False), (inside, True)):
            view = resolve(conn, Filters(period="365d", bbox=box), WHOLE, NOW, TZ)
            ids = {r["id"] for r in table.page(conn, view, 0, 500)}
            assert len(ids) < 500
            assert (tid in ids) is expected, (edge, box, (x, y))
            assert summary(conn, view).total == table.count(conn, view) == len(ids)


# ---- jurisdiction ------------------------------------------------------------------------------


def test_a_town_viewer_never_sees_another_town(conn, demo):
    other_id = conn.execute("SELECT id FROM ticket WHERE ticket_no = %s", (OTHER_NO,)).fetchone()[0]
    for prefix in (TOWN, demo["communities"][0]):
        scope = Scope(prefix)
        for f in (Filters(period="365d"), Filters(period="30d", state=("closed", "surveyed"))):
            view = resolve(conn, f, scope, NOW, TZ)
            s = summary(conn, view)
            assert all(g.startswith(prefix) for g in s.grids)
            rows = table.page(conn, view, 0, 500)
            assert rows and all(r["grid_code"].startswith(prefix) for r in rows)
            assert other_id not in {r["id"] for r in rows}
        assert drawer.ticket(conn, scope, other_id, NOW) is None
    # the other town's viewer sees its ticket and nothing of TOWN
    view = resolve(conn, Filters(period="30d"), Scope(OTHER_TOWN), NOW, TZ)
    assert summary(conn, view).grids == {OTHER_GRID: 1}
    assert drawer.ticket(conn, Scope(OTHER_TOWN), other_id, NOW)["ticket"]["id"] == other_id
    # the whole database sees both
    whole = summary(conn, resolve(conn, Filters(period="30d"), WHOLE, NOW, TZ))
    town = summary(conn, resolve(conn, Filters(period="30d"), Scope(TOWN), NOW, TZ))
    assert whole.total == town.total + 1
    # nobody signed in sees nothing
    assert summary(conn, resolve(conn, Filters(period="365d"), NOWHERE, NOW, TZ)).total == 0


def test_an_area_outside_the_scope_is_refused(conn, demo):
    a, b = demo["communities"][:2]
    grid_b = next(g for g in demo["grids"] if g.startswith(b))
    micro_b = next(m for m in sorted(demo["micro_kind"]) if m.startswith(b))
    scope = Scope(a)
    for area in (b, grid_b, micro_b, TOWN, "3304", "", OTHER_TOWN, a + "999", "330402007024x"):
        if area == "":
            assert resolve(conn, Filters(area=area), scope, NOW, TZ).scope == scope
            continue
        with pytest.raises(AreaError):
            resolve(conn, Filters(area=area), scope, NOW, TZ)
    # inside: a grid narrows the scope, a micro-grid narrows to its grid and names itself
    grid_a = next(g for g in demo["grids"] if g.startswith(a))
    assert resolve(conn, Filters(area=grid_a), scope, NOW, TZ).scope == Scope(grid_a)
    micro_a = next(m for m in sorted(demo["micro_kind"]) if m.startswith(a))
    v = resolve(conn, Filters(area=micro_a), scope, NOW, TZ)
    assert (v.scope, v.micro_grid) == (Scope(demo["micro_parent"][micro_a]), micro_a)


# ---- the drawer ----------------------------------------------------------------------------------


def _interesting_tickets(conn) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "(SELECT id FROM ticket WHERE return_count > 0 AND extension_count > 0 LIMIT 2)"
            " UNION (SELECT id FROM ticket WHERE rework_count > 0 LIMIT 2)"
            " UNION (SELECT id FROM ticket WHERE state = 'suspended' LIMIT 2)"
            " UNION (SELECT id FROM ticket WHERE state = 'rejected' LIMIT 1)"
            " UNION (SELECT id FROM ticket WHERE state = 'in_progress' LIMIT 2)"
            " UNION (SELECT ticket_id FROM ticket_event GROUP BY 1 ORDER BY count(*) DESC, 1"
            "        LIMIT 1)"
        )
    ]


def test_drawer_events_are_the_ticket_event_rows_in_order(conn):
    ids = _interesting_tickets(conn)
    assert len(ids) >= 8
    for tid in ids:
        d = drawer.ticket(conn, Scope(TOWN), tid, NOW)
        assert d is not None and d["ticket"]["id"] == tid
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "SELECT at, action, from_state, to_state, actor_kind, actor_id, task_id,"
                " comment, data FROM ticket_event WHERE ticket_id = %s ORDER BY at, id",
                (tid,),
            )
            assert d["events"] == cur.fetchall()
            cur.execute(
                "SELECT id, department_id, role, state FROM ticket_task WHERE ticket_id = %s"
                " ORDER BY dispatched_at, id",
                (tid,),
            )
            tasks = cur.fetchall()
        assert [
            {k: t[k] for k in ("id", "department_id", "role", "state")} for t in d["tasks"]
        ] == tasks
        # outside the scope: nothing at all
        assert drawer.ticket(conn, Scope(OTHER_TOWN), tid, NOW) is None
    assert drawer.ticket(conn, WHOLE, 10**12, NOW) is None


def test_drawer_clock_of_open_tickets_matches_the_ticket(conn):
    """For every open, running demo ticket, the timeline's running stage is the ticket's stage
    and is due at its stage_due_at."""
    from domain.clock.limits import DEFAULT_STAGE_LIMITS
    from domain.clock.work_calendar import WorkCalendar
    from domain.workflow.clocks import Clocks

    clocks = Clocks(WorkCalendar(), DEFAULT_STAGE_LIMITS, TZ)
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, category_code, urgency, due_at, stage, stage_due_at, stage_warn_at"
            " FROM ticket"
            " WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended', 'need_info')"
            " AND grid_code LIKE %s ORDER BY id",
            (TOWN + "%",),
        )
        open_tickets = cur.fetchall()
    assert open_tickets
    wrong = []
    for t in open_tickets:
        events = drawer.ticket(conn, WHOLE, t["id"], NOW)["events"]
        run = stage_runs(t, events, clocks)[-1]
        ticket_clock = (t["stage"], None, t["stage_due_at"], t["stage_warn_at"])
        if (run.stage, run.ended, run.due_at, run.warn_at) != ticket_clock:
            wrong.append((t["id"], events[-1]["action"], run.stage, run.due_at, t["stage_due_at"]))
    assert not wrong, wrong


# ---- saved views ---------------------------------------------------------------------------------


@pytest.fixture
def users(db):
    with connect(db) as c:
        ids = [
            accounts.insert_user(c, name, name, "analyst", TOWN, "not-a-hash")
            for name in (f"ana-{uuid.uuid4().hex[:8]}", f"ana-{uuid.uuid4().hex[:8]}")
        ]
        c.commit()
    return ids


def test_saved_views_per_user(db, users):
    me, other = users
    with connect(db) as c:
        first = save_view(c, me, "  超期办结  ", "clock=closed_late", NOW)
        save_view(c, me, "城管", "cat=09", NOW)
        assert [r[1] for r in list_views(c, me)] == sorted(["超期办结", "城管"])  # by name
        assert (first, "超期办结", "clock=closed_late") in list_views(c, me)
        # the same name overwrites, keeping the id
        again = save_view(c, me, "超期办结", "clock=closed_late&period=last_quarter", NOW)
        assert again == first
        assert dict((n, q) for _, n, q in list_views(c, me))["超期办结"] == (
            "clock=closed_late&period=last_quarter"
        )
        assert len(list_views(c, me)) == 2
        # another user sees none of them and cannot delete them
        assert list_views(c, other) == []
        assert delete_view(c, other, first) is False
        assert len(list_views(c, me)) == 2
        # another page's views are apart
        save_view(c, me, "城管", "x=1", NOW, page="/map")
        assert [r[2] for r in list_views(c, me, "/map")] == ["x=1"]
        assert dict((n, q) for _, n, q in list_views(c, me))["城管"] == "cat=09"
        assert delete_view(c, me, first) is True
        assert delete_view(c, me, first) is False
        assert [r[1] for r in list_views(c, me)] == ["城管"]
    # what was saved is committed (seen from another connection)
    with connect(db) as c:
        assert [r[1] for r in list_views(c, me)] == ["城管"]


def test_a_saved_view_is_committed_at_once(db, users):
    me, _ = users
    with connect(db) as c1, connect(db) as c2:
        vid = save_view(c1, me, "立即可见", "cat=09", NOW)
        assert (vid, "立即可见", "cat=09") in list_views(c2, me)
        c2.rollback()
        assert delete_view(c1, me, vid) is True
        assert list_views(c2, me) == []


def test_saved_view_limits(db, users):
    me, _ = users
    with connect(db) as c:
        for bad_name in ("", "   ", "x" * 61):
            with pytest.raises(ViewError):
                save_view(c, me, bad_name, "cat=09", NOW)
        with pytest.raises(ViewError):
            save_view(c, me, "long", "x" * 4001, NOW)
        save_view(c, me, "x" * 60, "q" * 4000, NOW)  # the limits themselves are allowed
        for i in range(MAX_VIEWS - 1):
            save_view(c, me, f"v{i:03d}", "cat=09", NOW)
        assert len(list_views(c, me)) == MAX_VIEWS
        with pytest.raises(ViewError):
            save_view(c, me, "one too many", "cat=09", NOW)
        # overwriting one at the limit is still allowed
        save_view(c, me, "v000", "cat=03", NOW)
        assert len(list_views(c, me)) == MAX_VIEWS
        # the refused one left nothing behind and the connection still works
        assert "one too many" not in {r[1] for r in list_views(c, me)}


# ---- exports -------------------------------------------------------------------------------------


def _viewer(role: Role) -> Viewer:
    return Viewer(kind="user", id=1, name=f"{role.value}-1", role=role, scope=Scope(TOWN))


def _export(db, tmp_path, role: Role, fmt: str, f: Filters):
    viewer = _viewer(role)
    with connect(db) as c:
        view = resolve(c, f, viewer.scope, NOW, TZ)
        total = table.count(c, view)
        lines = filter_lines(view, encode(f), viewer, NOW, TZ, total)
        progress: list[int] = []
        path = tmp_path / f"export.{fmt}"
        n = write_file(table.stream(c, view), path, fmt, viewer.masker, TZ, lines, progress.append)
        c.rollback()
        with c.cursor(row_factory=dict_row) as cur:
            w, p = direct_where(f, TOWN, set())
            cur.execute(
                f"SELECT t.ticket_no, t.address, t.category_code, ST_X(t.geom) AS lon,"
                f" ST_Y(t.geom) AS lat FROM ticket t WHERE {w}",
                p,
            )
            raw = {r["ticket_no"]: r for r in cur.fetchall()}
    assert n == total == len(raw) > 500
    assert progress == [2000 * i for i in range(1, total // 2000 + 1)]
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        sheets = None
    else:
        wb = openpyxl.load_workbook(path, read_only=True)
        rows = [
            ["" if v is None else str(v) for v in r] for r in wb["事件"].iter_rows(values_only=True)
        ]
        sheets = {
            "names": wb.sheetnames,
            "筛选条件": [list(r) for r in wb["筛选条件"].iter_rows(values_only=True)],
        }
        wb.close()
    assert tuple(rows[0]) == HEADER
    body = [dict(zip(HEADER, r, strict=True)) for r in rows[1:]]
    assert len(body) == total
    assert {r["事件编号"] for r in body} == set(raw)
    return body, raw, sheets, total


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_analysts_export_is_masked(db, tmp_path, fmt):
    f = Filters(period="last_quarter", sort="grid_code")
    body, raw, sheets, total = _export(db, tmp_path, Role.ANALYST, fmt, f)
    cut = 0
    for r in body:
        src = raw[r["事件编号"]]
        assert r["地址"] == (masking.address(src["address"]) or "")
        assert r["地址"] != src["address"]  # every demo address has a door number
        assert "号" not in r["地址"]
        assert r["经度"] in ("", None) and r["纬度"] in ("", None)
        cut += 1
    assert cut == total
    if fmt == "xlsx":
        assert sheets["names"] == ["事件", "筛选条件"]
        meta = {row[0]: row[1] for row in sheets["筛选条件"] if row and row[0]}
        assert meta["事件数"] == str(total)
        assert meta["导出人"] == "analyst-1"
        assert "2026-11-25 15:30:00" == meta["导出时间"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_dispatchers_export_has_addresses_and_points(db, tmp_path, fmt):
    f = Filters(period="last_quarter", sort="-created_at")
    body, raw, sheets, _ = _export(db, tmp_path, Role.DISPATCHER, fmt, f)
    for r in body:
        src = raw[r["事件编号"]]
        assert r["地址"] == src["address"]
        assert float(r["经度"]) == pytest.approx(src["lon"], abs=1e-6)
        assert float(r["纬度"]) == pytest.approx(src["lat"], abs=1e-6)
    if fmt == "xlsx":
        assert sheets["names"] == ["事件", "筛选条件"]


def test_a_leaders_export_has_no_points_of_sensitive_categories(db, tmp_path):
    f = Filters(period="year")  # over 2000 rows: progress is reported
    body, raw, _, total = _export(db, tmp_path, Role.LEADER, "csv", f)
    assert total > 4000
    sensitive = 0
    for r in body:
        src = raw[r["事件编号"]]
        assert r["地址"] == src["address"]
        if is_sensitive_category(src["category_code"]):
            sensitive += 1
            assert r["经度"] == "" and r["纬度"] == ""
        else:
            assert float(r["经度"]) == pytest.approx(src["lon"], abs=1e-6)
    assert sensitive > 0
