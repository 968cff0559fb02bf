"""Property-based fuzzing of /api/v1 from its own OpenAPI document (schemathesis against the
WSGI app, real PostGIS + Redis, a valid token injected): no input may produce a 5xx, and every
response to schema-conforming input conforms to the documented responses."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from gridscope.api.tokens import create_token
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def fuzz_target(demo_db):
    app = create_app(demo_db)
    with connect(demo_db) as conn:
        _, token = create_token(conn, "fuzz", Scope("330402"), can_write=True)
        conn.commit()
        # Valid values the fuzzer cannot guess: points inside grids, categories, staff.
        points = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid"
            " WHERE code LIKE '330402%' ORDER BY code LIMIT 40) g"
        ).fetchall()
        categories = [r[0] for r in conn.execute("SELECT code FROM category WHERE admitted")]
        staff = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM staff WHERE active AND region_code LIKE '330402%' LIMIT 40"
            )
        ]
        conn.commit()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app.server)
    # identity: the WSGI transport does not undo flask-compress.
    yield (
        schema,
        {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"},
        {"points": points, "categories": categories, "staff": staff},
    )
    app.server.extensions["gridscope"].close()


def operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def steered(op, strategy, values):
    """Cases of ``strategy`` with the values random data cannot hit (a point inside a grid, a
    known category, staff of the jurisdiction, a recent time) put in on half the cases. The
    app's clock is pinned at DEMO_NOW (``settings_for``), so "recent" is relative to it."""
    now = DEMO_NOW

    def ticket(args):
        case, point, category, drop = args
        if isinstance(case.body, dict) and drop:
            case.body.update(long=point[0], lat=point[1], service_code=category)
            case.body.pop("requested_datetime", None)
            case.body.pop("grid_code", None)
        return case

    def positions(args):
        case, staff, drop = args
        if isinstance(case.body, dict) and drop:
            for i, p in enumerate(case.body.get("positions", [])):
                p.update(staff_id=staff[i % len(staff)], at=now.isoformat(), lat=30.75, long=120.75)
        return case

    if op.label == "POST /api/v1/tickets":
        return st.tuples(
            strategy,
            st.sampled_from(values["points"]),
            st.sampled_from(values["categories"]),
            st.booleans(),
        ).map(ticket)
    if op.label == "POST /api/v1/positions":
        return st.tuples(strategy, st.just(values["staff"]), st.booleans()).map(positions)
    return strategy


def test_schema_conforming_requests_get_documented_responses(fuzz_target):
    schema, auth, values = fuzz_target
    seen: dict[str, dict[int, int]] = {}
    for op in operations(schema):
        counts = seen.setdefault(op.label, {})

        @FUZZ
        @given(case=steered(op, op.as_strategy(GenerationMode.POSITIVE, headers=auth), values))
        def run(case):
            response = case.call()
            counts[response.status_code] = counts.get(response.status_code, 0) + 1  # noqa: B023
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        run()
    print(seen)
    assert len(seen) >= 8
    assert not [(op, s) for op, c in seen.items() for s in c if s >= 500], seen
    # The fuzzer got past validation on every operation that can succeed with random input.
    for label in (
        "GET /api/v1/tickets",
        "GET /api/v1/services",
        "POST /api/v1/tickets",
        "POST /api/v1/positions",
        "GET /api/v1/tickets/{ticket_id}",
    ):
        assert any(200 <= s < 300 for s in seen[label]), seen


def test_malformed_requests_never_get_a_server_error(fuzz_target):
    schema, auth, _ = fuzz_target
    seen: dict[str, dict[int, int]] = {}
    for op in operations(schema):
        if op.label.endswith(("/openapi.json", "/docs", "/services", "/services.json")):
            continue  # no parameters, no body: nothing to make invalid
        counts = seen.setdefault(op.label, {})

        @FUZZ
        @given(case=op.as_strategy(GenerationMode.NEGATIVE, headers=auth))
        def run(case):
            response = case.call()
            counts[response.status_code] = counts.get(response.status_code, 0) + 1  # noqa: B023
            case.validate_response(response, checks=[not_a_server_error])
            content_type = response.headers.get("content-type", [""])[0]
            assert content_type.startswith("application/json"), (
                case.method,
                case.formatted_path,
                response.status_code,
                response.request.url,
            )

        run()
    print(seen)
    assert not [(op, s) for op, c in seen.items() for s in c if s >= 500], seen
    for label, counts in seen.items():
        assert any(400 <= s < 500 for s in counts), (label, counts)
