"""Virtual wall screens for the fault tier: each opens a wall session from a wall link and polls
the feed endpoints (docs: the feed contract) with ``If-None-Match``, as the wall's JS does, and
records what it saw: status, and the panel state it would show (a 304 keeps the last body).

Threads with ``requests`` (one Session per screen: its own cookies and keep-alive connections,
gzip decoded as a browser does); a handful of screens is enough to see faults, the benchmark in
bench/ does volume."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import requests

# Feed paths the screens poll (the workers layer as a delta, its `since` added per request).
FEEDS = ("counters", "ticker", "layer-overdue", "workers")


@dataclass(frozen=True)
class Poll:
    """One request of one screen and the panel state after it."""

    t: float  # time.monotonic() when the answer arrived
    screen: int
    feed: str
    status: int  # 0: no HTTP answer (refused, reset, timeout)
    elapsed: float
    stale: bool | None  # of the body shown (the last 200's when this was a 304)
    version: int | None
    digest: str | None  # of the body's "data"
    error: str = ""


@dataclass
class _Panel:
    etag: str | None = None
    stale: bool | None = None
    version: int | None = None
    digest: str | None = None
    data: dict = field(default_factory=dict)
    since: int = 0


def digest_of(data: object) -> str:
    return hashlib.blake2b(
        json.dumps(data, sort_keys=True, default=str).encode(), digest_size=8
    ).hexdigest()


class Screens:
    """``n`` screens polling ``feeds`` every ``poll_s`` seconds (staggered) until ``stop()``."""

    def __init__(
        self,
        base_url: str,
        wall_path: str,
        n: int = 4,
        poll_s: float = 1.0,
        feeds: Iterable[str] = FEEDS,
        timeout_s: float = 10.0,
        periods: Mapping[str, float] | None = None,
        wall_paths: Sequence[str] = (),
    ):
        """``periods``: seconds between polls per feed (default ``poll_s`` for all), e.g. the
        real refresh periods for a sizing run; ``wall_paths``: screens take these wall links
        in turn (several jurisdictions) instead of ``wall_path``."""
        self.base_url, self.wall_path = base_url.rstrip("/"), wall_path
        self.n, self.poll_s, self.feeds, self.timeout_s = n, poll_s, tuple(feeds), timeout_s
        self.periods = {f: (periods or {}).get(f, poll_s) for f in self.feeds}
        self.wall_paths = tuple(wall_paths) or (wall_path,)
        self.polls: list[Poll] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.last: dict[tuple[int, str], _Panel] = {}

    # -- running ---------------------------------------------------------------------------
    def open_session(self, wall_path: str | None = None) -> requests.Session:
        """A browser-like session signed in through a wall link (fails the test if not)."""
        s = requests.Session()
        path = wall_path or self.wall_path
        r = s.get(self.base_url + path, timeout=self.timeout_s, allow_redirects=False)
        if r.status_code not in (200, 302, 303) or not s.cookies:
            raise AssertionError(f"wall link refused: {r.status_code} {r.text[:200]}")
        return s

    def start(self) -> Screens:
        paths = self.wall_paths
        sessions = [self.open_session(paths[i % len(paths)]) for i in range(self.n)]
        for i, s in enumerate(sessions):
            t = threading.Thread(target=self._run, args=(i, s), daemon=True, name=f"screen-{i}")
            self._threads.append(t)
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout_s + 5)

    def __enter__(self) -> Screens:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self, screen: int, session: requests.Session) -> None:
        # Stagger screens over one poll period, as walls switched on at different times are.
        phase = screen / max(1, self.n)
        due = {f: time.monotonic() + p * phase for f, p in self.periods.items()}
        while not self._stop.is_set():
            feed = min(due, key=due.__getitem__)
            if self._stop.wait(max(0.0, due[feed] - time.monotonic())):
                break
            self._poll(screen, session, feed)
            due[feed] = max(due[feed] + self.periods[feed], time.monotonic())
        session.close()

    def _poll(self, screen: int, session: requests.Session, feed: str) -> None:
        panel = self.last.setdefault((screen, feed), _Panel())
        url = f"{self.base_url}/feed/{feed}"
        params = {"since": str(panel.since)} if feed == "workers" else None
        headers = {"If-None-Match": panel.etag} if panel.etag else {}
        t0 = time.monotonic()
        status, error = 0, ""
        try:
            r = session.get(url, params=params, headers=headers, timeout=self.timeout_s)
            status = r.status_code
            if status == 200:
                body = r.json()
                panel.etag = r.headers.get("ETag")
                panel.stale = bool(body.get("stale"))
                panel.version = body.get("version")
                panel.data = body.get("data") or {}
                panel.digest = digest_of(panel.data)
                if feed == "workers":
                    panel.since = int(panel.data.get("seq") or 0)
            elif status == 304:
                # Same ETag: same data and staleness; the data version may have moved on (an
                # unchanged recomputation), as X-Data-Version says.
                version = r.headers.get("X-Data-Version")
                if version and version.isdigit():
                    panel.version = int(version)
            else:
                error = r.text[:200]
        except (requests.RequestException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        poll = Poll(
            time.monotonic(),
            screen,
            feed,
            status,
            time.monotonic() - t0,
            panel.stale,
            panel.version,
            panel.digest,
            error,
        )
        with self._lock:
            self.polls.append(poll)

    # -- reading the record ----------------------------------------------------------------
    def between(self, start: float = 0.0, end: float = float("inf")) -> list[Poll]:
        with self._lock:
            return [p for p in self.polls if start <= p.t <= end]

    def failures(self, start: float = 0.0, end: float = float("inf")) -> list[Poll]:
        """Answers a screen would count as errors: 5xx, or no HTTP answer at all."""
        return [p for p in self.between(start, end) if p.status == 0 or p.status >= 500]

    def wait_for(
        self, pred: Callable[[Poll], bool], after: float, timeout: float, feed: str | None = None
    ) -> float | None:
        """Seconds from ``after`` until every screen saw a poll of ``feed`` (each feed when
        None) satisfying ``pred``; None if that did not happen within ``timeout`` seconds
        from now (0: look at what was seen so far only)."""
        feeds = (feed,) if feed else self.feeds
        deadline = time.monotonic() + timeout
        while True:
            done: dict[tuple[int, str], float] = {}
            for p in self.between(after):
                if p.feed in feeds and pred(p):
                    done.setdefault((p.screen, p.feed), p.t)
            if len(done) == self.n * len(feeds):
                return max(done.values()) - after
            if time.monotonic() > deadline:
                return None
            time.sleep(0.1)

    def summary(self, start: float = 0.0, end: float = float("inf")) -> str:
        """Counts by feed and status, for failure messages."""
        counts: dict[str, dict[int, int]] = {}
        for p in self.between(start, end):
            by = counts.setdefault(p.feed, {})
            by[p.status] = by.get(p.status, 0) + 1
        errors = [f"{p.feed} {p.status} {p.error}" for p in self.failures(start, end)[:5]]
        return f"{counts} first errors: {errors}"
