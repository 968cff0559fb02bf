"""The read side over real streaming replicas (queries.replicas): reads reach a replica, fall
back to the primary while no replica answers and come back by themselves; replicas are taken
in turn; a replica behind a wanted data version is skipped; the data version itself reaches a
replica exactly (a screen served from a replica sees every write)."""

from __future__ import annotations

import logging
import time

import pytest

from domain.config import Settings
from queries.cache import bump_data_version, data_version
from queries.db import make_pool
from queries.faults import FaultLog
from queries.replicas import FAULT, ReadPools, make_read_pool
from tests.conftest import DEMO_NOW, REDIS_URL
from tests.faults.conftest import REPLICA_LAG_S, Stack

pytestmark = pytest.mark.faults


def _settings(stack: Stack, *replicas, **over) -> Settings:
    over.setdefault("db_wait_s", 1.0)
    return Settings(
        database_url=stack.settings.database_url,
        database_read_url=",".join(r.url("gridscope") for r in replicas),
        redis_url=REDIS_URL,
        fixed_now=DEMO_NOW,
        **over,
    )


def _where(pools: ReadPools, **kw) -> tuple[bool, int]:
    """(in recovery, server port) of the connection a read gets."""
    with pools.connection(**kw) as conn:
        row = conn.execute("SELECT pg_is_in_recovery(), inet_server_port()").fetchone()
    assert row is not None
    return bool(row[0]), int(row[1])


def _read_side(settings: Settings, faults: FaultLog | None = None):
    primary = make_pool(settings)
    primary.open(wait=True)
    pools = make_read_pool(settings, primary=primary, faults=faults or FaultLog())
    assert isinstance(pools, ReadPools)
    pools.RETRY_S = 0.5  # the test waits for the return; production keeps 5 s
    pools.open(wait=True)
    return primary, pools


def test_reads_fall_back_to_primary_and_return(stack: Stack, caplog):
    caplog.set_level(logging.INFO)
    settings = _settings(stack, stack.replica)
    primary, pools = _read_side(settings)
    try:
        assert _where(pools) == (True, stack.replica.port)
        stack.replica.stop()
        t0 = time.monotonic()
        for _ in range(20):  # every read answers, from the primary, none waits long
            assert _where(pools) == (False, stack.primary.port)
        assert time.monotonic() - t0 < 5, "reads waited on the stopped replica"
        opened = [r for r in caplog.records if "postgres-replica unavailable" in r.getMessage()]
        assert len(opened) == 1, [r.getMessage() for r in caplog.records]
        assert pools.faults.down(FAULT)

        stack.replica.start()
        deadline = time.monotonic() + 10
        while _where(pools) != (True, stack.replica.port):
            assert time.monotonic() < deadline, "reads did not return to the replica"
            time.sleep(0.2)
        assert not pools.faults.down(FAULT)
        assert any("postgres-replica is back" in r.getMessage() for r in caplog.records)
    finally:
        pools.close()
        primary.close()


def test_replicas_taken_in_turn_and_one_left_out(stack: Stack):
    second = stack.primary.replica()
    try:
        settings = _settings(stack, stack.replica, second)
        primary, pools = _read_side(settings)
        try:
            ports = {_where(pools)[1] for _ in range(6)}
            assert ports == {stack.replica.port, second.port}
            second.stop()
            assert {_where(pools) for _ in range(6)} == {(True, stack.replica.port)}
            assert [s["in_use"] for s in pools.status()] == [True, False]
        finally:
            pools.close()
            primary.close()
    finally:
        second.remove()


def test_busy_replica_spills_over_without_an_outage(stack: Stack):
    settings = _settings(stack, stack.replica, db_pool_max=1, db_wait_s=0.3)
    primary, pools = _read_side(settings)
    try:
        with pools.connection() as held:  # the replica pool's only connection
            assert held.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
            assert _where(pools) == (False, stack.primary.port)
        assert not pools.faults.down(FAULT) and pools.status()[0]["in_use"]
        assert _where(pools) == (True, stack.replica.port)
    finally:
        pools.close()
        primary.close()


def test_read_skips_a_replica_behind_the_wanted_version(stack: Stack):
    settings = _settings(stack, stack.replica)
    primary, pools = _read_side(settings)
    try:
        with stack.primary.connect("gridscope") as conn:
            wanted = bump_data_version(conn)
        # The replica applies WAL REPLICA_LAG_S late: the primary answers for this version...
        assert _where(pools, at_least=wanted) == (False, stack.primary.port)
        assert not pools.faults.down(FAULT), "a lagging replica is not an outage"
        # ...and the replica again once it has replayed it.
        stack.replica.wait_replayed(stack.primary, timeout=REPLICA_LAG_S + 10)
        assert _where(pools, at_least=wanted) == (True, stack.replica.port)
    finally:
        pools.close()
        primary.close()


def test_data_version_reaches_the_replica_exactly(stack: Stack):
    """Screens served from a replica key their payloads by the version they read there: each
    bump must show on the replica as it is on the primary. (A plain sequence fails this:
    nextval WAL-logs 32 values ahead, so a replica read the version 32 ahead and stuck there
    until 32 more writes.)"""
    with (
        stack.primary.connect("gridscope") as p,
        stack.replica.connect("gridscope") as r,
    ):
        for _ in range(3):
            v = bump_data_version(p)
            stack.replica.wait_replayed(stack.primary, timeout=REPLICA_LAG_S + 10)
            assert data_version(r) == v == data_version(p)
