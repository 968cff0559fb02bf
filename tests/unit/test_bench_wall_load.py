"""The wall load benchmark's own logic, without a server: the replay schedule, the statistics,
how a capture becomes periodic requests, the propagation rule and the HTTP head parser."""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.wall_capture import Seen, periodic_requests, request_key
from bench.wall_http import Response, parse_head
from bench.wall_replay import (
    Outcome,
    Propagation,
    RunStats,
    Schedule,
    Screen,
    counters_signature,
    expected_requests,
    percentile,
    with_since,
)


def test_schedule_sends_each_request_at_its_period_from_a_phase_within_one_period():
    periods = [10.0, 15.0, 30.0]
    duration = 95.0
    sched = Schedule(7, periods, duration, random.Random(3))
    times = list(sched)
    assert [t for t, _s, _i in times] == sorted(t for t, _s, _i in times)
    by_pair: dict[tuple[int, int], list[float]] = defaultdict(list)
    for t, s, i in times:
        by_pair[(s, i)].append(t)
    assert set(by_pair) == {(s, i) for s in range(7) for i in range(3)}
    for (_s, i), ts in by_pair.items():
        p = periods[i]
        assert 0 <= ts[0] < p
        assert all(math.isclose(b - a, p) for a, b in zip(ts, ts[1:], strict=False))
        assert ts[-1] < duration <= ts[-1] + p  # every send that fits, none after the end


def test_schedule_phases_are_spread_not_synchronised():
    sched = Schedule(200, [30.0], 30.0, random.Random(1))
    firsts = sorted(t for t, _s, _i in sched)
    assert len(firsts) == 200
    # Uniform phases: each 10 s third of the period gets roughly a third of the screens.
    thirds = [sum(1 for t in firsts if k * 10 <= t < (k + 1) * 10) for k in range(3)]
    assert all(40 < n < 95 for n in thirds), thirds


def test_schedule_count_matches_the_expected_rate():
    periods = [10.0, 15.0, 30.0]
    n = sum(1 for _ in Schedule(100, periods, 120.0, random.Random(5)))
    assert n == pytest.approx(expected_requests(100, periods, 120.0), rel=0.01)


def test_percentile_interpolates_between_ranks():
    assert percentile([], 0.5) != percentile([], 0.5)  # NaN
    assert percentile([5.0], 0.99) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.95) == pytest.approx(95.05)
    assert percentile(list(reversed(values)), 0.0) == 1.0
    assert percentile(values, 1.0) == 100.0


def test_run_stats_counts_classes_and_leaves_failures_out_of_latency():
    outs = [
        Outcome("a", 0.0, 200, 0.010, 1000),
        Outcome("a", 1.0, 304, 0.002, 0),
        Outcome("a", 2.0, 503, 0.005, 50),
        Outcome("b", 3.0, 403, 0.004, 10),
        Outcome("b", 4.0, "timeout", 60.0, 0),
        Outcome("b", 5.0, "error", 0.001, 0),
    ]
    st = RunStats.of(outs, 10.0)
    assert st.requests == 6
    assert st.classes == {"2xx": 1, "304": 1, "5xx": 1, "4xx": 1, "timeout": 1, "error": 1}
    assert st.errors == 4
    assert st.max_ms == pytest.approx(10.0)  # the timeout's 60 s is not a latency
    assert st.p50_ms == pytest.approx(4.5)
    assert st.per_s == pytest.approx(0.6)
    assert st.kb_per_s == pytest.approx(1060 / 1024 / 10)


def test_with_since_replaces_only_since():
    assert with_since("/feed/workers?since=0&unit=3304", 42) == "/feed/workers?unit=3304&since=42"
    assert with_since("/feed/workers", 7) == "/feed/workers?since=7"


def _dash(output: str, n: int) -> str:
    return json.dumps({"output": output, "inputs": [{"id": "tick", "value": n}]})


def test_request_key_ignores_what_changes_between_polls():
    assert request_key("GET", "/feed/workers?since=5&unit=1", None) == request_key(
        "GET", "/feed/workers?unit=1&since=9", None
    )
    assert request_key("GET", "/feed/ticker?unit=1", None) != request_key(
        "GET", "/feed/ticker?unit=2", None
    )
    url = "/_dash-update-component?endId=x"
    assert request_key("POST", url, _dash("gs-kpis.children", 1)) == request_key(
        "POST", url, _dash("gs-kpis.children", 2)
    )


def test_periodic_requests_from_a_capture():
    dash = "/_dash-update-component"
    seen = [
        Seen(0.1, "GET", "/screen", None, {}),
        Seen(0.2, "GET", "/assets/app.js", None, {}),
        Seen(1.0, "GET", "/geo/units/grid.pbf?v=1", None, {}),
        Seen(1.1, "POST", dash, _dash("..gs-kpis.children...gs-basic.children..", 0), {}),
        # Fired twice while the page settled, then every 30 s: load-time gaps are not used.
        Seen(1.2, "POST", dash, _dash("heat.data", 0), {}),
        Seen(1.4, "POST", dash, _dash("heat.data", 1), {}),
        Seen(31.0, "POST", dash, _dash("..gs-kpis.children...gs-basic.children..", 1), {}),
        Seen(31.3, "POST", dash, _dash("heat.data", 2), {}),
    ]
    for k, t in enumerate((10.0, 25.0, 40.0, 55.0)):
        seen.append(Seen(t, "GET", f"/feed/workers?since={k}", None, {"Cookie": "x", "a": "1"}))
    rows = {r.key: r for r in periodic_requests(seen, settled_t=5.0)}
    assert set(rows) == {
        "dash ..gs-kpis.children...gs-basic.children..",
        "dash heat.data",
        "GET /feed/workers",
    }
    kpis = rows["dash ..gs-kpis.children...gs-basic.children.."]
    assert (kpis.period_s, kpis.counters, kpis.kind) == (29.9, True, "dash")
    assert rows["dash heat.data"].period_s == 29.9
    workers = rows["GET /feed/workers"]
    assert (workers.period_s, workers.count, workers.since, workers.kind) == (15.0, 4, True, "feed")
    assert workers.headers == {"a": "1"}  # the replayer sets its own cookies
    assert not workers.counters


def _screen(index: int) -> Screen:
    return Screen(index, "330402007", client=None)  # type: ignore[arg-type]


def test_propagation_by_data_version():
    p = Propagation(written=20.0, version=100, baseline={0: None, 1: None})
    a, b, outsider = _screen(0), _screen(1), _screen(2)
    a.version, b.version, outsider.version = 99, 100, 100
    for s in (a, b, outsider):
        p.check(s, 21.5)
    assert p.seen == {1: 1.5}  # a is behind; the outsider does not show the ticket's town
    a.version = 101
    p.check(a, 30.0)
    b.version = 102
    p.check(b, 40.0)  # the first time counts
    assert p.seen == {1: 1.5, 0: 10.0}


def test_propagation_by_changed_counters_on_the_callback_path():
    p = Propagation(written=10.0, version=100, baseline={0: "old", 1: None})
    a, b = _screen(0), _screen(1)
    a.counters_hash = "old"
    p.check(a, 12.0)
    assert p.seen == {}
    a.counters_hash = "new"
    p.check(a, 15.0)
    b.counters_hash = "new"
    p.check(b, 16.0)  # no baseline: cannot tell
    assert p.seen == {0: 5.0}


def test_counters_signature_reads_the_version_or_the_kpi_block():
    feed = Response(200, {"x-data-version": "57"}, json.dumps({"data": {"k": 1}}).encode())
    assert counters_signature(feed)[0] == 57
    body = {"multi": True, "response": {"gs-kpis": {"children": [1]}, "gs-status": {"t": 1}}}
    d1 = counters_signature(Response(200, {}, json.dumps(body).encode()))
    body["response"]["gs-status"] = {"t": 2}  # the server time moves; the KPIs did not
    d2 = counters_signature(Response(200, {}, json.dumps(body).encode()))
    body["response"]["gs-kpis"] = {"children": [2]}
    d3 = counters_signature(Response(200, {}, json.dumps(body).encode()))
    assert d1 == d2 and d1[0] is None and d1[1] != d3[1]
    assert counters_signature(Response(304, {"x-data-version": "58"}, b"")) == (58, None)


def test_parse_head():
    raw = (
        b'HTTP/1.1 304 NOT MODIFIED\r\nETag: "abc"\r\nSet-Cookie: s=1; Path=/\r\n'
        b"Vary: Cookie\r\nVary: Accept-Encoding\r\n\r\n"
    )
    status, headers, cookies = parse_head(raw)
    assert status == 304
    assert headers["etag"] == '"abc"'
    assert headers["vary"] == "Cookie, Accept-Encoding"
    assert cookies == ["s=1; Path=/"]
    with pytest.raises(ConnectionError):
        parse_head(b"garbage\r\n\r\n")


def test_client_keeps_alive_reads_chunked_and_reconnects_after_the_server_closed():
    """Against an in-process asyncio responder: a chunked answer with a cookie, a reuse of the
    kept connection, then a request after the responder closed the connection (a new one)."""
    import asyncio

    from bench.wall_http import ScreenClient

    connections = []

    async def handle(reader, writer):
        connections.append(writer)
        served = 0
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            served += 1
            cookie = b"yes" if b"Cookie: s=1" in head else b"no"
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: s=1; Path=/\r\n"
                b"\r\n3\r\n" + cookie[:3].ljust(3) + b"\r\n0\r\n\r\n"
            )
            await writer.drain()
            if served == 2:  # as gunicorn does after its keep-alive timeout
                writer.close()
                break

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = ScreenClient("127.0.0.1", port)
        bodies = [(await client.request("GET", "/", {}, None, 5)).body for _ in range(3)]
        client.close()
        server.close()
        await server.wait_closed()
        return bodies

    # In a thread of its own: in the full suite the browser tests' Playwright (sync API) leaves
    # an event loop registered as running in the main thread, where asyncio.run refuses to start.
    with ThreadPoolExecutor(1) as pool:
        bodies = pool.submit(asyncio.run, main()).result(timeout=60)
    assert bodies == [b"no ", b"yes", b"yes"]
    assert len(connections) == 2  # the second request reused the first connection
