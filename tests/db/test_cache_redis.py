"""The Redis cache against real Redis servers, including one that goes down and comes back."""

import logging
import time

from queries.cache import Cache, bump_data_version, data_version
from queries.db import connect
from queries.scope import Scope


def test_versioned_keys_and_bytes(redis_client, fresh_db):
    cache = Cache.from_url(fresh_db.redis_url, 60, "t")
    with connect(fresh_db) as conn:
        v0 = data_version(conn)
        key0 = cache.key("x", v0, {"p": 1}, Scope("33"))
        calls = []
        assert cache.get_or_compute(key0, lambda: calls.append(1) or b"one") == b"one"
        assert cache.get_or_compute(key0, lambda: calls.append(1) or b"two") == b"one"
        assert len(calls) == 1
        v1 = bump_data_version(conn)
        assert v1 == v0 + 1 == data_version(conn)
        key1 = cache.key("x", v1, {"p": 1}, Scope("33"))
        assert key1 != key0
        assert cache.get_or_compute(key1, lambda: b"fresh") == b"fresh"
    redis_client.delete(key0, key1)


def test_redis_down_then_back(private_redis, caplog):
    url, procs, start = private_redis
    cache = Cache.from_url(url, 60, "t")
    cache.RETRY_AFTER_S = 0.2
    assert cache.get_or_compute("k1", lambda: b"a") == b"a"
    assert cache.client.get("k1") == b"a"
    procs[0].terminate()
    procs[0].wait(5)
    caplog.set_level(logging.WARNING, logger="queries.cache")
    computed = []
    for _ in range(5):  # keeps working from the compute function, warns once
        assert cache.get_or_compute("k2", lambda: computed.append(1) or b"b") == b"b"
        time.sleep(0.05)
    assert len(computed) == 5 and not cache.available
    warnings = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    procs.append(start())
    time.sleep(0.3)
    assert cache.get_or_compute("k3", lambda: b"c") == b"c"
    assert cache.available and cache.client.get("k3") == b"c"
    # One line when the outage ends, with its count (FaultLog), however many failures.
    back = [r.getMessage() for r in caplog.records if "is back" in r.getMessage()]
    assert len(back) == 1 and back[0].startswith("redis is back"), back
    assert "failures while it was away" in back[0]
    assert not [r for r in caplog.records if r.exc_info]
