"""Tickets sent through the API while PostgreSQL stops and starts again, by a client that
retries on 503 and timeouts as docs/api.md says (same Idempotency-Key; an "interrupted" key is
looked up through its external id): every ticket is stored exactly once."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from tests.faults.conftest import Stack, post_ticket, ticket_point

pytestmark = pytest.mark.faults

TICKETS = 40
RATE_PER_S = 8
OUTAGE_S = 6
GIVE_UP_S = 60  # per ticket: the outage plus a generous restart


def send(
    base_url: str,
    token: str,
    point: tuple[float, float],
    run: str,
    i: int,
    log: list[tuple[int, int, str]],
) -> None:
    """Send ticket ``i`` until the API took it, logging (i, status or 0, replayed) per try."""
    lon, lat = point
    external = f"faults-d-{run}-{i:03d}"
    body = {
        "service_code": "0901",
        "lat": lat,
        "long": lon,
        "description": f"faults-d {run} {i:03d}",
        "external_id": external,
        "source": "hotline",
    }
    key: str | None = external  # the Idempotency-Key
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        try:
            r = post_ticket(base_url, token, body, key, timeout=3)
        except requests.RequestException as exc:
            log.append((i, 0, type(exc).__name__))
            time.sleep(0.5)
            continue
        log.append((i, r.status_code, r.headers.get("Idempotent-Replayed", "")))
        if r.status_code in (200, 201):
            return
        if r.status_code == 409 and "interrupt" in r.text.lower():
            key = None  # the change committed, its answer did not: the external id finds it
            continue
        if r.status_code != 503:
            raise AssertionError(f"ticket {i}: {r.status_code} {r.text[:300]}")
        time.sleep(min(5.0, float(r.headers.get("Retry-After", "1"))) / 5)
    raise AssertionError(f"ticket {i} not accepted within {GIVE_UP_S} s")


def test_tickets_exactly_once_through_an_outage(stack: Stack, serve):
    server = serve()
    point = ticket_point(stack)
    run = uuid.uuid4().hex[:8]
    log: list[tuple[int, int, str]] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            send(server.url, stack.api_token, point, run, i, log)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)

    threads = []
    for i in range(TICKETS):
        if i == TICKETS // 4:
            stack.primary.stop()
            restart = threading.Timer(OUTAGE_S, stack.primary.start)
            restart.start()
        t = threading.Thread(target=one, args=(i,), daemon=True)
        t.start()
        threads.append(t)
        time.sleep(1 / RATE_PER_S)
    restart.join()
    for t in threads:
        t.join(GIVE_UP_S + 10)
    assert not errors, errors[:3]

    statuses = [s for _, s, _ in log]
    assert statuses.count(503) + statuses.count(0) > 0, "no request met the outage"
    assert all(s in (0, 200, 201, 409, 503) for s in statuses), sorted(set(statuses))
    (stored, distinct, externals) = stack.sql(
        "SELECT count(*), count(DISTINCT t.description), count(DISTINCT e.external_id)"
        "  FROM ticket t LEFT JOIN ticket_external e ON e.ticket_id = t.id"
        " WHERE t.description LIKE %s",
        (f"faults-d {run} %",),
    )[0]
    assert (stored, distinct, externals) == (TICKETS, TICKETS, TICKETS), log
