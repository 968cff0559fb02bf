"""The positions' snapshot check (``PositionStore``: Redis' mark against PostgreSQL's newest
fix) must stay silent under live traffic (issue #10): with ``gridscope demo live`` running, a
server re-primed every fix every few seconds, because a reader read the mark before
PostgreSQL and a simulator commit landing in between looked like a lost write.

The simulator's real position step (``gridscope.demo.live._tick``) commits its fixes exactly in
that gap here, on every read, against the small demo and real Redis. Each test binds its own
database (namespace) in the shared Redis."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
import redis

from gridscope.demo import live
from queries.cache import namespace_for
from queries.db import connect
from queries.positions import PositionStore
from queries.scope import Scope
from tests.conftest import DEMO_NOW, REDIS_URL

OLDER = "older than PostgreSQL"


class _Simulator:
    """The live simulator's position step, on its own connection and store: every worker
    is due at each ``step``, no tickets (rates 0)."""

    def __init__(self, settings, conn) -> None:
        self.settings = settings
        self.conn = conn
        self.scope = Scope(settings.jurisdiction)
        self.rng = np.random.default_rng(3)
        self.store = PositionStore.from_url(settings.redis_url, settings.database_url)
        self.world = live._load_world(conn, settings, self.scope, self.rng, 15.0)
        self.pace = live._Pace(0.0, 0.0, 15.0, 1.0)
        self.stats = live.LiveStats()

    def step(self, now: datetime) -> int:
        before = self.stats.fixes
        for sid in self.world.next_ping:
            self.world.next_ping[sid] = 0.0
        live._tick(
            self.conn,
            self.world,
            self.settings,
            self.scope,
            self.rng,
            now,
            self.pace,
            self.store,
            self.stats,
        )
        return self.stats.fixes - before


class _Reader:
    """A server's store on its own Redis client whose ``between`` hook runs right after each
    Redis read of the mark (pipeline and mget): the moment a writer's commit used to be
    mistaken for a lost write. Counts its primings."""

    def __init__(self, settings) -> None:
        client = redis.Redis.from_url(REDIS_URL)
        self.store = PositionStore(client, namespace_for(settings.database_url))
        self.between: Callable[[], None] = lambda: None
        self.primings = 0
        resync = self.store.resync

        def counted(conn: Any) -> int:
            self.primings += 1
            return resync(conn)

        self.store.resync = counted  # type: ignore[method-assign]
        pipeline, mget = client.pipeline, client.mget

        def hooked_pipeline(*a: Any, **kw: Any) -> Any:
            pipe = pipeline(*a, **kw)
            execute = pipe.execute

            def run(*ea: Any, **ekw: Any) -> Any:
                out = execute(*ea, **ekw)
                self.between()
                return out

            pipe.execute = run
            return pipe

        def hooked_mget(*a: Any, **kw: Any) -> Any:
            out = mget(*a, **kw)
            self.between()
            return out

        client.pipeline = hooked_pipeline  # type: ignore[method-assign]
        client.mget = hooked_mget  # type: ignore[method-assign]


@pytest.fixture
def reader(demo_db) -> Iterator[_Reader]:
    r = _Reader(demo_db)
    r.store.clear()
    yield r
    r.store.clear()
    r.store.client.close()


def _newest(conn) -> datetime:
    at = conn.execute("SELECT max(at) FROM worker_last_position").fetchone()[0]
    conn.commit()
    return at


def test_live_fixes_committed_while_a_server_reads_never_reprime(demo_db, reader, caplog):
    caplog.set_level(logging.INFO, logger="queries.position_store")
    with connect(demo_db) as wconn, connect(demo_db) as rconn:
        sim = _Simulator(demo_db, wconn)
        assert sim.step(DEMO_NOW) > 50
        assert reader.store.read_all(rconn) is not None  # the first read primes (not an alarm)
        rconn.commit()
        assert reader.primings == 1 and not [r for r in caplog.records if OLDER in r.message]
        steps: list[int] = []
        for i in range(1, 7):
            now = DEMO_NOW + timedelta(seconds=i)
            # the simulator commits a tick of fixes right after the reader read the mark
            reader.between = lambda now=now: steps.append(sim.step(now))
            if i % 2:
                fixes = reader.store.read_all(rconn)
                assert fixes is not None and len(fixes) >= steps[0]
            else:
                assert reader.store.verify(rconn)
            rconn.commit()
            reader.between = lambda: None
            assert _newest(rconn) == now  # the fixes did reach PostgreSQL in the gap
            # ... and Redis, through the simulator's own store
            assert max(f.at for f in reader.store.read_all(rconn).values()) == now
            rconn.commit()
        assert len(steps) == 6 and all(n > 50 for n in steps)
        assert reader.primings == 1
        assert not [r for r in caplog.records if OLDER in r.message]


def test_a_commit_the_mark_never_heard_of_is_still_caught(demo_db, reader, caplog):
    """The same interleaving with a writer that does not announce (a lost write, as after a
    snapshot): the next read must re-prime and see the fix. Shows the check above is live."""
    caplog.set_level(logging.INFO, logger="queries.position_store")
    with connect(demo_db) as wconn, connect(demo_db) as rconn:
        sim = _Simulator(demo_db, wconn)
        sim.step(DEMO_NOW)
        assert reader.store.read_all(rconn) is not None
        rconn.commit()
        sim.store.announce = lambda newest_ms: True  # type: ignore[method-assign]
        sim.store.publish = lambda conn, fixes: True  # type: ignore[method-assign]
        t1 = DEMO_NOW + timedelta(seconds=5)
        assert sim.step(t1) > 50
        fixes = reader.store.read_all(rconn)
        assert fixes is not None and max(f.at for f in fixes.values()) == t1
        assert reader.primings == 2
        assert len([r for r in caplog.records if OLDER in r.message]) == 1
