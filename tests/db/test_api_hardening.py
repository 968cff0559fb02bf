"""Hardening of the ingest API (issue #9, deliverable 7) against real PostGIS + Redis: the point
of a new ticket checked against the token's jurisdiction and the given grid (with the tolerance
setting), actors and workers checked against the jurisdiction, token roles and the deployment
bound, masking by the token's tier, audit rows of personal-data reads, and the body limit on
chunked bodies."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from domain.access import Role
from gridscope.api.tokens import create_token
from gridscope.cli import main as cli
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW
from tests.db.test_api import Api, error_of, fields_of

pytestmark = pytest.mark.db

A = "330402007024"  # two of the small demo's five communities (town 330402007)
B = "330402007029"


class Hardened(Api):
    """``Api`` with a read-write dispatcher token of community A (``narrow``) and helpers for
    points at a chosen distance from A's grids."""

    def token(self, scope: str, role: Role = Role.DISPATCHER, can_write: bool = True) -> str:
        with connect(self.settings) as conn:
            secret = create_token(conn, f"{role}-{scope}", Scope(scope), can_write, role)[1]
            conn.commit()
        return secret

    def outside_a(self, lo_m: float, hi_m: float) -> tuple[float, float]:
        """(lon, lat) of a point outside every grid of A, ``lo_m``–``hi_m`` metres from the
        nearest one (a grid vertex pushed outwards from its grid's centre)."""
        rows = self.sql(
            "WITH a AS (SELECT ST_Union(geom) u FROM grid WHERE valid_to IS NULL"
            "   AND code LIKE %(a)s),"
            " v AS (SELECT (ST_DumpPoints(geom)).geom p, ST_Centroid(geom) c FROM grid"
            "   WHERE valid_to IS NULL AND code LIKE %(a)s),"
            " q AS (SELECT ST_Project(p::geography, %(d)s, ST_Azimuth(c, p))::geometry q FROM v)"
            " SELECT ST_X(q), ST_Y(q) FROM q, a WHERE NOT ST_Covers(a.u, q)"
            "   AND ST_Distance(a.u::geography, q::geography) BETWEEN %(lo)s AND %(hi)s"
            " ORDER BY ST_X(q), ST_Y(q) LIMIT 1",
            {"a": A + "%", "d": (lo_m + hi_m) / 2, "lo": lo_m, "hi": hi_m},
        )
        assert rows, f"no point {lo_m}-{hi_m} m outside community {A}"
        return rows[0]

    def two_grids_apart(self, min_m: float) -> tuple[str, float, float]:
        """(grid code g1 of A, lon, lat) of a point inside another grid of A that lies more
        than ``min_m`` metres from g1."""
        rows = self.sql(
            "SELECT g1.code, ST_X(p), ST_Y(p) FROM grid g1, grid g2,"
            " LATERAL ST_PointOnSurface(g2.geom) p"
            " WHERE g1.valid_to IS NULL AND g2.valid_to IS NULL AND g1.code LIKE %(a)s"
            "   AND g2.code LIKE %(a)s AND g1.code <> g2.code"
            "   AND ST_Distance(g1.geom::geography, p::geography) > %(m)s"
            " ORDER BY g1.code, g2.code LIMIT 1",
            {"a": A + "%", "m": min_m},
        )
        return rows[0]

    def far_point_of_b(self) -> tuple[float, float, str]:
        """(lon, lat, grid) of a point inside a grid of B, more than 300 m from every grid of A."""
        return self.sql(
            "SELECT ST_X(p), ST_Y(p), g.code FROM grid g, LATERAL ST_PointOnSurface(g.geom) p"
            " WHERE g.valid_to IS NULL AND g.code LIKE %(b)s AND NOT EXISTS (SELECT 1 FROM grid"
            "   a WHERE a.valid_to IS NULL AND a.code LIKE %(a)s"
            "   AND ST_DWithin(a.geom::geography, p::geography, 300))"
            " ORDER BY g.code LIMIT 1",
            {"a": A + "%", "b": B + "%"},
        )[0]

    def staff_of(self, community: str) -> int:
        """An active staff member whose region is ``community`` and who holds no grid of A
        unless ``community`` is A."""
        return self.sql(
            "SELECT s.id FROM staff s WHERE s.active AND s.region_code = %(c)s"
            " AND (%(c)s = %(a)s OR NOT EXISTS (SELECT 1 FROM staff_assignment x"
            "   WHERE x.staff_id = s.id AND x.grid_code LIKE %(al)s))"
            " ORDER BY s.id LIMIT 1",
            {"c": community, "a": A, "al": A + "%"},
        )[0][0]


@pytest.fixture
def api(demo_db):
    a = Hardened(demo_db)
    yield a
    a.close()


# ---- the point of a new ticket ------------------------------------------------------------


def test_point_outside_the_jurisdiction_is_422_lat_long(api):
    before = api.counts()
    lon, lat, grid_b = api.far_point_of_b()
    r = api.post("/api/v1/tickets", api.new_ticket(long=lon, lat=lat), token=api.narrow)
    assert "lat/long" in fields_of(r, 422)
    # With a grid of A named, the point is still far outside A: the point is what is wrong.
    _, _, grid_a = api.point()
    r = api.post(
        "/api/v1/tickets", api.new_ticket(long=lon, lat=lat, grid_code=grid_a), token=api.narrow
    )
    assert "lat/long" in fields_of(r, 422)
    # 0/0 (a GPS that never got a fix) lands nowhere, even for a whole-database token.
    for token in (api.narrow, api.rw, api.token("")):
        r = api.post("/api/v1/tickets", api.new_ticket(long=0, lat=0), token=token)
        assert "lat/long" in fields_of(r, 422)
        r = api.post(
            "/api/v1/tickets", api.new_ticket(long=0, lat=0, grid_code=grid_a), token=token
        )
        assert "lat/long" in fields_of(r, 422)
    assert api.counts() == before


def test_point_beyond_the_tolerance_of_the_given_grid_is_422_grid_code(api):
    before = api.counts()
    grid, lon, lat = api.two_grids_apart(200)
    r = api.post(
        "/api/v1/tickets", api.new_ticket(long=lon, lat=lat, grid_code=grid), token=api.narrow
    )
    problem = fields_of(r, 422)["grid_code"]
    assert "50 m" in problem and grid in problem
    assert api.counts() == before
    # Without the grid the same point is fine: it lies in another grid of A.
    r = api.post("/api/v1/tickets", api.new_ticket(long=lon, lat=lat), token=api.narrow)
    assert r.status_code == 201 and r.get_json()["grid_code"] != grid


def test_points_within_the_tolerance_are_accepted(api):
    # 20–40 m outside every grid of A: GPS error at the boundary, filed in the nearest grid.
    lon, lat = api.outside_a(20, 40)
    r = api.post("/api/v1/tickets", api.new_ticket(long=lon, lat=lat), token=api.narrow)
    assert r.status_code == 201, r.get_json()
    near = r.get_json()["grid_code"]
    assert near.startswith(A)
    # The same point names that grid explicitly: inside its tolerance too.
    r = api.post(
        "/api/v1/tickets", api.new_ticket(long=lon, lat=lat, grid_code=near), token=api.narrow
    )
    assert r.status_code == 201 and r.get_json()["grid_code"] == near
    # 70–120 m out is beyond the default 50 m ...
    before = api.counts()
    far = api.outside_a(70, 120)
    r = api.post("/api/v1/tickets", api.new_ticket(long=far[0], lat=far[1]), token=api.narrow)
    assert "lat/long" in fields_of(r, 422)
    assert api.counts() == before


def test_the_tolerance_is_a_setting(demo_db):
    a = Hardened(demo_db.model_copy(update={"point_tolerance_m": 150.0}))
    try:
        lon, lat = a.outside_a(70, 120)
        r = a.post("/api/v1/tickets", a.new_ticket(long=lon, lat=lat), token=a.narrow)
        assert r.status_code == 201 and r.get_json()["grid_code"].startswith(A)
    finally:
        a.close()


# ---- actors and workers ---------------------------------------------------------------------


def test_actor_of_another_community_is_422_actor_id(api):
    tid = api.post("/api/v1/tickets", api.new_ticket(), token=api.narrow).get_json()["id"]
    path = f"/api/v1/tickets/{tid}/transitions"
    before = api.counts()
    outsider = api.staff_of(B)
    r = api.post(path, {"action": "accept", "actor_id": outsider}, token=api.narrow)
    assert fields_of(r, 422) == {"actor_id": f"{outsider} is not active staff of your jurisdiction"}
    assert "actor_id" in fields_of(
        api.post(path, {"action": "accept", "actor_id": 10**12}, token=api.narrow), 422
    )
    assert api.counts() == before
    insider = api.staff_of(A)
    r = api.post(path, {"action": "accept", "actor_id": insider}, token=api.narrow)
    assert r.status_code == 200, r.get_json()
    timeline = api.get(f"/api/v1/tickets/{tid}", token=api.narrow).get_json()["timeline"]
    assert timeline[-1]["actor_id"] == insider


def test_staff_count_by_assignments_valid_now(api):
    """B's worker with a grid of A counts as A's staff only while the assignment is valid at
    the app's now (DEMO_NOW), not before it starts."""
    tid = api.post("/api/v1/tickets", api.new_ticket(), token=api.narrow).get_json()["id"]
    path = f"/api/v1/tickets/{tid}/transitions"
    worker = api.staff_of(B)
    _, _, grid = api.point()
    with connect(api.settings) as conn:
        conn.execute(
            "INSERT INTO staff_assignment (staff_id, grid_code, role, valid_from)"
            " VALUES (%s, %s, 'fulltime_worker', %s)",
            (worker, grid, DEMO_NOW + timedelta(days=1)),
        )
        conn.commit()
    body = {"action": "accept", "actor_id": worker}
    assert "actor_id" in fields_of(api.post(path, body, token=api.narrow), 422)
    with connect(api.settings) as conn:
        conn.execute(
            "UPDATE staff_assignment SET valid_from = %s WHERE staff_id = %s AND grid_code = %s",
            (DEMO_NOW - timedelta(days=1), worker, grid),
        )
        conn.commit()
    assert api.post(path, body, token=api.narrow).status_code == 200


def test_positions_of_another_communitys_staff_are_422(api):
    before = api.counts()
    outsider, insider = api.staff_of(B), api.staff_of(A)
    fix = {"at": DEMO_NOW.isoformat(), "lat": 30.75, "long": 120.75}
    r = api.post(
        "/api/v1/positions",
        {"positions": [{"staff_id": insider, **fix}, {"staff_id": outsider, **fix}]},
        token=api.narrow,
    )
    assert list(fields_of(r, 422)) == ["positions[1].staff_id"]
    assert api.counts() == before


# ---- tokens: the CLI, roles and the deployment bound ------------------------------------------


def test_token_create_refuses_an_empty_jurisdiction_unless_all(api):
    env = {"DATABASE_URL": api.settings.database_url}
    run = CliRunner().invoke
    for args in (
        ["--jurisdiction", ""],
        ["--jurisdiction", "  "],
        [],
        ["--all", "--jurisdiction", A],
        ["--jurisdiction", A, "--role", "root"],
    ):
        r = run(cli, ["token", "create", "--name", "x", *args], env=env)
        assert r.exit_code == 2, (args, r.output)
    assert "--all" in run(cli, ["token", "create", "--name", "x", "--jurisdiction", ""]).output
    r = run(cli, ["token", "create", "--name", "x", "--jurisdiction", "330402999"], env=env)
    assert r.exit_code == 1 and "330402999" in r.output
    assert api.sql("SELECT count(*) FROM api_token")[0][0] == 3  # the fixture's three

    whole = run(cli, ["token", "create", "--name", "city-wide", "--all"], env=env)
    assert whole.exit_code == 0, whole.output
    secret = whole.stdout.strip().splitlines()[-1]
    assert api.sql(
        "SELECT scope_prefix, role, can_write FROM api_token WHERE prefix = %s", (secret[3:11],)
    ) == [("", "dispatcher", True)]
    assert api.get("/api/v1/tickets?limit=1", token=secret).status_code == 200
    analyst = run(
        cli,
        ["token", "create", "--name", "bi", "--jurisdiction", A, "--role", "analyst"],
        env=env,
    )
    assert analyst.exit_code == 0, analyst.output
    listed = run(cli, ["token", "list"], env=env).output
    assert "analyst" in listed and "(all)" in listed
    # Creations are audited (object: the token's public prefix).
    audited = api.sql(
        "SELECT actor_kind, jurisdiction, object_ids FROM audit_event"
        " WHERE action = 'token_create' ORDER BY id"
    )
    assert [(k, j) for k, j, _ in audited] == [("cli", ""), ("cli", A)]
    assert audited[0][2] == [secret[3:11]]


def test_a_role_without_write_tickets_cannot_write(api):
    before = api.counts()
    for role in (Role.ANALYST, Role.LEADER, Role.WALL):
        token = api.token(A, role, can_write=True)  # the flag alone does not make it a writer
        assert api.get("/api/v1/tickets?limit=1", token=token).status_code == 200
        problem = fields_of(api.post("/api/v1/tickets", api.new_ticket(), token=token), 403)
        assert role.value in problem["Authorization"]
        error_of(api.post("/api/v1/tickets/1/transitions", {"action": "accept"}, token=token), 403)
    admin = api.token(A, Role.ADMIN)
    assert api.counts() == before
    assert api.post("/api/v1/tickets", api.new_ticket(), token=admin).status_code == 201


def test_tokens_are_bounded_by_the_deployment(demo_db):
    a = Hardened(demo_db.model_copy(update={"jurisdiction": A}))
    try:
        of_b, city = a.token(B), a.token("3304")
        assert "Authorization" in fields_of(a.get("/api/v1/tickets", token=of_b), 403)
        assert "Authorization" in fields_of(a.get("/api/v1/services", token=of_b), 403)
        before = a.counts()
        lon, lat, _ = a.far_point_of_b()
        r = a.post("/api/v1/tickets", a.new_ticket(long=lon, lat=lat), token=city)
        assert "lat/long" in fields_of(r, 422)  # the city token writes only inside A here
        assert a.counts() == before
        page = a.get("/api/v1/tickets?limit=500", token=city).get_json()
        assert page["tickets"] and all(t["grid_code"].startswith(A) for t in page["tickets"])
    finally:
        a.close()


# ---- masking by the token's role, audit of personal-data reads ------------------------------


def _ticket(api, **over):
    body = api.new_ticket(
        address_string="嘉兴市南湖区建设街道中山路12号3幢201室",
        description="住户张三反映楼道堵塞，电话13812341234",
        **over,
    )
    tid = api.post("/api/v1/tickets", body, token=api.narrow).get_json()["id"]
    api.post(
        f"/api/v1/tickets/{tid}/transitions",
        {"action": "accept", "comment": "已联系张三"},
        token=api.narrow,
    )
    return tid


def test_ticket_detail_is_masked_by_the_tokens_tier(api):
    tid = _ticket(api)
    analyst, leader = api.token(A, Role.ANALYST), api.token(A, Role.LEADER)
    low = api.get(f"/api/v1/tickets/{tid}", token=analyst).get_json()
    assert low["address_string"] == "嘉兴市南湖区建设街道中山路"
    assert low["description"] is None and low["lat"] is None and low["long"] is None
    assert [e["comment"] for e in low["timeline"]] == [None, None]
    high = api.get(f"/api/v1/tickets/{tid}", token=leader).get_json()
    assert high["address_string"] == "嘉兴市南湖区建设街道中山路12号3幢201室"
    assert high["description"].startswith("住户张三") and high["lat"] is not None
    assert high["timeline"][-1]["comment"] == "已联系张三"
    listed = api.get(f"/api/v1/tickets?grid_code={A}&limit=5", token=analyst).get_json()
    assert listed["tickets"] and all(t["lat"] is None for t in listed["tickets"])
    assert "13812341234" not in json.dumps(low, ensure_ascii=False)


def test_sensitive_categories_show_points_only_at_l4(api):
    tid = _ticket(api, service_code="0702")
    leader, dispatcher = api.token(A, Role.LEADER), api.token(A, Role.DISPATCHER)
    as_leader = api.get(f"/api/v1/tickets/{tid}", token=leader).get_json()
    assert as_leader["lat"] is None and as_leader["address_string"].endswith("201室")
    as_dispatcher = api.get(f"/api/v1/tickets/{tid}", token=dispatcher).get_json()
    assert as_dispatcher["lat"] is not None


def test_reads_of_personal_data_are_audited(api):
    tid = _ticket(api)
    analyst = api.token(A, Role.ANALYST)
    audit_rows = "SELECT count(*) FROM audit_event WHERE actor_kind = 'token'"
    assert api.get(f"/api/v1/tickets/{tid}", token=analyst).status_code == 200
    assert api.get("/api/v1/tickets?limit=3", token=analyst).status_code == 200
    assert api.sql(audit_rows)[0][0] == 0  # masked reads hold no L3 data
    assert api.get(f"/api/v1/tickets/{tid}", token=api.narrow).status_code == 200
    token_id = api.sql("SELECT id FROM api_token WHERE prefix = %s", (api.narrow[3:11],))[0][0]
    rows = api.sql(
        "SELECT actor_id, actor_name, role, jurisdiction, action, object, object_ids, tier, at"
        " FROM audit_event WHERE actor_kind = 'token'"
    )
    assert rows == [
        (
            token_id,
            f"{api.narrow[3:11]}/community",
            "dispatcher",
            A,
            "api_ticket_read",
            "ticket",
            [str(tid)],
            4,
            DEMO_NOW,
        )
    ]
    page = api.get("/api/v1/tickets?limit=7", token=api.narrow).get_json()["tickets"]
    listed = api.sql("SELECT count, object_ids FROM audit_event WHERE action = 'api_ticket_list'")
    assert listed == [(len(page), [str(t["id"]) for t in page])]
    # A refused read writes nothing.
    error_of(api.get("/api/v1/tickets/999999999", token=api.narrow), 404)
    assert api.sql(audit_rows)[0][0] == 2


# ---- body limit ------------------------------------------------------------------------------


class Filler(io.RawIOBase):
    """A request body of ``size`` bytes of filler, made as it is read (never held whole), that
    counts how many bytes the server read from it."""

    def __init__(self, size: int):
        self.size, self.pos, self.read_bytes = size, 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # werkzeug's test client measures the stream; the request says chunked

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def readinto(self, b) -> int:
        n = max(0, min(len(b), self.size - self.pos))
        b[:n] = b"x" * n
        self.pos += n
        self.read_bytes += n
        return n


def _chunked(api, stream, terminated=True):
    # gunicorn and werkzeug's server de-chunk the body and say so (wsgi.input_terminated).
    return api.client.post(
        "/api/v1/tickets",
        input_stream=stream,
        content_type="application/json",
        headers={**api.auth(), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True} if terminated else {},
    )


def test_a_chunked_50mb_body_is_413_and_never_read_whole(api):
    before = api.counts()
    body = Filler(50 * 1024 * 1024)
    r = _chunked(api, body)
    assert "body" in fields_of(r, 413)
    limit = api.settings.max_body_bytes
    assert limit < body.read_bytes <= limit + 64 * 1024 + 1
    assert api.counts() == before
    # A small chunked body goes through; one the server did not de-chunk is 411.
    small = json.dumps(api.new_ticket(description="chunked")).encode()
    assert _chunked(api, io.BytesIO(small)).status_code == 201
    assert "Content-Length" in fields_of(_chunked(api, io.BytesIO(small), terminated=False), 411)


def test_the_body_limit_is_the_setting(demo_db):
    a = Hardened(demo_db.model_copy(update={"max_body_bytes": 20_000}))
    try:
        body = json.dumps(a.new_ticket(description="x" * 3999)).encode()
        assert len(body) < 20_000
        assert (
            a.client.post(
                "/api/v1/tickets", data=body, content_type="application/json", headers=a.auth()
            ).status_code
            == 201
        )
        r = _chunked(a, Filler(10**6))
        assert fields_of(r, 413) == {"body": "larger than 20000 bytes"}
        exact = json.dumps(a.new_ticket()).encode()
        exact = exact[:-1] + b" " * (20_000 - len(exact)) + b"}"
        assert len(exact) == 20_000
        assert _chunked(a, io.BytesIO(exact)).status_code == 201
        assert "body" in fields_of(_chunked(a, io.BytesIO(exact + b" ")), 413)
        spec = a.client.get("/api/v1/openapi.json").get_json()
        assert "20000 bytes" in json.dumps(spec)
    finally:
        a.close()
