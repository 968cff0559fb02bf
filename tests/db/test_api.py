"""The ingest API (/api/v1) against real PostGIS + Redis through Flask's test client: every
endpoint, every error class, idempotency, jurisdiction, tokens and the `token` CLI."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner

from app import create_app
from gridscope.api.endpoints import ENDPOINTS
from gridscope.api.models import MAX_PAGE, MAX_POSITIONS
from gridscope.api.openapi import openapi_path
from gridscope.api.tokens import create_token
from gridscope.cli import main as cli
from queries.cache import data_version
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

COMMUNITY = "330402007024"  # one of the small demo's five communities


class Api:
    """A fresh app on a private copy of the small demo, with tokens and helpers. The app's
    clock is pinned at DEMO_NOW (``settings_for`` sets ``fixed_now``): every "now" of the API,
    and every instant these tests send, is relative to it."""

    def __init__(self, settings):
        self.settings = settings
        self.app = create_app(settings)
        self.client = self.app.server.test_client()
        with connect(settings) as conn:
            self.rw = create_token(conn, "city", Scope("3304"), True)[1]
            self.ro = create_token(conn, "viewer", Scope("3304"), False)[1]
            self.narrow = create_token(conn, "community", Scope(COMMUNITY), True)[1]
            conn.commit()

    def auth(self, token=None, **extra):
        return {"Authorization": f"Bearer {token or self.rw}", **extra}

    def get(self, path, token=None, **kw):
        return self.client.get(path, headers=self.auth(token), **kw)

    def post(self, path, body, token=None, headers=None, **kw):
        return self.client.post(
            path, headers={**self.auth(token), **(headers or {})}, json=body, **kw
        )

    def sql(self, query, params=()):
        with connect(self.settings) as conn:
            return conn.execute(query, params).fetchall()

    def counts(self):
        """Everything a refused write must leave unchanged."""
        with connect(self.settings) as conn:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM ticket), (SELECT count(*) FROM ticket_event),"
                " (SELECT count(*) FROM ticket_external), (SELECT count(*) FROM idempotency_key),"
                " (SELECT count(*) FROM worker_position),"
                " (SELECT coalesce(sum(created), 0) FROM stat_daily)"
            ).fetchone()
            return row, data_version(conn)

    def point(self, code_like=COMMUNITY + "%"):
        """(lon, lat, grid code) of a point inside a current grid."""
        return self.sql(
            "SELECT ST_X(p), ST_Y(p), code FROM (SELECT code, ST_PointOnSurface(geom) AS p"
            " FROM grid WHERE valid_to IS NULL AND code LIKE %s ORDER BY code LIMIT 1) g",
            (code_like,),
        )[0]

    def new_ticket(self, **over):
        lon, lat, _ = self.point()
        return {"service_code": "0901", "lat": lat, "long": lon, **over}

    def close(self):
        self.app.server.extensions["gridscope"].close()


@pytest.fixture
def api(demo_db):
    a = Api(demo_db)
    yield a
    a.close()


def error_of(resp, status):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    err = resp.get_json()["error"]
    assert err["status"] == status and err["message"]
    return err


def fields_of(resp, status):
    return {f["field"]: f["problem"] for f in error_of(resp, status)["fields"]}


# ---- create ------------------------------------------------------------------------------------


def test_create_ticket_locates_grid_bumps_version_and_shows_timeline(api):
    lon, lat, grid = api.point()
    (before, v0) = api.counts()
    r = api.post(
        "/api/v1/tickets",
        {
            "service_code": "0901",
            "lat": lat,
            "long": lon,
            "description": "井盖缺失",
            "address_string": "中山路 1 号",
            "urgency": "urgent",
            "source": "hotline",
        },
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["grid_code"] == grid and body["created"] is True and body["state"] == "reported"
    assert body["service_request_id"] == body["ticket_no"].strip() != ""
    assert r.headers["Location"] == f"/api/v1/tickets/{body['id']}"
    after, v1 = api.counts()
    assert after[0] == before[0] + 1 and after[5] == before[5] + 1
    assert v1 > v0  # the screen refreshes from the next data version

    detail = api.get(f"/api/v1/tickets/{body['id']}").get_json()
    assert detail["description"] == "井盖缺失" and detail["address_string"] == "中山路 1 号"
    assert detail["urgency"] == "urgent" and detail["status"] == "open"
    assert detail["lat"] == pytest.approx(lat) and detail["long"] == pytest.approx(lon)
    assert [e["action"] for e in detail["timeline"]] == ["create"]
    assert detail["timeline"][0]["data"]["api_token"] == api.rw[3:11]
    assert "accept" in detail["allowed_actions"]
    assert detail["requested_datetime"].endswith("+08:00")
    # Created at the app's clock, not the machine's.
    assert datetime.fromisoformat(detail["requested_datetime"]) == DEMO_NOW


def test_patrol_ticket_with_grid_code_and_requested_datetime(api):
    _, _, grid = api.point()
    at = (DEMO_NOW - timedelta(hours=3)).replace(microsecond=0)
    r = api.post(
        "/api/v1/tickets",
        api.new_ticket(grid_code=grid, source="patrol", requested_datetime=at.isoformat()),
    )
    assert r.status_code == 201
    body = r.get_json()
    assert body["state"] == "discovered" and body["grid_code"] == grid
    assert datetime.fromisoformat(body["requested_datetime"]) == at


DROP = object()

BAD_TICKETS = [
    ({"service_code": DROP, "long": DROP}, {"service_code": "is required", "long": "is required"}),
    ({"lat": "30.7"}, {"lat": None}),
    ({"lat": 91}, {"lat": None}),
    ({"long": -181}, {"long": None}),
    ({"lat": None}, {"lat": None}),
    ({"service_code": "abc"}, {"service_code": None}),
    ({"service_code": 901}, {"service_code": None}),
    ({"urgency": "very"}, {"urgency": None}),
    ({"source": "twitter"}, {"source": None}),
    ({"description": "x" * 4001}, {"description": None}),
    ({"description": "a\x00b"}, {"description": "must not contain NUL characters"}),
    ({"requested_datetime": "2026-01-01T00:00:00"}, {"requested_datetime": None}),
    ({"requested_datetime": "yesterday"}, {"requested_datetime": None}),
    ({"requested_datetime": "2999-01-01T00:00:00Z"}, {"requested_datetime": "is in the future"}),
    ({"requested_datetime": "2001-01-01T00:00:00Z"}, {"requested_datetime": None}),
    ({"jurisdiction_id": "3304"}, {"jurisdiction_id": "is not a field of this request"}),
    ({"external_id": ""}, {"external_id": None}),
    ({"grid_code": "'; DROP TABLE ticket; --"}, {"grid_code": None}),
]


@pytest.mark.parametrize(("override", "expected"), BAD_TICKETS)
def test_invalid_ticket_fields_are_named_and_change_nothing(api, override, expected):
    before = api.counts()
    body = {k: v for k, v in api.new_ticket(**override).items() if v is not DROP}
    r = api.post("/api/v1/tickets", body)
    fields = fields_of(r, 422)
    for name, problem in expected.items():
        assert name in fields, fields
        if problem:
            assert fields[name] == problem
    assert api.counts() == before


def test_refusals_by_the_write_path_name_the_field(api):
    before = api.counts()
    # Unknown category, unknown grid, a point outside every grid.
    assert "service_code" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(service_code="7777")), 422
    )
    assert "grid_code" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(grid_code="330402007024999")), 422
    )
    assert "lat/long" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(lat=39.9, long=116.4)), 422
    )
    # A withdrawn category.
    with connect(api.settings) as conn:
        conn.execute("UPDATE category SET admitted = false WHERE code = '0902'")
        conn.commit()
    assert (
        "withdrawn"
        in fields_of(api.post("/api/v1/tickets", api.new_ticket(service_code="0902")), 422)[
            "service_code"
        ]
    )
    assert api.counts() == before


@pytest.mark.parametrize(
    ("data", "content_type", "status", "field"),
    [
        (b"{bad json", "application/json", 400, "body"),
        (b"", "application/json", 400, "body"),
        (b'{"service_code": "\xff\xfe"}', "application/json", 400, "body"),
        (b'{"lat": NaN}', "application/json", 422, "lat"),
        (b"[1, 2]", "application/json", 422, "body"),
        (b'"text"', "application/json", 422, "body"),
        (b"[" * 100000 + b"]" * 100000, "application/json", 400, "body"),
        (b'{"service_code": "0901"}', "text/plain", 415, "Content-Type"),
        (b"service_code=0901", "application/x-www-form-urlencoded", 415, "Content-Type"),
        (b'{"service_code": "0901"}', "application/json; charset=gbk", 415, "Content-Type"),
        (b'{"service_code": "\\ud800", "lat": 30, "long": 120}', "application/json", 400, "body"),
    ],
)
def test_malformed_bodies_are_4xx_json(api, data, content_type, status, field):
    before = api.counts()
    r = api.client.post("/api/v1/tickets", data=data, content_type=content_type, headers=api.auth())
    assert field in fields_of(r, status)
    assert api.counts() == before


def test_oversized_body_is_413_json(api):
    before = api.counts()
    big = json.dumps(api.new_ticket(description="x" * api.settings.max_body_bytes)).encode()
    r = api.client.post(
        "/api/v1/tickets", data=big, content_type="application/json", headers=api.auth()
    )
    assert "body" in fields_of(r, 413)
    assert api.counts() == before


# ---- routing, auth, tokens ---------------------------------------------------------------------


def test_unknown_routes_tickets_and_methods_are_json(api):
    assert "path" in fields_of(api.get("/api/v1/nothing-here"), 404)
    assert "path" in fields_of(api.get("/api/v1/tickets/abc"), 404)
    assert "path" in fields_of(api.get("/api/v1/tickets/1%0a"), 404)
    assert "ticket_id" in fields_of(api.get("/api/v1/tickets/999999999"), 404)
    assert "ticket_id" in fields_of(api.get(f"/api/v1/tickets/{2**70}"), 404)
    r = api.client.delete("/api/v1/tickets", headers=api.auth())
    assert "method" in fields_of(r, 405)
    assert set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
    r = api.client.put("/api/v1/services", headers=api.auth())
    error_of(r, 405)
    assert api.client.get("/api/v1/").get_json()["openapi"] == "/api/v1/openapi.json"
    # The dashboard keeps its own pages (behind the sign-in page).
    page = api.client.get("/screen", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer gs_00000000_" + "A" * 43,
        "Bearer not-a-token",
        "Bearer gs_zzzzzzzz_" + "A" * 43,
    ],
)
def test_missing_or_bad_tokens_are_401(api, header):
    headers = {} if header is None else {"Authorization": header}
    for r in (
        api.client.get("/api/v1/tickets", headers=headers),
        api.client.get("/api/v1/services", headers=headers),
        api.client.post("/api/v1/tickets", json=api.new_ticket(), headers=headers),
    ):
        assert "Authorization" in fields_of(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_secret_and_revoked_token_are_401(api):
    prefix = api.rw[3:11]
    forged = api.rw[:-4] + ("AAAA" if not api.rw.endswith("AAAA") else "BBBB")
    error_of(api.get("/api/v1/services", token=forged), 401)
    assert api.get("/api/v1/services").status_code == 200
    result = CliRunner().invoke(
        cli, ["token", "revoke", prefix], env={"DATABASE_URL": api.settings.database_url}
    )
    assert result.exit_code == 0, result.output
    error_of(api.get("/api/v1/services"), 401)


def test_read_only_token_reads_but_cannot_write(api):
    before = api.counts()
    assert api.get("/api/v1/tickets", token=api.ro).status_code == 200
    assert api.get("/api/v1/services", token=api.ro).status_code == 200
    assert "Authorization" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(), token=api.ro), 403
    )
    error_of(api.post("/api/v1/tickets/1/transitions", {"action": "accept"}, token=api.ro), 403)
    error_of(
        api.post(
            "/api/v1/positions",
            {
                "positions": [
                    {"staff_id": 2, "at": DEMO_NOW.isoformat(), "lat": 30.7, "long": 120.7}
                ]
            },
            token=api.ro,
        ),
        403,
    )
    assert api.counts() == before


def test_tokens_are_stored_only_as_sha256(api):
    rows = api.sql("SELECT prefix, token_hash, row_to_json(api_token)::text FROM api_token")
    assert len(rows) == 3
    by_prefix = {r[0]: r for r in rows}
    for token in (api.rw, api.ro, api.narrow):
        prefix, stored, whole_row = by_prefix[token[3:11]]
        assert stored == hashlib.sha256(token.encode()).hexdigest()
        assert token not in whole_row and token[12:] not in whole_row


def test_token_cli_create_list_revoke(api):
    env = {"DATABASE_URL": api.settings.database_url}
    run = CliRunner().invoke
    made = run(
        cli,
        [
            "token",
            "create",
            "--name",
            "12345 hotline",
            "--jurisdiction",
            "330402007",
            "--read-only",
        ],
        env=env,
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("gs_") and len(secret) == 55
    assert api.get("/api/v1/tickets", token=secret).status_code == 200
    error_of(api.post("/api/v1/tickets", api.new_ticket(), token=secret), 403)
    listed = run(cli, ["token", "list"], env=env)
    assert listed.exit_code == 0 and secret[3:11] in listed.output
    assert secret not in listed.output and "read-only" in listed.output
    assert run(cli, ["token", "revoke", secret[3:11]], env=env).exit_code == 0
    again = run(cli, ["token", "revoke", secret[3:11]], env=env)
    assert again.exit_code == 0 and "already" in again.output
    assert run(cli, ["token", "revoke", "ffffffff"], env=env).exit_code == 1
    # Usage errors exit 2; a jurisdiction with no region or grid is an operational error.
    assert run(cli, ["token", "create", "--name", "x"], env=env).exit_code == 2
    assert (
        run(cli, ["token", "create", "--name", "x", "--jurisdiction", "33 04"], env=env).exit_code
        == 2
    )
    bad = run(cli, ["token", "create", "--name", "x", "--jurisdiction", "9999"], env=env)
    assert bad.exit_code == 1 and "9999" in bad.output


# ---- jurisdiction ------------------------------------------------------------------------------


def test_a_token_sees_and_writes_only_its_jurisdiction(api):
    outside = api.sql(
        "SELECT id FROM ticket WHERE grid_code NOT LIKE %s ORDER BY id LIMIT 1", (COMMUNITY + "%",)
    )[0][0]
    inside = api.sql(
        "SELECT id FROM ticket WHERE grid_code LIKE %s ORDER BY id LIMIT 1", (COMMUNITY + "%",)
    )[0][0]
    assert api.get(f"/api/v1/tickets/{inside}", token=api.narrow).status_code == 200
    error_of(api.get(f"/api/v1/tickets/{outside}", token=api.narrow), 404)
    assert api.get(f"/api/v1/tickets/{outside}").status_code == 200  # the city token sees it
    before = api.counts()
    error_of(
        api.post(f"/api/v1/tickets/{outside}/transitions", {"action": "accept"}, token=api.narrow),
        404,
    )
    other = api.sql(
        "SELECT ST_X(p), ST_Y(p), code FROM (SELECT code, ST_PointOnSurface(geom) p"
        " FROM grid WHERE code NOT LIKE %s ORDER BY code LIMIT 1) g",
        (COMMUNITY + "%",),
    )[0]
    assert "lat/long" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(long=other[0], lat=other[1]), token=api.narrow),
        422,
    )
    assert "grid_code" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(grid_code=other[2]), token=api.narrow), 403
    )
    assert api.counts() == before
    page = api.get("/api/v1/tickets?limit=500", token=api.narrow).get_json()
    assert page["tickets"] and all(t["grid_code"].startswith(COMMUNITY) for t in page["tickets"])
    # A filter outside the jurisdiction is refused; a wider one means the jurisdiction.
    assert "grid_code" in fields_of(
        api.get(f"/api/v1/tickets?grid_code={other[2]}", token=api.narrow), 403
    )
    wide = api.get("/api/v1/tickets?grid_code=3304&limit=5", token=api.narrow).get_json()
    assert "wider than your jurisdiction" in wide["notice"]
    assert all(t["grid_code"].startswith(COMMUNITY) for t in wide["tickets"])


def test_external_id_used_in_another_jurisdiction_is_409(api):
    other = api.sql(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grid"
        " WHERE code NOT LIKE %s ORDER BY code LIMIT 1) g",
        (COMMUNITY + "%",),
    )[0]
    r = api.post(
        "/api/v1/tickets", api.new_ticket(long=other[0], lat=other[1], external_id="shared-1")
    )
    assert r.status_code == 201
    assert "external_id" in fields_of(
        api.post("/api/v1/tickets", api.new_ticket(external_id="shared-1"), token=api.narrow), 409
    )


# ---- idempotency -------------------------------------------------------------------------------


def test_same_external_id_twice_creates_one_ticket(api):
    first = api.post("/api/v1/tickets", api.new_ticket(external_id="hotline-42"))
    again = api.post("/api/v1/tickets", api.new_ticket(external_id="hotline-42"))
    assert first.status_code == 201 and again.status_code == 200
    a, b = first.get_json(), again.get_json()
    assert a["id"] == b["id"] and a["ticket_no"] == b["ticket_no"]
    assert a["created"] is True and b["created"] is False
    assert api.sql("SELECT count(*) FROM ticket WHERE external_id = 'hotline-42'")[0][0] == 1


def test_idempotency_key_replays_and_refuses_another_body(api):
    key = {"Idempotency-Key": "req-7f3a"}
    first = api.post("/api/v1/tickets", api.new_ticket(), headers=key)
    before = api.counts()
    again = api.post("/api/v1/tickets", api.new_ticket(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = api.post("/api/v1/tickets", api.new_ticket(description="different"), headers=key)
    assert "Idempotency-Key" in fields_of(other, 422)
    assert api.counts() == before
    # Keys belong to a token: another token may use the same key for its own request.
    mine = api.post("/api/v1/tickets", api.new_ticket(), headers=key, token=api.narrow)
    assert mine.status_code == 201 and mine.get_json()["id"] != first.get_json()["id"]
    # A refused request is not recorded: the fixed request may reuse the key.
    fresh = {"Idempotency-Key": "req-8"}
    error_of(api.post("/api/v1/tickets", api.new_ticket(service_code="7777"), headers=fresh), 422)
    assert api.post("/api/v1/tickets", api.new_ticket(), headers=fresh).status_code == 201
    bad = api.post("/api/v1/tickets", api.new_ticket(), headers={"Idempotency-Key": "a b"})
    assert "Idempotency-Key" in fields_of(bad, 422)


def test_idempotency_key_on_transitions_applies_once(api):
    tid = api.post("/api/v1/tickets", api.new_ticket()).get_json()["id"]
    key = {"Idempotency-Key": "accept-once"}
    first = api.post(f"/api/v1/tickets/{tid}/transitions", {"action": "accept"}, headers=key)
    again = api.post(f"/api/v1/tickets/{tid}/transitions", {"action": "accept"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"]
    # Without the key the same action is a second step, illegal from 'accepted'.
    error_of(api.post(f"/api/v1/tickets/{tid}/transitions", {"action": "accept"}), 409)
    actions = [e["action"] for e in api.get(f"/api/v1/tickets/{tid}").get_json()["timeline"]]
    assert actions == ["create", "accept"]


def _concurrently(fn, n=8):
    results, errors = [None] * n, []
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_concurrent_duplicates_create_one_ticket(api):
    body_ext = api.new_ticket(external_id="race-ext")
    body_key = api.new_ticket(description="race by key")

    def post(body, headers=None):
        client = api.app.server.test_client()
        r = client.post("/api/v1/tickets", json=body, headers={**api.auth(), **(headers or {})})
        return r.status_code, r.get_json()

    by_ext = _concurrently(lambda: post(body_ext))
    assert {b["id"] for _, b in by_ext} == {by_ext[0][1]["id"]}
    assert sorted(s for s, _ in by_ext) == [200] * 7 + [201]
    by_key = _concurrently(lambda: post(body_key, {"Idempotency-Key": "race-key"}))
    assert {json.dumps(b, sort_keys=True) for _, b in by_key} == {
        json.dumps(by_key[0][1], sort_keys=True)
    }
    assert {s for s, _ in by_key} == {201}
    assert api.sql("SELECT count(*) FROM ticket WHERE external_id = 'race-ext'")[0][0] == 1
    assert api.sql("SELECT count(*) FROM ticket WHERE description = 'race by key'")[0][0] == 1
    assert api.sql("SELECT status FROM idempotency_key WHERE key = 'race-key'") == [(201,)]


# ---- transitions -------------------------------------------------------------------------------


def test_transitions_run_the_closed_loop(api):
    tid = api.post("/api/v1/tickets", api.new_ticket(source="patrol")).get_json()["id"]
    dept = api.sql("SELECT id FROM department ORDER BY id LIMIT 1")[0][0]
    steps = [
        {"action": "report", "actor_kind": "worker", "actor_id": 2},
        {"action": "accept"},
        {"action": "dispatch", "department_id": dept},
        {"action": "sign", "actor_kind": "department"},
        {"action": "feedback", "actor_kind": "department", "comment": "已修复"},
        {"action": "start_verify"},
        {"action": "verify_pass", "actor_kind": "worker"},
        {"action": "survey", "satisfaction": "satisfied"},
    ]
    for step in steps:
        r = api.post(f"/api/v1/tickets/{tid}/transitions", step)
        assert r.status_code == 200, (step, r.get_json())
    assert r.get_json() == {"id": tid, "state": "surveyed", "stage": None, "allowed_actions": []}
    detail = api.get(f"/api/v1/tickets/{tid}").get_json()
    assert [e["action"] for e in detail["timeline"]] == ["create"] + [s["action"] for s in steps]
    assert detail["status"] == "closed" and detail["satisfaction"] == "satisfied"
    assert detail["tasks"][0]["role"] == "lead" and detail["tasks"][0]["department_id"] == dept
    assert detail["timeline"][5]["comment"] == "已修复"


def test_bad_transitions_are_refused_and_change_nothing(api):
    tid = api.post("/api/v1/tickets", api.new_ticket()).get_json()["id"]  # 'reported'
    before = api.counts()
    path = f"/api/v1/tickets/{tid}/transitions"
    illegal = error_of(api.post(path, {"action": "close"}), 409)
    assert (
        "not allowed in state 'reported'" in illegal["message"] and "accept" in illegal["message"]
    )
    assert "action" in fields_of(api.post(path, {"action": "fly"}), 422)
    assert "action" in fields_of(api.post(path, {}), 422)
    assert "actor_kind" in fields_of(api.post(path, {"action": "accept", "actor_kind": "x"}), 422)
    assert "at" in fields_of(
        api.post(path, {"action": "accept", "at": "2000-01-01T00:00:00Z"}), 422
    )
    assert "at" in fields_of(
        api.post(path, {"action": "accept", "at": (DEMO_NOW + timedelta(days=1)).isoformat()}),
        422,
    )
    assert "assist_department_ids[0]" in fields_of(
        api.post(path, {"action": "accept", "assist_department_ids": [0]}), 422
    )
    assert api.post(path, {"action": "accept"}).status_code == 200
    before = api.counts()
    assert "department_id" in fields_of(api.post(path, {"action": "dispatch"}), 422)
    assert "department_id" in fields_of(
        api.post(path, {"action": "dispatch", "department_id": 99999}), 422
    )
    error_of(api.post("/api/v1/tickets/999999999/transitions", {"action": "accept"}), 404)
    assert api.counts() == before


# ---- positions ---------------------------------------------------------------------------------


def test_positions_batch_stored_for_staff_of_the_jurisdiction(api):
    staff = [
        r[0]
        for r in api.sql(
            "SELECT id FROM staff WHERE active AND region_code = %s ORDER BY id LIMIT 3",
            (COMMUNITY,),
        )
    ]
    lon, lat, grid = api.point()
    now = DEMO_NOW
    fixes = [
        {"staff_id": s, "at": (now - timedelta(seconds=i)).isoformat(), "lat": lat, "long": lon}
        for i, s in enumerate(staff * 2)
    ]
    r = api.post("/api/v1/positions", {"positions": fixes}, token=api.narrow)
    assert r.status_code == 200 and r.get_json() == {"stored": 6, "max_batch": MAX_POSITIONS}
    last = api.sql(
        "SELECT staff_id, grid_code FROM worker_last_position WHERE staff_id = ANY(%s)", (staff,)
    )
    assert sorted(last) == sorted((s, grid) for s in staff)
    # The map's worker layer reads the latest fixes from Redis: they are there too.
    store = api.app.server.extensions["gridscope_api"].positions
    assert all(store.client.hget(store.hash_key, str(s)) for s in staff)


def test_positions_refusals(api):
    outsider = api.sql(
        "SELECT id FROM staff WHERE region_code NOT LIKE %s"
        " AND NOT EXISTS (SELECT 1 FROM staff_assignment a WHERE a.staff_id ="
        " staff.id AND a.grid_code LIKE %s) ORDER BY id LIMIT 1",
        (COMMUNITY + "%", COMMUNITY + "%"),
    )[0][0]
    insider = api.sql(
        "SELECT id FROM staff WHERE region_code = %s ORDER BY id LIMIT 1", (COMMUNITY,)
    )[0][0]
    now = DEMO_NOW.isoformat()
    before = api.counts()

    def fix(s, **over):
        return {"staff_id": s, "at": now, "lat": 30.75, "long": 120.75, **over}

    r = api.post(
        "/api/v1/positions", {"positions": [fix(insider), fix(outsider)]}, token=api.narrow
    )
    assert fields_of(r, 422) == {
        "positions[1].staff_id": f"{outsider} is not active staff of your jurisdiction"
    }
    error_of(api.post("/api/v1/positions", {"positions": [fix(10**12)]}), 422)
    too_many = {"positions": [fix(insider)] * (MAX_POSITIONS + 1)}
    assert "positions" in fields_of(api.post("/api/v1/positions", too_many), 422)
    assert "positions" in fields_of(api.post("/api/v1/positions", {"positions": []}), 422)
    # In the future of the app's pinned clock (whatever the machine's clock says).
    future = (DEMO_NOW + timedelta(hours=1)).isoformat()
    assert fields_of(
        api.post("/api/v1/positions", {"positions": [fix(insider, at=future)]}), 422
    ) == {"positions[0].at": "is in the future"}
    assert "positions[0].lat" in fields_of(
        api.post("/api/v1/positions", {"positions": [fix(insider, lat=200)]}), 422
    )
    assert api.counts() == before


# ---- reads -------------------------------------------------------------------------------------


def test_list_filters(api):
    now = DEMO_NOW  # the app's clock: "overdue" and the date window are relative to it
    overdue = api.get("/api/v1/tickets?overdue=true&limit=500").get_json()["tickets"]
    assert overdue
    for t in overdue:
        assert t["overdue"] and t["status"] == "open" and t["state"] != "suspended"
        assert datetime.fromisoformat(t["stage_due_at"]) < now
    expected = api.sql(
        "SELECT count(*) FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected',"
        " 'suspended') AND stage_due_at < %s",
        (now,),
    )[0][0]
    assert len(overdue) == min(expected, 500)
    by_state = api.get("/api/v1/tickets?state=in_progress,feedback&limit=50").get_json()
    assert {t["state"] for t in by_state["tickets"]} <= {"in_progress", "feedback"}
    cat = api.get("/api/v1/tickets?service_code=09&limit=50").get_json()["tickets"]
    assert cat and all(t["service_code"].startswith("09") for t in cat)
    closed = api.get("/api/v1/tickets?status=closed&limit=50").get_json()["tickets"]
    assert closed and all(t["status"] == "closed" for t in closed)
    _, _, grid = api.point()
    in_grid = api.get(f"/api/v1/tickets?grid_code={grid}&limit=50").get_json()["tickets"]
    assert in_grid and all(t["grid_code"] == grid for t in in_grid)
    start = (now - timedelta(days=7)).isoformat().replace("+00:00", "Z")
    end = (now - timedelta(days=2)).isoformat().replace("+00:00", "Z")
    week = api.get(
        "/api/v1/tickets", query_string={"start_date": start, "end_date": end, "limit": 500}
    ).get_json()["tickets"]
    assert week
    for t in week:
        assert (
            now - timedelta(days=7)
            <= datetime.fromisoformat(t["requested_datetime"])
            < now - timedelta(days=2)
        )
    assert "address_string" not in week[0] and "description" not in week[0]


def test_keyset_paging_walks_every_ticket_once(api):
    total = api.sql("SELECT count(*) FROM ticket WHERE grid_code LIKE %s", (COMMUNITY + "%",))[0][0]
    seen, cursor, pages = [], None, 0
    while True:
        qs = {"limit": 400, "grid_code": COMMUNITY, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/tickets", query_string=qs).get_json()
        seen += [t["id"] for t in page["tickets"]]
        pages += 1
        cursor = page["paging"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 400)
    one = api.get("/api/v1/tickets?limit=20").get_json()["tickets"]
    keys = [(t["requested_datetime"], t["id"]) for t in one]
    assert [datetime.fromisoformat(k[0]) for k in keys] == sorted(
        (datetime.fromisoformat(k[0]) for k in keys), reverse=True
    )


def test_limit_clamped_and_query_errors(api):
    page = api.get(f"/api/v1/tickets?limit={MAX_PAGE * 10}").get_json()
    assert page["paging"] == {
        **page["paging"],
        "limit": MAX_PAGE,
        "clamped": True,
        "requested_limit": MAX_PAGE * 10,
    }
    assert len(page["tickets"]) == MAX_PAGE and str(MAX_PAGE) in page["notice"]
    normal = api.get("/api/v1/tickets?limit=3").get_json()
    assert normal["paging"]["clamped"] is False and normal["notice"] is None
    for qs, field in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("overdue=perhaps", "overdue"),
        ("state=flying", "state"),
        ("status=maybe", "status"),
        ("service_code=9", "service_code"),
        ("cursor=%%%", "cursor"),
        ("cursor=Zm9v", "cursor"),
        ("start_date=2026-01-01", "start_date"),
        ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "end_date"),
        ("bogus=1", "bogus"),
        ("limit=1&limit=2", "limit"),
        ("grid_code=%27%3B--", "grid_code"),
    ]:
        assert field in fields_of(api.get(f"/api/v1/tickets?{qs}"), 422), qs


def test_services_are_open311(api):
    services = api.get("/api/v1/services").get_json()
    admitted = api.sql("SELECT count(*) FROM category WHERE admitted")[0][0]
    assert isinstance(services, list) and len(services) == admitted
    s = next(x for x in services if x["service_code"] == "0901")
    assert set(s) >= {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert s["metadata"] is False and s["type"] == "realtime" and s["parent_code"] == "09"
    assert api.get("/api/v1/services.json").get_json() == services


def test_openapi_and_docs_cover_every_endpoint(api):
    r = api.client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.get_json()
    assert spec["openapi"].startswith("3.1")
    for ep in ENDPOINTS:
        path = openapi_path(ep.rule)
        op = spec["paths"][path][ep.method.lower()]
        assert op["operationId"] == ep.name and op["responses"]
    body = spec["paths"]["/api/v1/tickets"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/TicketCreate")
    create = spec["components"]["schemas"]["TicketCreate"]
    assert {
        "service_code",
        "lat",
        "long",
        "address_string",
        "requested_datetime",
        "grid_code",
        "urgency",
        "source",
        "external_id",
    } <= set(create["properties"])
    assert set(create["required"]) == {"service_code", "lat", "long"}
    docs = api.client.get("/api/v1/docs")
    html = docs.get_data(as_text=True)
    assert docs.status_code == 200 and docs.mimetype == "text/html"
    for path in spec["paths"]:
        assert path in html
    assert (
        "<script" not in html
        and "http://" not in html.replace("http://127.0.0.1:8050", "")
        and "https://" not in html
    )


# ---- closing on time, the source's classification (issue #11) ---------------------------------


def all_ids(api, **query):
    """Every ticket id the list returns for ``query``, walking the pages."""
    ids, cursor = [], None
    while True:
        qs = {"limit": 500, **query, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/tickets", query_string=qs).get_json()
        ids += [t["id"] for t in page["tickets"]]
        cursor = page["paging"]["next_cursor"]
        if cursor is None:
            return ids


def test_list_shows_closing_on_time_and_late(api):
    page = api.get(f"/api/v1/tickets?grid_code={COMMUNITY}&limit=500").get_json()["tickets"]
    truth = dict(
        api.sql(
            "SELECT id, closed_on_time FROM ticket WHERE id = ANY(%s)", ([t["id"] for t in page],)
        )
    )
    assert {t["closed_on_time"] for t in page} == {True, False, None}
    for t in page:
        assert t["closed_on_time"] is truth[t["id"]]
        assert t["closed_late"] is (truth[t["id"]] is False)
        if t["closed_on_time"] is not None:
            assert t["state"] in ("closed", "surveyed")
        if t["status"] == "open":
            assert t["closed_on_time"] is None and t["closed_late"] is False
        # Tickets born in gridscope have no source classification.
        assert t["source_type"] is None and t["source_reason"] is None
    one = next(t for t in page if t["closed_late"])
    detail = api.get(f"/api/v1/tickets/{one['id']}").get_json()
    assert (detail["closed_on_time"], detail["closed_late"]) == (False, True)
    assert detail["closed_at"] and detail["original_due_at"]
    assert datetime.fromisoformat(detail["closed_at"]) > datetime.fromisoformat(
        detail["original_due_at"]
    )


def test_list_filters_by_closed_late_and_on_time(api):
    """Each filter equals its direct count in SQL; true and false split the tickets."""
    like = COMMUNITY + "%"

    def ids_where(cond):
        return {
            r[0]
            for r in api.sql(
                f"SELECT id FROM ticket WHERE grid_code LIKE %s AND {cond}",  # noqa: S608
                (like,),
            )
        }

    every = ids_where("true")
    late = ids_where("closed_on_time IS FALSE")
    on_time = ids_where("closed_on_time IS TRUE")
    assert late and on_time and every - late - on_time
    cases = {
        "closed_late=true": late,
        "closed_late=false": every - late,
        "on_time=true": on_time,
        "on_time=false": every - on_time,
        "closed_late=false&on_time=false": every - late - on_time,  # not closed yet
        "closed_late=true&on_time=true": set(),
    }
    for qs, expected in cases.items():
        params = dict(p.split("=") for p in qs.split("&"))
        got = all_ids(api, grid_code=COMMUNITY, **params)
        assert len(got) == len(set(got)) and set(got) == expected, qs
    # With the other filters: the late closures of a category in a week.
    start = (DEMO_NOW - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    page = api.get(
        "/api/v1/tickets",
        query_string={"closed_late": "true", "service_code": "09", "start_date": start},
    ).get_json()["tickets"]
    assert page
    for t in page:
        assert t["closed_late"] and t["status"] == "closed" and t["service_code"].startswith("09")
    # Pydantic's spellings of booleans are accepted, as for overdue.
    assert all_ids(api, grid_code=COMMUNITY, closed_late="1") == all_ids(
        api, grid_code=COMMUNITY, closed_late="true"
    )


def test_closed_late_and_on_time_refuse_bad_values(api):
    for qs, field in [
        ("closed_late=perhaps", "closed_late"),
        ("closed_late=", "closed_late"),
        ("on_time=2", "on_time"),
        ("on_time=late", "on_time"),
        ("on_time=true&on_time=false", "on_time"),
    ]:
        assert field in fields_of(api.get(f"/api/v1/tickets?{qs}"), 422), qs


def test_list_shows_the_imported_source_classification(api):
    tid, created = api.sql(
        "UPDATE ticket SET source_type = 'Street Light Outages', source_reason = 'Street Lights'"
        " WHERE id = (SELECT min(id) FROM ticket WHERE grid_code LIKE %s)"
        " RETURNING id, created_at",
        (COMMUNITY + "%",),
    )[0]
    start = (created - timedelta(seconds=1)).isoformat()
    end = (created + timedelta(seconds=1)).isoformat()
    page = api.get(
        "/api/v1/tickets",
        query_string={"grid_code": COMMUNITY, "start_date": start, "end_date": end},
    ).get_json()["tickets"]
    got = next(t for t in page if t["id"] == tid)
    assert (got["source_type"], got["source_reason"]) == ("Street Light Outages", "Street Lights")
    detail = api.get(f"/api/v1/tickets/{tid}").get_json()
    assert detail["source_type"] == "Street Light Outages"


def test_openapi_documents_closing_on_time(api):
    spec = api.client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p for p in spec["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    for name in ("closed_late", "on_time"):
        assert params[name]["schema"] == {"type": "boolean"} and params[name]["description"]
    summary = spec["components"]["schemas"]["TicketSummary"]
    assert {"closed_on_time", "closed_late", "source_type", "source_reason"} <= set(
        summary["properties"]
    )
    assert "closed_on_time" in spec["components"]["schemas"]["TicketDetail"]["properties"]
