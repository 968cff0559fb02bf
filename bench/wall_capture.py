"""Capture what a real wall asks the server for: open a wall link in Debian's chromium
(Playwright), record every request the page sends for a while, and derive from the repeats of
each distinct request its period. The result (a JSON file) is what bench/wall_load.py replays
from N virtual screens.

A request's identity (``key``) ignores what changes between two polls of the same thing: for a
Dash callback (POST /_dash-update-component) it is the callback's output, for a GET its path
and query without the volatile parameters (``since`` of the worker delta, cache busters).
Requests the page repeats after it settled are periodic (period = median gap between repeats);
the others are one-shot (page load, geometry) and are listed but not replayed.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

CHROMIUM = "/usr/bin/chromium"
# As tests/browser/conftest.py launches it (kept in step by hand: bench does not import tests).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-features=Translate,OptimizationHints",
]
# Query parameters that change from one poll to the next of the same request.
VOLATILE = frozenset({"since", "_", "t", "ts", "nocache"})
# Request headers not replayed as captured: the replayer sets these itself.
OWN_HEADERS = frozenset(
    {"cookie", "host", "content-length", "connection", "if-none-match", "if-modified-since"}
)
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/favicon")
DASH_UPDATE = "/_dash-update-component"


@dataclass
class Seen:
    """One request the page sent."""

    t: float  # seconds since navigation started
    method: str
    target: str  # path?query
    body: str | None
    headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Periodic:
    """A distinct request to replay: its captured form and its period."""

    key: str
    kind: str  # dash | feed | geo | other
    method: str
    target: str
    body: str | None
    headers: dict[str, str]
    period_s: float
    count: int
    gaps_s: list[float]
    counters: bool  # the request that carries the KPI counters (propagation is measured on it)
    since: bool  # a worker delta: the replayer sends the last seq it received


def request_key(method: str, target: str, body: str | None) -> str:
    """The identity of a request across polls (see module docstring)."""
    parts = urlsplit(target)
    if method == "POST" and parts.path == DASH_UPDATE and body:
        try:
            return f"dash {json.loads(body).get('output', '?')}"
        except (ValueError, AttributeError):
            return f"dash ?{len(body)}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query) if k not in VOLATILE)
    return f"{method} {parts.path}" + (f"?{urlencode(query)}" if query else "")


def kind_of(target: str) -> str:
    path = urlsplit(target).path
    if path == DASH_UPDATE:
        return "dash"
    for prefix in ("feed", "geo"):
        if path.startswith(f"/{prefix}/"):
            return prefix
    return "other"


def is_counters(method: str, target: str, body: str | None) -> bool:
    """The counters feed, or the Dash callback that renders the KPI block (gs-kpis)."""
    path = urlsplit(target).path
    if path == "/feed/counters":
        return True
    return path == DASH_UPDATE and bool(body) and "gs-kpis.children" in (body or "")


def periodic_requests(seen: list[Seen], settled_t: float) -> list[Periodic]:
    """The distinct requests the page repeats after it settled (``settled_t``), in key order.

    A request's period is the median gap between its consecutive sends after ``settled_t``; a
    request sent only once after it, but also during the page load, gets the gap from its last
    load-time send (Dash's interval timers start with the page, and the first callbacks can
    fire twice while the layout settles, so load-time gaps are not used otherwise)."""
    groups: dict[str, list[Seen]] = {}
    for s in seen:
        if urlsplit(s.target).path.startswith(STATIC_PREFIXES):
            continue
        groups.setdefault(request_key(s.method, s.target, s.body), []).append(s)
    out = []
    for key, items in sorted(groups.items()):
        items.sort(key=lambda s: s.t)
        after = [s for s in items if s.t >= settled_t]
        before = [s for s in items if s.t < settled_t]
        if len(after) >= 2:
            gaps = [round(b.t - a.t, 3) for a, b in zip(after, after[1:], strict=False)]
        elif len(after) == 1 and before:
            gaps = [round(after[0].t - before[-1].t, 3)]
        else:
            continue
        first = after[0]
        out.append(
            Periodic(
                key=key,
                kind=kind_of(first.target),
                method=first.method,
                target=first.target,
                body=first.body,
                headers={k: v for k, v in first.headers.items() if k.lower() not in OWN_HEADERS},
                period_s=round(statistics.median(gaps), 1),
                count=len(after),
                gaps_s=gaps,
                counters=is_counters(first.method, first.target, first.body),
                since="since" in dict(parse_qsl(urlsplit(first.target).query)),
            )
        )
    return out


def capture(
    base_url: str, wall_path: str, seconds: float, label: str, settle_s: float = 3.0
) -> dict[str, Any]:
    """Open ``base_url + wall_path`` in chromium at 1920×1080 and record for ``seconds``
    after the page settled (network idle + ``settle_s``). Returns the capture as a dict."""
    from playwright.sync_api import sync_playwright

    seen: list[Seen] = []
    by_request: dict[int, Seen] = {}
    origin = urlsplit(base_url)
    t0 = time.monotonic()

    def on_request(req) -> None:
        u = urlsplit(req.url)
        if (u.hostname, u.port) != (origin.hostname, origin.port):
            return
        target = u.path + (f"?{u.query}" if u.query else "")
        s = Seen(time.monotonic() - t0, req.method, target, req.post_data, dict(req.headers))
        by_request[id(req)] = s
        seen.append(s)

    def on_response(resp) -> None:
        s = by_request.get(id(resp.request))
        if s is not None:
            s.status = resp.status
            keep = ("etag", "x-data-version", "content-encoding", "content-type", "x-as-of")
            s.response_headers = {k: v for k, v in resp.headers.items() if k in keep}

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
            page = ctx.new_page()
            page.on("request", on_request)
            page.on("response", on_response)
            t0 = time.monotonic()
            page.goto(base_url + wall_path, wait_until="networkidle", timeout=120_000)
            page.wait_for_timeout(settle_s * 1000)
            settled = time.monotonic() - t0
            landed = page.url
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                page.wait_for_timeout(500)
            ctx.close()
        finally:
            browser.close()
    periodic = periodic_requests(seen, settled)
    return {
        "label": label,
        "base_url": base_url,
        "landed": urlsplit(landed).path,
        "captured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "settled_s": round(settled, 2),
        "seconds": seconds,
        "periodic": [asdict(r) for r in periodic],
        "requests": [asdict(s) for s in seen],
    }


def load_periodic(cap: dict[str, Any]) -> list[Periodic]:
    """The periodic requests of a capture read back from JSON."""
    return [Periodic(**r) for r in cap["periodic"]]


def describe(cap: dict[str, Any]) -> str:
    """A few lines: what the page sends periodically, and how many one-shot requests."""
    rows = load_periodic(cap)
    keys = {r.key for r in rows}
    once = [
        s
        for s in cap["requests"]
        if request_key(s["method"], s["target"], s["body"]) not in keys
        and not urlsplit(s["target"]).path.startswith(STATIC_PREFIXES)
    ]
    lines = [
        f"capture {cap['label']}: {len(cap['requests'])} requests in "
        f"{cap['settled_s'] + cap['seconds']:.0f} s (settled after {cap['settled_s']:.1f} s, "
        f"landed on {cap['landed']}); {len(rows)} periodic, {len(once)} one-shot (not replayed)"
    ]
    for r in rows:
        flags = " [counters]" * r.counters + " [since]" * r.since
        lines.append(f"  every {r.period_s:5.1f} s ×{r.count:<3} {r.key[:110]}{flags}")
    return "\n".join(lines)


def save(cap: dict[str, Any], path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cap, f, ensure_ascii=False, indent=1)


def load(path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)
