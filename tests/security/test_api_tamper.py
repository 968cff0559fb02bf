"""API tamper requests (issue #9): thousands of seeded random requests to /api/v1 with tokens of
community A aimed at community B's grids, tickets and staff, and at random values, against the
real PostGIS + Redis. Every response is checked as it comes:

- no 5xx, and every response is JSON;
- nothing out of scope: every ticket a response shows, creates or moves lies in A, and every
  ticket number in any response is one of A's;
- a refused request (4xx) changes nothing: the row counts of every table the API writes, and
  the data version, are what they were before it.

At the end the database is checked as a whole: new tickets lie in A, within the tolerance of
their grid; new events name no actor outside A; B's tickets, events and worker positions are
untouched.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from app import create_app
from domain.access import Role
from domain.workflow.rules import Action
from gridscope.api.tokens import create_token
from queries.db import connect
from queries.scope import Scope
from queries.tickets import STAT_COLUMNS
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

A = "330402007024"  # the attacker's community
B = "330402007029"  # the target
SEED = 20261125
REQUESTS = 2400
TICKET_NO = re.compile(r"GS\d{15,}")

# Everything the API writes: a refusal must leave every one of these as it was.
_COUNTS = sql.SQL(
    # The event log only grows (id order): its largest id stands for its count, cheaply.
    "SELECT (SELECT count(*) FROM ticket), (SELECT max(id) FROM ticket_event),"
    " (SELECT count(*) FROM ticket_task), (SELECT count(*) FROM ticket_external),"
    " (SELECT count(*) FROM worker_position), (SELECT count(*) FROM worker_last_position),"
    " (SELECT count(*) FROM idempotency_key), (SELECT count(*) FROM audit_event),"
    " (SELECT coalesce(sum({stats}), 0) FROM stat_daily),"
    " (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM data_version)"
).format(stats=sql.SQL(" + ").join(sql.Identifier(c) for c in STAT_COLUMNS))


class World:
    """What the tamperer knows about both communities, gathered once from the database."""

    def __init__(self, conn: psycopg.Connection):
        def col(query: str, params: Any = None) -> list[Any]:
            return [r[0] for r in conn.execute(query, params)]

        def points(like: str) -> list[tuple[float, float, str]]:
            return conn.execute(
                "SELECT ST_X(p), ST_Y(p), code FROM grid, LATERAL ST_PointOnSurface(geom) p"
                " WHERE valid_to IS NULL AND code LIKE %s ORDER BY code",
                (like,),
            ).fetchall()

        self.a_points, self.b_points = points(A + "%"), points(B + "%")
        self.a_grids = [p[2] for p in self.a_points]
        self.b_grids = [p[2] for p in self.b_points]
        # Points just outside A (inside and beyond the 50 m tolerance), on every side.
        self.edge_points = conn.execute(
            "WITH a AS (SELECT ST_Union(geom) u FROM grid WHERE valid_to IS NULL"
            "   AND code LIKE %(a)s),"
            " v AS (SELECT (ST_DumpPoints(geom)).geom p, ST_Centroid(geom) c FROM grid"
            "   WHERE valid_to IS NULL AND code LIKE %(a)s)"
            " SELECT ST_X(q), ST_Y(q) FROM v, a, (VALUES (10.0), (40.0), (60.0), (200.0)) d(m),"
            "   LATERAL (SELECT ST_Project(p::geography, d.m, ST_Azimuth(c, p))::geometry q) x"
            " WHERE NOT ST_Covers(a.u, q) ORDER BY ST_X(q), ST_Y(q)",
            {"a": A + "%"},
        ).fetchall()
        self.a_tickets = col(
            "SELECT id FROM ticket WHERE grid_code LIKE %s ORDER BY id LIMIT 80", (A + "%",)
        )
        self.b_tickets = col(
            "SELECT id FROM ticket WHERE grid_code LIKE %s ORDER BY id LIMIT 80", (B + "%",)
        )
        self.grid_of_no = dict(conn.execute("SELECT ticket_no, grid_code FROM ticket"))
        self.a_staff = col(
            "SELECT id FROM staff WHERE active AND region_code = %s ORDER BY id LIMIT 40", (A,)
        )
        self.b_staff = col(
            "SELECT id FROM staff s WHERE active AND region_code = %s AND NOT EXISTS ("
            " SELECT 1 FROM staff_assignment x WHERE x.staff_id = s.id AND x.grid_code LIKE %s)"
            " ORDER BY id LIMIT 40",
            (B, A + "%"),
        )
        self.departments = col("SELECT id FROM department ORDER BY id")
        self.categories = col("SELECT code FROM category WHERE admitted ORDER BY code")


class Tamperer:
    """Seeded random requests, each one of A's tokens (mostly) aimed at B or at nonsense."""

    def __init__(self, rng: random.Random, world: World, tokens: dict[str, str]):
        self.rng, self.w, self.tokens = rng, world, tokens
        self.keys = [f"k-{i}" for i in range(12)]
        self.created: list[int] = []  # A's tickets this run created (fresh states to move)

    # -- values ---------------------------------------------------------------------------

    def junk(self, depth: int = 0) -> Any:
        r = self.rng
        kind = r.randrange(9 if depth < 2 else 6)
        return [
            lambda: None,
            lambda: r.choice([True, False]),
            lambda: r.randint(-(2**70), 2**70),
            lambda: r.choice([0.0, -1.5, 1e308, 30.75, 120.75]),
            lambda: r.choice(["", "x", "0901", B, "'; DROP TABLE ticket; --", "\u202e", "张三"]),
            lambda: "x" * r.choice([1, 129, 5000]),
            lambda: [self.junk(depth + 1) for _ in range(r.randrange(4))],
            lambda: {str(self.junk(depth + 1))[:10]: self.junk(depth + 1) for _ in range(3)},
            lambda: {"properties": self.junk(depth + 1)},
        ][kind]()

    def some(self, *choices: tuple[float, Any]) -> Any:
        """One of ``choices`` (weight, value-or-callable) picked by weight."""
        weights = [c[0] for c in choices]
        value = self.rng.choices([c[1] for c in choices], weights)[0]
        return value() if callable(value) else value

    def ticket_id(self) -> Any:
        r, w = self.rng, self.w
        return self.some(
            (5, lambda: r.choice(w.b_tickets)),
            (3, lambda: r.choice(w.a_tickets)),
            (6 if self.created else 0, lambda: r.choice(self.created)),
            (1, lambda: r.randint(1, 10**7)),
            (0.5, lambda: r.choice([0, -1, 2**63, 2**70, "abc", "1%0a", "1.5"])),
        )

    def staff_id(self) -> Any:
        r, w = self.rng, self.w
        return self.some(
            (5, lambda: r.choice(w.b_staff)),
            (3, lambda: r.choice(w.a_staff)),
            (1, lambda: r.choice([0, -5, 10**12, 2**64, "1", None, 1.5])),
        )

    def point(self) -> tuple[Any, Any]:
        r, w = self.rng, self.w
        return self.some(
            (4, lambda: r.choice(w.b_points)[:2]),
            (3, lambda: r.choice(w.a_points)[:2]),
            (3, lambda: r.choice(w.edge_points)),
            (1, (0, 0)),
            (1, lambda: (r.uniform(-180, 180), r.uniform(-90, 90))),
            (0.5, lambda: (self.junk(), self.junk())),
        )

    def grid_code(self) -> Any:
        r, w = self.rng, self.w
        return self.some(
            (4, lambda: r.choice(w.b_grids)),
            (3, lambda: r.choice(w.a_grids)),
            (1, lambda: r.choice([B, A, "330402007", "3304", "", "330402007024999"])),
            (0.5, self.junk),
        )

    def when(self) -> Any:
        r = self.rng
        return self.some(
            (4, lambda: (DEMO_NOW - timedelta(minutes=r.randint(0, 60 * 24 * 40))).isoformat()),
            (1, lambda: (DEMO_NOW + timedelta(days=r.randint(1, 400))).isoformat()),
            (1, lambda: r.choice(["yesterday", "2026-11-25T10:00:00", "", 5])),
        )

    def mutate(self, body: dict[str, Any]) -> Any:
        """Sometimes drop, add or break a field, or send something that is not an object."""
        r = self.rng
        roll = r.random()
        if roll < 0.1 and body:
            body.pop(r.choice(list(body)))
        elif roll < 0.18:
            body[r.choice(["jurisdiction", "scope", "grid", "id", "role"])] = self.junk()
        elif roll < 0.26 and body:
            body[r.choice(list(body))] = self.junk()
        elif roll < 0.29:
            return self.junk()
        return body

    # -- requests ---------------------------------------------------------------------------

    def token(self) -> dict[str, str]:
        name = self.some(
            (12, "a_rw"), (3, "a_ro"), (2, "a_leader"), (1, "forged_b"), (0.5, "junk"), (0.5, None)
        )
        if name is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def create_ticket(self) -> dict[str, Any]:
        r = self.rng
        own = r.choice(self.w.a_points + self.w.b_points) if r.random() < 0.3 else None
        lon, lat = own[:2] if own else self.point()
        body: dict[str, Any] = {
            "service_code": r.choice(self.w.categories) if r.random() < 0.85 else self.junk(),
            "lat": lat,
            "long": lon,
        }
        if own and r.random() < 0.5:
            body["grid_code"] = own[2]  # the point's own grid: A's go through, B's are 403
        elif r.random() < 0.5:
            body["grid_code"] = self.grid_code()
        if r.random() < 0.3:
            body["external_id"] = r.choice(["b-ext-0", "b-ext-1", "b-ext-2", f"t-{r.random()}"])
        if r.random() < 0.3:
            body["requested_datetime"] = self.when()
        if r.random() < 0.3:
            body["address_string"] = "中山路12号"
        return {"method": "POST", "path": "/api/v1/tickets", "json": self.mutate(body)}

    def transition(self) -> dict[str, Any]:
        r = self.rng
        first_steps = ["accept", "report", "self_resolve", "reject", "request_info", "escalate"]
        body: dict[str, Any] = {
            "action": r.choice(first_steps if r.random() < 0.5 else [*Action, "fly"])
        }
        if r.random() < 0.6:
            body["actor_id"] = self.staff_id()
        if r.random() < 0.3:
            body["actor_kind"] = r.choice(["worker", "centre", "department", "x"])
        if r.random() < 0.3:
            body["department_id"] = r.choice([*self.w.departments, 0, 10**9])
        if r.random() < 0.2:
            body["at"] = self.when()
        if r.random() < 0.1:
            body["satisfaction"] = r.choice(["satisfied", "basic", "no"])
        path = f"/api/v1/tickets/{self.ticket_id()}/transitions"
        return {"method": "POST", "path": path, "json": self.mutate(body)}

    def positions(self) -> dict[str, Any]:
        r = self.rng
        fixes = []
        for _ in range(r.choice([1, 1, 2, 5])):
            lon, lat = self.point()
            fixes.append({"staff_id": self.staff_id(), "at": self.when(), "lat": lat, "long": lon})
        return {
            "method": "POST",
            "path": "/api/v1/positions",
            "json": self.mutate({"positions": fixes}),
        }

    def list_tickets(self) -> dict[str, Any]:
        r = self.rng
        query: dict[str, Any] = {}
        if r.random() < 0.7:
            query["grid_code"] = self.grid_code()
        for name, make in (
            ("state", lambda: r.choice(["reported", "accepted,closed", "flying", ""])),
            ("status", lambda: r.choice(["open", "closed", "maybe"])),
            ("overdue", lambda: r.choice(["true", "false", "perhaps"])),
            ("limit", lambda: r.choice([1, 5, 50, 500, 10**6, 0, -1, "x"])),
            ("service_code", lambda: r.choice(["09", "0901", "9", "05"])),
            ("cursor", lambda: r.choice(["Zm9v", "%%%", "MjAyNi0wMS0wMXwx"])),
            ("start_date", self.when),
            ("scope", lambda: B),
        ):
            if r.random() < 0.2:
                query[name] = make()
        return {"method": "GET", "path": "/api/v1/tickets", "query_string": query}

    def detail(self) -> dict[str, Any]:
        return {"method": "GET", "path": f"/api/v1/tickets/{self.ticket_id()}"}

    def raw(self) -> dict[str, Any]:
        r = self.rng
        data = r.choice(
            [b"{bad", b"", b"\xff\xfe", b"[]", b"null", json.dumps({"lat": B}).encode()]
        )
        path = r.choice(
            [
                "/api/v1/tickets",
                "/api/v1/positions",
                f"/api/v1/tickets/{self.ticket_id()}/transitions",
            ]
        )
        ctype = r.choice(["application/json", "text/plain", "application/json; charset=gbk"])
        return {"method": "POST", "path": path, "data": data, "content_type": ctype}

    def services(self) -> dict[str, Any]:
        return {"method": "GET", "path": "/api/v1/services"}

    def request(self) -> dict[str, Any]:
        kinds = {
            self.create_ticket: 6,
            self.transition: 4,
            self.positions: 2,
            self.list_tickets: 3,
            self.detail: 3,
            self.raw: 1,
            self.services: 0.3,
        }
        make = self.rng.choices(list(kinds), list(kinds.values()))[0]
        req = make()
        req["kind"] = f"{req['method']} {make.__name__}"
        headers = self.token()
        if req["method"] == "POST" and self.rng.random() < 0.2:
            headers["Idempotency-Key"] = self.rng.choice(self.keys)
        req["headers"] = headers
        return req


@pytest.fixture
def target(demo_db):
    app = create_app(demo_db)
    with connect(demo_db) as conn:
        tokens = {
            "a_rw": create_token(conn, "a-rw", Scope(A), True, Role.DISPATCHER)[1],
            "a_ro": create_token(conn, "a-ro", Scope(A), False, Role.ANALYST)[1],
            "a_leader": create_token(conn, "a-leader", Scope(A), True, Role.LEADER)[1],
        }
        b_token = create_token(conn, "b", Scope(B), True, Role.DISPATCHER)[1]
        conn.commit()
        world = World(conn)
        conn.commit()
    tokens["forged_b"] = b_token[:-4] + ("AAAA" if not b_token.endswith("AAAA") else "BBBB")
    tokens["junk"] = "gs_" + "0" * 8 + "_" + "A" * 43
    client = app.server.test_client()
    # B's own tickets with external ids (A may not claim them: 409).
    for i in range(3):
        lon, lat, _ = world.b_points[i]
        r = client.post(
            "/api/v1/tickets",
            json={"service_code": "0901", "lat": lat, "long": lon, "external_id": f"b-ext-{i}"},
            headers={"Authorization": f"Bearer {b_token}"},
        )
        assert r.status_code == 201, r.get_json()
    with connect(demo_db) as conn:
        world.grid_of_no = dict(conn.execute("SELECT ticket_no, grid_code FROM ticket"))
    yield app, client, world, tokens, demo_db
    app.server.extensions["gridscope"].close()


def _in_a(grid_code: Any) -> bool:
    return isinstance(grid_code, str) and grid_code.startswith(A)


def test_tamper_requests_stay_in_scope_and_refusals_change_nothing(target):
    app, client, world, tokens, settings = target
    rng = random.Random(SEED)
    tamperer = Tamperer(rng, world, tokens)
    statuses: Counter[int] = Counter()
    by_kind: Counter[tuple[str, int]] = Counter()
    shown: set[int] = set()  # every ticket id a 2xx response showed or touched
    moved_staff: set[int] = set()
    with psycopg.connect(settings.database_url, autocommit=True) as db:
        start = db.execute(
            "SELECT (SELECT max(id) FROM ticket), (SELECT max(id) FROM ticket_event),"
            " (SELECT count(*) FROM worker_position WHERE staff_id = ANY(%(b)s)),"
            " (SELECT count(*) FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id"
            "   WHERE t.grid_code LIKE %(bl)s)",
            {"b": world.b_staff, "bl": B + "%"},
        ).fetchone()
        counts = db.execute(_COUNTS).fetchone()
        for n in range(REQUESTS):
            req = tamperer.request()
            method, path, kind = req.pop("method"), req.pop("path"), req.pop("kind")
            resp = client.open(path, method=method, **req)
            status = resp.status_code
            statuses[status] += 1
            by_kind[(kind, status // 100)] += 1
            where = f"#{n} {method} {path} {req} -> {status} {resp.get_data(as_text=True)[:300]}"
            assert status < 500, where
            assert resp.mimetype == "application/json", where
            text = resp.get_data(as_text=True)
            for number in TICKET_NO.findall(text):
                assert number not in world.grid_of_no or _in_a(world.grid_of_no[number]), where
            after = db.execute(_COUNTS).fetchone()
            if status >= 400:
                assert after == counts, f"a refusal changed the database: {where}"
                continue
            counts = after
            body = resp.get_json()
            if status == 201:
                tamperer.created.append(body["id"])
            if path == "/api/v1/tickets" and method == "GET":
                assert all(_in_a(t["grid_code"]) for t in body["tickets"]), where
                shown |= {t["id"] for t in body["tickets"]}
            elif path.startswith("/api/v1/tickets"):  # created, moved or read: one ticket
                assert "grid_code" not in body or _in_a(body["grid_code"]), where
                shown.add(body["id"])
            elif path == "/api/v1/positions":
                moved_staff |= {p["staff_id"] for p in req["json"]["positions"]}

        # The database as a whole.
        assert not db.execute(
            "SELECT id FROM ticket WHERE id = ANY(%s) AND grid_code NOT LIKE %s",
            (sorted(shown), A + "%"),
        ).fetchall()
        stray = db.execute(
            "SELECT t.id, t.grid_code FROM ticket t JOIN grid g ON g.code = t.grid_code"
            "   AND g.valid_to IS NULL"
            " WHERE t.id > %s AND (t.grid_code NOT LIKE %s"
            "   OR NOT ST_DWithin(g.geom::geography, t.geom::geography, 50.01))",
            (start[0], A + "%"),
        ).fetchall()
        assert not stray
        created = db.execute("SELECT count(*) FROM ticket WHERE id > %s", (start[0],)).fetchone()
        outside_actors = db.execute(
            "SELECT e.id, e.actor_id FROM ticket_event e WHERE e.id > %(e)s"
            " AND e.actor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM staff s"
            "   WHERE s.id = e.actor_id AND (s.region_code LIKE %(a)s OR EXISTS (SELECT 1"
            "     FROM staff_assignment x WHERE x.staff_id = s.id AND x.grid_code LIKE %(a)s)))",
            {"e": start[1], "a": A + "%"},
        ).fetchall()
        assert not outside_actors
        b_untouched = db.execute(
            "SELECT (SELECT count(*) FROM worker_position WHERE staff_id = ANY(%(b)s)),"
            " (SELECT count(*) FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id"
            "   WHERE t.grid_code LIKE %(bl)s)",
            {"b": world.b_staff, "bl": B + "%"},
        ).fetchone()
        assert b_untouched == start[2:]
    assert moved_staff <= set(world.a_staff)
    print(dict(statuses), sorted(by_kind.items()))
    # The run reached every kind of outcome: writes and reads that succeeded, and refusals.
    assert sum(statuses.values()) == REQUESTS >= 2000
    assert created[0] >= 50 and len(shown) >= 100
    for kind in ("POST create_ticket", "POST transition", "POST positions", "GET detail"):
        assert by_kind[(kind, 2)] > 0 and by_kind[(kind, 4)] > 0, kind
    assert sum(c for s, c in statuses.items() if 400 <= s < 500) >= REQUESTS // 2
    for status in (401, 403, 404, 409, 422):
        assert statuses[status] > 0, status
