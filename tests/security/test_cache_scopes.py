"""No cached payload is ever served across jurisdictions: accounts of two communities and of
the whole town take turns on the screen's counters and the grid layer, and every Redis entry a
request creates carries the scope of the account that asked, each account builds its own entry
(none reuses another scope's), and what it is served is the entry of its own scope."""

from __future__ import annotations

import json

import pytest

from app import create_app
from queries.cache import KEY_PREFIX
from tests.access import signed_in

pytestmark = pytest.mark.db

TOWN = "330402007"
CALLBACK = "/_dash-update-component"
COUNTERS = (
    "..gs-kpis.children...gs-basic.children...gs-categories.children...gs-trend.figure"
    "...gs-ranking.children...gs-jurisdiction.children...gs-updated.children...gs-status.data.."
)
GRID_LAYER = "scr-layer-grids-payload.data"


def _dep(ident: str, prop: str, value=None) -> dict:
    return {"id": ident, "property": prop, "value": value}


def counters_body(app) -> dict:
    assert COUNTERS in app.callback_map, "the screen's counters callback changed its outputs"
    outputs = [o.rsplit(".", 1) for o in COUNTERS[2:-2].split("...")]
    return {
        "output": COUNTERS,
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [_dep("gs-counters-tick", "n_intervals", 3), _dep("gs-scale", "data", 1.0)],
        "state": [_dep("gs-status", "data")],
        "changedPropIds": ["gs-counters-tick.n_intervals"],
    }


def grid_layer_body(app) -> dict:
    assert GRID_LAYER in app.callback_map
    p = "scr-layer-grids"
    return {
        "output": GRID_LAYER,
        "outputs": {"id": f"{p}-payload", "property": "data"},
        "inputs": [
            _dep(f"{p}-tick", "n_intervals", 3),
            _dep(f"{p}-opt-level", "value", "grid"),
            _dep(f"{p}-opt-measure", "value", "created"),
            _dep(f"{p}-opt-window", "value", "30d"),
            _dep(f"{p}-view", "data", {}),
        ],
        "state": [],
        "changedPropIds": [f"{p}-tick.n_intervals"],
    }


def payload_keys(redis_client, namespace: str) -> dict[str, str]:
    """{key: scope part} of the cached payloads of this database (lockout and rate-limit
    entries left out): keys are gs:v1:<ns>:<name>:f<format>:<version>:<scope>:<digest>."""
    prefix = f"{KEY_PREFIX}{namespace}:"
    out = {}
    for raw in redis_client.scan_iter(match=prefix + "*", count=1000):
        key = raw.decode()
        parts = key[len(prefix) :].split(":")
        if len(parts) == 5:
            out[key] = parts[3]
    return out


@pytest.fixture
def app(demo_db, redis_client):
    return create_app(demo_db)


def _communities(settings) -> list[str]:
    from queries.db import connect

    with connect(settings) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT code FROM region WHERE level = 'community' AND parent_code = %s"
                " AND valid_to IS NULL ORDER BY code",
                (TOWN,),
            )
        ]


@pytest.mark.parametrize("role", ["leader", "analyst"])
def test_each_scope_builds_and_reads_only_its_own_entries(app, demo_db, redis_client, role):
    a, b = _communities(demo_db)[:2]
    ns = app.server.extensions["gridscope"].cache.namespace
    callers = [(a, signed_in(app, demo_db, role, a)), (b, signed_in(app, demo_db, role, b))]
    callers.append((TOWN, signed_in(app, demo_db, role, TOWN)))
    # A second account of community A: it may share A's entries, never B's or the town's.
    callers.append((a, signed_in(app, demo_db, "dispatcher", a)))
    for name, body in (("counters", counters_body(app)), ("grid layer", grid_layer_body(app))):
        answers: dict[str, str] = {}
        for prefix, client in callers:
            before = payload_keys(redis_client, ns)
            resp = client.post(CALLBACK, json=body)
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
            new = {k: s for k, s in payload_keys(redis_client, ns).items() if k not in before}
            assert all(s == prefix for s in new.values()), f"{name}: {prefix} created {new}"
            if prefix not in answers:
                # First caller of this scope: it built its own entry rather than reading one
                # another scope had cached.
                assert new, f"{name}: {prefix} was served without building an entry"
                answers[prefix] = resp.get_data(as_text=True)
            elif name == "grid layer":
                assert resp.get_data(as_text=True) == answers[prefix]
        texts = list(answers.values())
        assert len(set(texts)) == len(texts), f"{name}: two scopes got the same answer"
        assert b not in answers[a] and a not in answers[b]
        if name == "grid layer":  # the town's answer covers both communities
            assert a in answers[TOWN] and b in answers[TOWN]
    scopes = set(payload_keys(redis_client, ns).values())
    assert scopes == {a, b, TOWN}, scopes


def test_a_cached_entry_of_one_scope_is_the_answer_of_that_scope_only(app, demo_db, redis_client):
    a, b = _communities(demo_db)[:2]
    ns = app.server.extensions["gridscope"].cache.namespace
    body = grid_layer_body(app)
    client_a = signed_in(app, demo_db, "analyst", a)
    client_b = signed_in(app, demo_db, "analyst", b)
    answer_a = client_a.post(CALLBACK, json=body).get_json()
    answer_b = client_b.post(CALLBACK, json=body).get_json()
    entries = {
        s: k
        for k, s in payload_keys(redis_client, ns).items()
        if k.split(":")[3] == ("layer-grids")
    }
    assert set(entries) == {a, b}
    for prefix, answer in ((a, answer_a), (b, answer_b)):
        cached = json.loads(redis_client.get(entries[prefix]))
        served = answer["response"]["scr-layer-grids-payload"]["data"]
        assert served["hideout"] == cached["hideout"]
        codes = set(json.dumps(cached["hideout"], ensure_ascii=False).split('"'))
        grid_codes = {c for c in codes if c.isdigit() and len(c) == 15}
        assert grid_codes and all(c.startswith(prefix) for c in grid_codes), (prefix, grid_codes)
