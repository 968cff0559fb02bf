"""The grid layer at city scale, on an already loaded demo (default: the large one, ≥10,000
grids): geometry bytes per level (gzip), recolour payload bytes, server time cold and warm, and
the browser's time from the geometry's arrival to the last of 10,000 polygons styled.

python -m bench layers [--database gs_layers_large] [--repeat 5] [--no-browser]

Targets (issue "Map layers at city scale"): grid geometry ≤ 1.5 MB gzipped; recolour ≤ 100 KB;
10,000 polygons styled ≤ 1 s after their data arrives (canvas renderer, preferCanvas).

The grid layer is public aggregates, the same payload for every role; the recolour figures are
taken for an analyst of the whole territory (``layer_payload`` with services bound to that
viewer, as a signed-in request is), and the browser signs in as a throw-away analyst account
(created for the run, disabled afterwards) before it opens /map.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common import bench_services, bench_settings, database_exists, median_ms, timed
from domain.config import Settings
from layers.grid_geometry import level_geometry
from layers.registry import get
from queries.geo import LEVELS, level_counts
from queries.scope import Scope
from queries.services import Services

TARGET_GEOMETRY_BYTES = 1_500_000
TARGET_RECOLOUR_BYTES = 100_000
TARGET_RENDER_MS = 1000.0
GS = str(Path(sys.executable).with_name("gridscope"))


def services_for(settings: Settings, namespace: str) -> Services:
    """The app's Services on the whole territory, with their own cache namespace, bound to an
    analyst of the whole territory (the layer payload is built for the request's viewer)."""
    from domain.access import Role
    from queries.viewer import Viewer

    viewer = Viewer("cli", 0, "bench", Role.ANALYST, Scope(""))
    return bench_services(settings, namespace).for_viewer(viewer)


def kb(n: int) -> str:
    return f"{n / 1024:,.1f} KB"


def bench_geometry(svc: Services, repeat: int) -> None:
    now = svc.clock.now()
    with svc.pool.connection() as conn:
        counts = level_counts(conn, svc.scope, now)
    print("geometry per level (gzipped geobuf, coverage-simplified):")
    for level in LEVELS:
        within = None
        if level == "micro":
            with svc.pool.connection() as conn:
                within = conn.execute(
                    "SELECT code FROM region WHERE level = 'town' AND valid_to IS NULL"
                    " ORDER BY code LIMIT 1"
                ).fetchone()[0]
        t = time.perf_counter()
        geo = level_geometry(svc, level, now, within)
        cold = (time.perf_counter() - t) * 1000
        warm = median_ms(timed(lambda lv=level, w=within: level_geometry(svc, lv, now, w), repeat))
        raw = len(gzip.decompress(geo.gz))
        what = f"{geo.features:,} units" + (f" in town {within}" if within else "")
        flag = ""
        if level == "grid":
            flag = "  OK" if len(geo.gz) <= TARGET_GEOMETRY_BYTES else "  OVER TARGET"
        print(
            f"  {level:<9} {what:<28} gzip {kb(len(geo.gz)):>11} (raw {kb(raw):>11});"
            f" server cold {cold:,.0f} ms, warm {warm:,.1f} ms{flag}"
        )
    print(f"  (units in scope: {counts})")


def bench_recolour(svc: Services, repeat: int) -> None:
    from dashboard.map.payload import layer_payload

    spec = get("grids")
    print("recolour payload (values per code + breaks + colours; JSON, gzip as sent):")
    worst = 0
    for level in ("county", "town", "community", "grid"):
        for measure, window in (
            ("created", "today"),
            ("created", "30d"),
            ("closure_rate", "30d"),
            ("per_1000_households", "30d"),
        ):
            raw = {"level": level, "measure": measure, "window": window}
            now = svc.clock.now()
            t = time.perf_counter()
            body = layer_payload(svc, spec, raw, {}, now)
            cold = (time.perf_counter() - t) * 1000
            warm = median_ms(timed(lambda r=raw, t=now: layer_payload(svc, spec, r, {}, t), repeat))
            gz = len(gzip.compress(body, 6))
            if level == "grid":
                worst = max(worst, gz)
            print(
                f"  {level:<9} {measure:<20} {window:<5} json {kb(len(body)):>10},"
                f" gzip {kb(gz):>9}; server cold {cold:,.0f} ms, warm {warm:,.1f} ms"
            )
    flag = "OK" if worst <= TARGET_RECOLOUR_BYTES else "OVER TARGET"
    print(f"  largest grid-level recolour: {kb(worst)} gzip (target ≤ 100 KB): {flag}")


RENDER_JS = """
async () => {
  const gs = window.gridscope;
  const e = performance.getEntriesByType('resource')
    .filter(r => r.name.includes('/geo/units/grid.pbf')).pop();
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return {arrived: e ? e.responseEnd : null, bytes: e ? e.encodedBodySize : null,
          first: gs.bench.first, last: gs.bench.last, n: Object.keys(gs.painted).length,
          frame: performance.now()};
}
"""

INSTRUMENT_JS = """
() => {
  const gs = window.gridscope, style = gs.unitStyle;
  gs.bench = {first: null, last: null};
  gs.unitStyle = function (f, c) {
    const out = style(f, c);
    if (f && f.properties && f.properties.level === 'grid') {
      const t = performance.now();
      if (gs.bench.first === null) { gs.bench.first = t; }
      gs.bench.last = t;
    }
    return out;
  };
  window.dash_clientside.gridscope = gs;
}
"""


def bench_account(settings: Settings) -> tuple[int, str, str]:
    """(id, username, password) of a new analyst account of the whole territory, for the
    browser to sign in with (every page needs a session)."""
    import secrets

    from gridscope.auth.passwords import hash_password
    from queries import accounts
    from queries.db import connect

    username, password = f"bench-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(18)
    with connect(settings) as conn:
        uid = accounts.insert_user(conn, username, username, "analyst", "", hash_password(password))
        conn.commit()
    return uid, username, password


def disable_account(settings: Settings, uid: int) -> None:
    from queries import accounts
    from queries.db import connect

    with connect(settings) as conn:
        accounts.update_user(conn, uid, active=False)
        conn.commit()


def bench_browser(settings: Settings, n_grids: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": settings.database_url, "GRIDSCOPE_WORKERS": "2"}
    proc = subprocess.Popen(
        [GS, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    uid, username, password = bench_account(settings)
    try:
        for _ in range(120):
            try:
                import urllib.request

                urllib.request.urlopen(url + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            runs = []
            for i in range(3):
                ctx = b.new_context(viewport={"width": 1920, "height": 1080})
                page = ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto(url + "/login", wait_until="domcontentloaded")
                page.fill("#gs-username", username)
                page.fill("#gs-password", password)
                with page.expect_navigation():
                    page.click("#gs-login")
                page.goto(url + "/map", wait_until="networkidle")
                page.evaluate(INSTRUMENT_JS)
                page.click("#ana-layer-grids-opt-level label:has(input[value='grid'])")
                page.wait_for_function(
                    "n => Object.keys(window.gridscope.painted).length === n"
                    " && window.gridscope.bench.last !== null",
                    arg=n_grids,
                    timeout=120_000,
                )
                r = page.evaluate(RENDER_JS)
                render = r["last"] - r["arrived"]
                frame = r["frame"] - r["arrived"]
                runs.append(render)
                print(
                    f"  run {i + 1}: {r['n']:,} polygons; geometry {kb(r['bytes'] or 0)} on the"
                    f" wire; data arrival → last feature styled {render:,.0f} ms"
                    f" (first styled after {r['first'] - r['arrived']:,.0f} ms; next frame"
                    f" painted by {frame:,.0f} ms){'; errors: ' + str(errors) if errors else ''}"
                )
                ctx.close()
            b.close()
        med = sorted(runs)[len(runs) // 2]
        flag = "OK" if med <= TARGET_RENDER_MS else "OVER TARGET"
        print(f"  median {med:,.0f} ms for {n_grids:,} polygons (target ≤ 1,000 ms): {flag}")
    finally:
        proc.terminate()
        proc.wait(10)
        disable_account(settings, uid)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench layers")
    ap.add_argument("--database", default="gs_layers_large", help="a loaded demo database")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        print(
            f"database {args.database} not found: load it first, e.g. DATABASE_URL=…/"
            f"{args.database} gridscope db migrate && … gridscope demo load --size large",
            file=sys.stderr,
        )
        sys.exit(2)
    settings = bench_settings(args.database)
    # A fresh cache namespace, so that "cold" really computes (and nothing else is evicted).
    svc = services_for(settings, f"bench-{uuid.uuid4().hex[:8]}")
    try:
        with svc.pool.connection() as conn:
            n_grids = level_counts(conn, svc.scope, svc.clock.now())["grid"]
        print(f"layers[grids] on {args.database}: {n_grids:,} grids")
        bench_geometry(svc, args.repeat)
        bench_recolour(svc, args.repeat)
    finally:
        svc.pool.close()
    if not args.no_browser:
        print("browser (headless Debian chromium, 1920×1080, canvas renderer):")
        bench_browser(settings, n_grids)


if __name__ == "__main__":
    main()
