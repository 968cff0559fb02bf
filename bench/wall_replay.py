"""Replay of a captured wall from N virtual screens: the schedule (each screen sends each
periodic request at its period, from a random phase), what one screen keeps between polls as a
browser does (cookies, ETag → If-None-Match, the worker delta's ``since``), the statistics of a
run, and the propagation of a ticket written during the run to every screen that shows it.

Open loop, as Dash's interval timers are: a request is sent when due even if the previous one
of the same screen is still waiting, so an overloaded server sees the offered load, not less.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from bench.wall_capture import Periodic
from bench.wall_http import Response, ScreenClient

BROWSER_ACCEPT_ENCODING = "gzip, deflate, br, zstd"


class Schedule:
    """When each (screen, request) is due: first at a random phase in [0, period), then every
    period, until ``duration``; iterated in time order."""

    def __init__(
        self, screens: int, periods: list[float], duration: float, rng: random.Random
    ) -> None:
        self.duration = duration
        self.periods = periods
        self._heap: list[tuple[float, int, int]] = []
        for s in range(screens):
            for i, p in enumerate(periods):
                t = rng.uniform(0, p)
                if t < duration:
                    self._heap.append((t, s, i))
        heapq.heapify(self._heap)

    def __iter__(self) -> Iterator[tuple[float, int, int]]:
        while self._heap:
            t, s, i = heapq.heappop(self._heap)
            nxt = t + self.periods[i]
            if nxt < self.duration:
                heapq.heappush(self._heap, (nxt, s, i))
            yield t, s, i


def expected_requests(screens: int, periods: list[float], duration: float) -> float:
    """The mean number of requests a Schedule sends (each request ~ duration / period)."""
    return screens * sum(duration / p for p in periods)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) by linear interpolation between closest ranks; NaN if empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(slots=True)  # a soak keeps hundreds of thousands
class Outcome:
    key: str
    sent: float  # seconds since the run started
    status: int | str  # HTTP status, "timeout" or "error"
    latency: float  # seconds
    size: int  # body bytes on the wire


def status_class(status: int | str) -> str:
    if isinstance(status, str):
        return status
    if status == 304:
        return "304"
    return f"{status // 100}xx"


@dataclass
class RunStats:
    """Counts and latency percentiles of a set of outcomes over ``duration`` seconds."""

    requests: int
    classes: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    per_s: float
    kb_per_s: float

    @classmethod
    def of(cls, outcomes: list[Outcome], duration: float) -> RunStats:
        classes: dict[str, int] = {}
        for o in outcomes:
            c = status_class(o.status)
            classes[c] = classes.get(c, 0) + 1
        lat = [o.latency * 1000 for o in outcomes if not isinstance(o.status, str)]
        return cls(
            requests=len(outcomes),
            classes=classes,
            p50_ms=percentile(lat, 0.5),
            p95_ms=percentile(lat, 0.95),
            p99_ms=percentile(lat, 0.99),
            max_ms=max(lat) if lat else float("nan"),
            per_s=len(outcomes) / duration if duration else 0.0,
            kb_per_s=sum(o.size for o in outcomes) / 1024 / duration if duration else 0.0,
        )

    @property
    def errors(self) -> int:
        """Everything a screen would count as a failed refresh."""
        return sum(n for c, n in self.classes.items() if c not in ("2xx", "304"))


def with_since(target: str, since: int) -> str:
    """``target`` with its ``since`` query parameter set to ``since``."""
    parts = urlsplit(target)
    q = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "since"]
    q.append(("since", str(since)))
    return f"{parts.path}?{urlencode(q)}"


@dataclass
class Screen:
    """One virtual screen: its connections and what a browser keeps between polls."""

    index: int
    jurisdiction: str
    client: ScreenClient
    etags: dict[str, tuple[str, str]] = field(default_factory=dict)  # key → (URL, ETag)
    since: dict[str, int] = field(default_factory=dict)
    version: int | None = None  # X-Data-Version of the last counters feed answer
    counters_hash: str | None = None  # the KPI block of the last counters callback answer
    counters_at: float | None = None
    # (sent, answered, status, X-Data-Version) of every counters answer: what the propagation
    # figure is made of, kept for the report of the slowest screens.
    counters_log: list[tuple[float, float, int, int | None]] = field(default_factory=list)


def counters_signature(resp: Response) -> tuple[int | None, str | None]:
    """(X-Data-Version, digest of the KPI block) of a counters answer; either may be None."""
    version = resp.headers.get("x-data-version")
    digest = None
    if resp.status == 200 and resp.body:
        try:
            doc = json.loads(resp.decoded())
        except (ValueError, OSError):
            doc = None
        if isinstance(doc, dict) and isinstance(doc.get("response"), dict):
            kpis = doc["response"].get("gs-kpis")
            if kpis is not None:
                digest = hashlib.blake2b(
                    json.dumps(kpis, sort_keys=True).encode(), digest_size=8
                ).hexdigest()
        elif isinstance(doc, dict) and "data" in doc:
            digest = hashlib.blake2b(
                json.dumps(doc["data"], sort_keys=True).encode(), digest_size=8
            ).hexdigest()
    return (int(version) if version and version.isdigit() else None), digest


@dataclass
class Propagation:
    """A ticket written at ``written`` (run seconds, when the API answered): per watching screen
    the run time at which it first received counters showing it."""

    written: float
    version: int  # the data version right after the write
    baseline: dict[int, str | None]  # screen → its KPI digest before the write (Dash path)
    seen: dict[int, float] = field(default_factory=dict)

    def check(self, screen: Screen, now: float) -> None:
        if screen.index in self.seen or screen.index not in self.baseline:
            return
        if screen.version is not None:
            if screen.version >= self.version:
                self.seen[screen.index] = now - self.written
        elif (
            screen.counters_hash is not None
            and self.baseline[screen.index] is not None
            and screen.counters_hash != self.baseline[screen.index]
        ):
            self.seen[screen.index] = now - self.written


class Replayer:
    """Sends the captured periodic requests from ``screens`` until ``duration`` elapses."""

    def __init__(
        self,
        requests: list[Periodic],
        screens: list[Screen],
        duration: float,
        seed: int,
        timeout: float,
    ) -> None:
        self.requests, self.screens = requests, screens
        self.duration, self.timeout = duration, timeout
        self.schedule = Schedule(
            len(screens), [r.period_s for r in requests], duration, random.Random(seed)
        )
        self.outcomes: list[Outcome] = []
        self.lag: list[float] = []  # how late the event loop sent each request (s)
        self.propagation: Propagation | None = None
        self.server_period: float | None = None  # period_s a counters feed answer announced
        self.started = 0.0
        self._bodies = [r.body.encode() if r.body is not None else None for r in requests]
        self._headers = []
        for r in requests:
            h = dict(r.headers)
            if not any(k.lower() == "accept-encoding" for k in h):
                h["Accept-Encoding"] = BROWSER_ACCEPT_ENCODING
            self._headers.append(h)

    def now(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> None:
        self.started = time.monotonic()
        tasks: set[asyncio.Task] = set()
        for t, s, i in self.schedule:
            delay = t - self.now()
            if delay > 0:
                await asyncio.sleep(delay)
            self.lag.append(max(0.0, self.now() - t))
            task = asyncio.create_task(self.fire(self.screens[s], i))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        rest = self.duration - self.now()
        if rest > 0:
            await asyncio.sleep(rest)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def fire(self, screen: Screen, i: int) -> None:
        req = self.requests[i]
        headers = dict(self._headers[i])
        target = req.target
        if req.method == "GET":
            if req.since:
                target = with_since(target, screen.since.get(req.key, 0))
            url, etag = screen.etags.get(req.key, ("", ""))
            if etag and url == target:
                headers["If-None-Match"] = etag
        sent = self.now()
        t0 = time.perf_counter()
        try:
            resp = await screen.client.request(
                req.method, target, headers, self._bodies[i], self.timeout
            )
        except TimeoutError:
            self.outcomes.append(Outcome(req.key, sent, "timeout", self.timeout, 0))
            return
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self.outcomes.append(Outcome(req.key, sent, "error", time.perf_counter() - t0, 0))
            return
        latency = time.perf_counter() - t0
        self.outcomes.append(Outcome(req.key, sent, resp.status, latency, len(resp.body)))
        self._remember(screen, req, target, resp, sent)

    def _remember(
        self, screen: Screen, req: Periodic, target: str, resp: Response, sent: float
    ) -> None:
        if req.method == "GET" and resp.status == 200 and "etag" in resp.headers:
            # A validator belongs to its URL, as in a browser's cache (a new ``since`` is a
            # new URL); only the last one per request is kept.
            screen.etags[req.key] = (target, resp.headers["etag"])
        if req.since and resp.status == 200:
            try:
                seq = json.loads(resp.decoded())["data"]["seq"]
                screen.since[req.key] = int(seq)
            except (ValueError, KeyError, TypeError, OSError):
                pass
        if req.counters and resp.status in (200, 304):
            if (
                self.server_period is None
                and resp.status == 200
                and "x-data-version" in resp.headers
            ):
                try:
                    self.server_period = float(json.loads(resp.decoded())["period_s"])
                except (ValueError, KeyError, TypeError, OSError):
                    self.server_period = float("nan")
            version, digest = counters_signature(resp)
            if version is not None:
                screen.version = max(version, screen.version or 0)
            screen.counters_log.append((sent, self.now(), resp.status, version))
            if digest is not None:
                screen.counters_hash = digest
            screen.counters_at = self.now()
            if self.propagation is not None:
                self.propagation.check(screen, self.now())

    def window(self, start: float, end: float) -> list[Outcome]:
        """Outcomes of the requests sent in [start, end) run seconds."""
        return [o for o in self.outcomes if start <= o.sent < end]


async def open_sessions(
    host: str,
    port: int,
    walls: list[tuple[str, str]],
    count: int,
    parallel: int = 8,
) -> list[Screen]:
    """``count`` screens, round-robin over ``walls`` [(jurisdiction, /wall/<secret>)], each with
    the wall session its own GET of the link opened."""
    sem = asyncio.Semaphore(parallel)

    async def one(i: int) -> Screen:
        jurisdiction, path = walls[i % len(walls)]
        client = ScreenClient(host, port)
        async with sem:
            for attempt in range(20):
                try:
                    resp = await client.request("GET", path, {"Accept": "text/html"}, None, 30)
                except (TimeoutError, OSError):
                    # A saturated server (the old code path still draining the previous run's
                    # backlog) answers late: wait and try again rather than end the whole run.
                    await asyncio.sleep(min(10.0, 1.0 * (attempt + 1)))
                    continue
                if resp.status in (301, 302, 303) and client.cookies:
                    break
                if resp.status != 429:
                    raise SystemExit(f"{path[:16]}… answered {resp.status}: no wall session")
                await asyncio.sleep(min(5.0, 0.5 * (attempt + 1)))
            else:
                raise SystemExit("wall sign-in stayed rate limited or timed out (20 attempts)")
        return Screen(i, jurisdiction, client)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def summarise_propagation(p: Propagation | None, screens: list[Screen]) -> dict[str, Any] | None:
    """Median and max of the propagation times, and the counters answers of the three slowest
    (or never reached) screens from one period before the write: why they took that long."""
    if p is None:
        return None
    times = sorted(p.seen.values())
    by_index = {s.index: s for s in screens}
    slow = sorted(p.baseline, key=lambda i: -p.seen.get(i, float("inf")))[:3]
    slowest = []
    for i in slow:
        s = by_index[i]
        log = [
            [round(sent, 2), round(done, 2), status, version]
            for sent, done, status, version in s.counters_log
            if done >= p.written - 35
        ]
        slowest.append(
            {"screen": i, "jurisdiction": s.jurisdiction, "seen_s": p.seen.get(i), "answers": log}
        )
    return {
        "watching": len(p.baseline),
        "seen": len(times),
        "median_s": percentile(times, 0.5),
        "max_s": times[-1] if times else float("nan"),
        "written_s": p.written,
        "version": p.version,
        "slowest": slowest,
    }
