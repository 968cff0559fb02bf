"""One run of the wall load benchmark: N virtual screens of one side (a server and its
capture) for the duration, with the server's, PostgreSQL's, Redis's and the load generator's
CPU, the server's memory, and the propagation ticket written midway."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from bench import wall_capture, wall_server
from bench.wall_replay import (
    Propagation,
    Replayer,
    RunStats,
    open_sessions,
    percentile,
    summarise_propagation,
)
from bench.wall_setup import backend_pids, read_version


class Side:
    """One code path under test: its server, its capture, its wall links."""

    def __init__(
        self, label: str, server: wall_server.Server, capture: dict[str, Any], redis_url: str
    ):
        self.label, self.server, self.capture = label, server, capture
        self.redis_url = redis_url
        self.requests = wall_capture.load_periodic(capture)
        periods = [r.period_s for r in self.requests if r.counters]
        self.counters_period = periods[0] if periods else None


async def write_ticket(rep: Replayer, side: Side, ctx: dict[str, Any], at: float) -> None:
    """At run second ``at``, POST the propagation ticket and start watching the screens."""
    from bench.wall_http import ScreenClient

    await asyncio.sleep(max(0.0, at - rep.now()))
    site = ctx["site"]
    body = json.dumps(
        {
            "service_code": site["category"],
            "lat": site["lat"],
            "long": site["lon"],
            "grid_code": site["grid"],
            "description": "bench.wall_load: propagation probe",
            "source": "app",
            "external_id": f"bench-wall-{uuid.uuid4().hex}",
        }
    ).encode()
    client = ScreenClient("127.0.0.1", side.server.port)
    headers = {"Authorization": f"Bearer {ctx['token']}", "Content-Type": "application/json"}
    resp = await client.request("POST", "/api/v1/tickets", headers, body, 30)
    client.close()
    if resp.status not in (200, 201):
        print(f"  propagation ticket refused: {resp.status} {resp.body[:200]!r}")
        return
    version = await asyncio.to_thread(read_version, ctx["db_url"])
    watching = [s for s in rep.screens if site["grid"].startswith(s.jurisdiction)]
    by_juris: dict[str, Counter] = {}
    for s in watching:
        if s.counters_hash:
            by_juris.setdefault(s.jurisdiction, Counter())[s.counters_hash] += 1
    baseline = {
        s.index: s.counters_hash
        or (by_juris[s.jurisdiction].most_common(1)[0][0] if s.jurisdiction in by_juris else None)
        for s in watching
    }
    rep.propagation = Propagation(rep.now(), version, baseline)


def pg_backends(side: Side, pids: list[int], ctx: dict[str, Any]) -> list[int]:
    """The PostgreSQL backends serving ``side``'s server processes (by client port)."""
    return backend_pids(ctx["db_url"], wall_server.client_ports(pids))


async def run_once(side: Side, screens: int, ctx: dict[str, Any], soak: bool) -> dict[str, Any]:
    args = ctx["args"]
    clients = await open_sessions("127.0.0.1", side.server.port, ctx["walls"], screens)
    rep = Replayer(side.requests, clients, ctx["duration"], args.seed + screens, args.timeout)
    pids = wall_server.server_pids(side.server.port)
    rss: list[int] = [wall_server.rss_bytes(pids)]
    cpu0, busy0, ru0 = (
        wall_server.cpu_seconds(pids),
        wall_server.machine_cpu(),
        resource.getrusage(resource.RUSAGE_SELF),
    )
    live0 = wall_server.cpu_seconds(ctx["live_pids"])
    pg0 = wall_server.process_cpu(pg_backends(side, pids, ctx))
    redis_pids = wall_server.server_pids(urlsplit(side.redis_url).port or 6379)
    redis0 = wall_server.process_cpu(redis_pids)
    t0 = time.monotonic()
    memory: list[dict[str, float]] = []

    async def monitor() -> None:
        step = 60.0 if soak else 5.0
        n = 0
        while True:
            await asyncio.sleep(step)
            n += 1
            cur = wall_server.server_pids(side.server.port) or pids
            rss.append(wall_server.rss_bytes(cur))
            if soak:
                pss = wall_server.pss_bytes(cur)
                win = RunStats.of(rep.window(rep.now() - step, rep.now()), step)
                memory.append({"minute": n, "rss_mib": rss[-1] / 2**20, "pss_mib": pss / 2**20})
                base = memory[0]["rss_mib"]
                print(
                    f"  minute {n}: server RSS {rss[-1] / 2**20:,.0f} MiB "
                    f"({(rss[-1] / 2**20 / base - 1) * 100:+.1f} % since minute 1), "
                    f"PSS {pss / 2**20:,.0f} MiB; last minute {win.requests:,} requests, "
                    f"errors {win.errors}, p95 {win.p95_ms:,.0f} ms",
                    flush=True,
                )

    mon = asyncio.create_task(monitor())
    writer = None
    if ctx.get("site") and side.counters_period:
        # Late enough for every screen to have polled counters once, early enough for each to
        # poll again 1.5 periods later.
        at = max(side.counters_period + 2, 0.0)
        at = min(at, ctx["duration"] - 1.5 * side.counters_period - 2)
        if at > 0:
            writer = asyncio.create_task(write_ticket(rep, side, ctx, at))
    await rep.run()
    mon.cancel()
    if writer is not None and not writer.done():
        writer.cancel()
    elapsed = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    end_pids = wall_server.server_pids(side.server.port) or pids
    rss.append(wall_server.rss_bytes(end_pids))
    if soak and (not memory or memory[-1]["minute"] < elapsed / 60 - 0.5):
        memory.append(
            {
                "minute": round(elapsed / 60, 1),
                "rss_mib": rss[-1] / 2**20,
                "pss_mib": wall_server.pss_bytes(end_pids) / 2**20,
            }
        )
    cpu = wall_server.cpu_seconds(sorted(set(pids) | set(end_pids))) - cpu0
    busy1 = wall_server.machine_cpu()
    live_cores = (wall_server.cpu_seconds(ctx["live_pids"]) - live0) / elapsed
    pg1 = wall_server.process_cpu(pg_backends(side, end_pids, ctx))
    pg_cores = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items()) / elapsed
    redis1 = wall_server.process_cpu(redis_pids)
    redis_cores = sum(v - redis0[pid] for pid, v in redis1.items() if pid in redis0) / elapsed
    for s in clients:
        s.client.close()
    ncpu = os.cpu_count() or 1
    return {
        "side": side.label,
        "screens": screens,
        "duration_s": ctx["duration"],
        "elapsed_s": elapsed,
        "stats": RunStats.of(rep.outcomes, ctx["duration"]),
        "outcomes": rep.outcomes,
        "ncpu": ncpu,
        "server_cores": cpu / elapsed,
        "rss_mib_max": max(rss) / 2**20,
        "rss_mib_end": rss[-1] / 2**20,
        "loadgen_core": (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / elapsed,
        "machine_busy": (busy1[0] - busy0[0]) / max(1e-9, busy1[1] - busy0[1]),
        "lag_p95_ms": percentile(rep.lag, 0.95) * 1000,
        "propagation": summarise_propagation(rep.propagation, rep.screens),
        "counters_period_s": side.counters_period,
        "server_period_s": rep.server_period,
        "live_cores": live_cores if ctx["live_pids"] else None,
        "pg_cores": pg_cores,
        "redis_cores": redis_cores,
        "memory": memory,
    }
