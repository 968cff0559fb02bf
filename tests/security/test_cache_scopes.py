"""No cached payload is ever served across jurisdictions: accounts of two communities and of
the whole town take turns on the wall's feeds (GET /feed/counters, /feed/layer-grids), and
every Redis entry a request creates carries the scope of the account that asked, each account
builds its own entry (none reuses another scope's), and what it is served is the entry of its
own scope."""

from __future__ import annotations

import gzip
import json

import pytest

from app import create_app
from queries.cache import KEY_PREFIX
from queries.feed import Entry
from tests.access import signed_in

pytestmark = pytest.mark.db

TOWN = "330402007"
FEEDS = {
    "counters": "/feed/counters",
    "grid layer": "/feed/layer-grids?level=grid&measure=created&window=30d",
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
    for name, path in FEEDS.items():
        answers: dict[str, str] = {}
        for prefix, client in callers:
            before = payload_keys(redis_client, ns)
            resp = client.get(path)
            assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
            new = {k: s for k, s in payload_keys(redis_client, ns).items() if k not in before}
            assert all(s == prefix for s in new.values()), f"{name}: {prefix} created {new}"
            if prefix not in answers:
                # First caller of this scope: it built its own entry rather than reading one
                # another scope had cached.
                assert new, f"{name}: {prefix} was served without building an entry"
                answers[prefix] = resp.get_data(as_text=True)
            else:  # the same scope: the same entry
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
    path = FEEDS["grid layer"]
    answer_a = json.loads(signed_in(app, demo_db, "analyst", a).get(path).data)
    answer_b = json.loads(signed_in(app, demo_db, "analyst", b).get(path).data)
    entries = {
        s: k
        for k, s in payload_keys(redis_client, ns).items()
        if k.split(":")[3] == "feed-layer-grids"
    }
    assert set(entries) == {a, b}
    for prefix, answer in ((a, answer_a), (b, answer_b)):
        cached = Entry.from_redis(redis_client.get(entries[prefix]), 0)
        assert cached is not None
        stored = json.loads(gzip.decompress(cached.gz))
        assert answer == stored
        codes = set(json.dumps(stored["data"]["hideout"], ensure_ascii=False).split('"'))
        grid_codes = {c for c in codes if c.isdigit() and len(c) == 15}
        assert grid_codes and all(c.startswith(prefix) for c in grid_codes), (prefix, grid_codes)
