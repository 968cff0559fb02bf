"""Walls read from a streaming replica (DATABASE_READ_URL): the screens' data comes from the
replica (its sessions show there, and the screens keep fresh data with the primary stopped),
and a ticket written to the primary reaches every screen within one period although the
replica replays REPLICA_LAG_S late, never with a payload older than its data version."""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import PERIODS, REPLICA_LAG_S, Stack
from tests.faults.load import Screens
from tests.faults.test_outages import POLL_S, fresh, warm, write_ticket

pytestmark = pytest.mark.faults

PRIMARY_DOWN_S = 6


def replica_sessions(stack: Stack) -> int:
    """Client sessions on the replica's gridscope database other than this one."""
    with stack.replica.connect("gridscope") as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = 'gridscope'"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def test_screens_read_the_replica(stack: Stack, serve):
    server = serve(read_url=stack.replica.url("gridscope"))
    with Screens(server.url, stack.wall_path, n=4, poll_s=POLL_S) as screens:
        t_warm, v0 = warm(screens)
        assert replica_sessions(stack) > 0, "gridscope holds no connection to the replica"
        before = {p.digest for p in screens.between(t_warm - 5) if p.feed == "counters"}

        # A write on the primary reaches the screens through the lagging replica.
        t_write = write_ticket(stack, server.url, "e")
        took = screens.wait_for(
            lambda p: fresh(p) and (p.version or 0) > v0,
            t_write,
            3 * PERIODS["counters"],
            "counters",
        )
        assert took is not None, f"the write never reached the screens; {screens.summary()}"
        assert took <= PERIODS["counters"], f"the write took {took:.1f} s to reach the screens"
        # Served by the replica: not before it replayed the write.
        assert took >= REPLICA_LAG_S * 0.9, f"seen after {took:.1f} s: not from the replica"
        # No payload is older than its version: every counters body at the new version holds
        # the new ticket (its data differs from every body before the write).
        newer = [p for p in screens.between(t_write) if p.feed == "counters" and p.digest]
        newer = [p for p in newer if (p.version or 0) > v0]
        assert newer and not any(p.digest in before for p in newer), "old data, new version"

        # The primary stopped: the screens keep fresh data from the replica.
        stack.primary.stop()
        t_down = time.monotonic()
        time.sleep(PRIMARY_DOWN_S)
        stack.primary.start()
        during = screens.between(t_down + 1, t_down + PRIMARY_DOWN_S)
        assert during and all(fresh(p) for p in during if p.feed in ("counters", "ticker")), (
            screens.summary(t_down)
        )
        assert screens.failures() == [], screens.summary()
