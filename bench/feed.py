"""Wall feeds against the Dash callbacks they replace: server time per request, in one run.

    python -m bench feed [--database gs_city] [--repeat 200] [--cold 5] [--old-rev f9e0d64]

Runs against a database holding a demo (default ``gs_city``; load one with
``DATABASE_URL=postgresql://postgres@127.0.0.1:5432/gs_city gridscope db migrate`` then
``... gridscope demo load --size city --seed 42``). One app built by ``create_app`` in this
process on the system clock (real PostgreSQL, Redis, gzip; Flask's test client, so no network
or gunicorn in the figures), every request through the access gate as a wall link of the
whole city (an analyst of the same jurisdiction for the old layer path):

- new path, ``GET /feed/<panel>`` (counters, ticker, the wall's four layers, and the worker
  layer as a delta since the cursor of a full answer taken just before): a warm 304
  (If-None-Match, the entry in the process memo), a warm 200 (the same, no ETag: the ready
  gzip bytes) and a cold computation (memo and Redis entry dropped before each request);
- old path, ``POST /_dash-update-component`` as a browser sent it before the feeds: the
  screen's counters and ticker callbacks of ``--old-rev`` (dashboard/screen from that git
  revision, read with ``git show`` into a temporary package and registered in this app),
  and the map's layer fetch callbacks (the analyst map keeps them: the same fetch_now the wall
  ran), warm (payload cached in Redis, components built and serialised per request) and cold
  (cache entries dropped). Both paths send ``Accept-Encoding: gzip`` like a browser, so the
  old answers pay Flask-Compress per request as they did.

It creates a wall link and an analyst account in the database (revoked and disabled at the
end). Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import bench_settings, database_exists, median_ms, p95_ms

ROOT = Path(__file__).resolve().parents[1]
# The last revision whose /screen refreshed through server callbacks (before the feeds).
OLD_REV = "f9e0d64"
LEGACY = ("__init__.py", "theme.py", "kpi.py", "bars.py", "ticker.py", "trend.py", "callbacks.py")
CALLBACK = "/_dash-update-component"
GZIP = {"Accept-Encoding": "gzip"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WALL_LAYERS = ("grids", "heat", "overdue", "workers")


def register_legacy_screen(rev: str) -> None:
    """Register the screen's counters and ticker callbacks of git revision ``rev`` (they are
    global Dash callbacks: the next app built picks them up)."""
    tmp = Path(tempfile.mkdtemp(prefix="gs_legacy_"))
    pkg = tmp / "legacy_screen"
    pkg.mkdir()
    for name in LEGACY:
        text = subprocess.run(
            ["git", "show", f"{rev}:dashboard/screen/{name}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (pkg / name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(tmp))
    importlib.import_module("legacy_screen.callbacks").register()


def _dep(ident: str, prop: str, value: Any = None) -> dict[str, Any]:
    return {"id": ident, "property": prop, "value": value}


def callback_body(app, key: str, values: dict[str, Any]) -> dict[str, Any]:
    """A POST body for the callback under output ``key`` (inputs/states from ``values``)."""
    spec = app.callback_map[key]
    outs = [o.rsplit(".", 1) for o in (key[2:-2].split("...") if key.startswith("..") else [key])]
    outputs = [{"id": i, "property": p} for i, p in outs]

    def deps(ds: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_dep(d["id"], d["property"], values.get(f"{d['id']}.{d['property']}")) for d in ds]

    first = spec["inputs"][0]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": deps(spec["inputs"]),
        "state": deps(spec.get("state", [])),
        "changedPropIds": [f"{first['id']}.{first['property']}"],
    }


def key_of(app, prefix: str) -> str:
    keys = [k for k in app.callback_map if k.lstrip(".").startswith(prefix)]
    if not keys:
        raise SystemExit(f"no callback with output {prefix!r}: is --old-rev right?")
    return keys[0]


def sample(fn, repeat: int, before=None) -> list[float]:
    out = []
    for _ in range(repeat):
        if before is not None:
            before()
        t = time.perf_counter()
        status, size = fn()
        out.append(time.perf_counter() - t)
        if status not in (200, 304):
            raise SystemExit(f"request failed with {status}")
    sample.size = size  # type: ignore[attr-defined]
    return out


def fmt(samples: list[float]) -> str:
    return f"{median_ms(samples):7.2f} {p95_ms(samples):7.2f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench feed")
    ap.add_argument("--database", default="gs_city")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--cold", type=int, default=5)
    ap.add_argument("--old-rev", default=OLD_REV)
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        raise SystemExit(
            f"no database {args.database!r}: DATABASE_URL=postgresql://postgres@127.0.0.1:5432/"
            f"{args.database} gridscope db migrate && ... gridscope demo load --size city --seed 42"
        )
    register_legacy_screen(args.old_rev)

    from app import create_app
    from dashboard.feeds import PANELS
    from dashboard.map import PROFILES
    from gridscope.auth import walls
    from gridscope.auth.passwords import hash_password
    from queries import accounts
    from queries.db import connect
    from queries.feed import feed_state
    from queries.scope import Scope

    settings = bench_settings(args.database)
    app = create_app(settings)
    server, services = app.server, app.server.extensions["gridscope"]
    password = secrets.token_urlsafe(12)
    with connect(settings) as conn:
        city = conn.execute(
            "SELECT code FROM region WHERE valid_to IS NULL AND parent_code IS NULL ORDER BY code"
        ).fetchone()[0]
        tickets = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
        grids = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
        wall_id, token = walls.create(conn, "bench feed", city, "standard", "bench")
        analyst = f"bench-feed-{secrets.token_hex(4)}"
        user_id = accounts.insert_user(
            conn, analyst, analyst, "analyst", city, hash_password(password)
        )
        conn.commit()
    try:
        wall = server.test_client()
        if wall.get(f"/wall/{token}").status_code != 302:
            raise SystemExit("the wall link did not open a session")
        ana = server.test_client()
        csrf = _CSRF.search(ana.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        form = {"username": analyst, "password": password, "csrf_token": csrf}
        if ana.post("/login", data=form).status_code != 302:
            raise SystemExit("the analyst did not sign in")
        redis = services.cache.client
        ns = services.cache.namespace
        with server.app_context():
            state = feed_state(services)

        def drop(pattern: str):
            def run() -> None:
                state.memo.clear()
                keys = list(redis.scan_iter(match=f"gs:v1:{ns}:{pattern}*", count=1000))
                if keys:
                    redis.delete(*keys)

            return run

        def get(path: str, etag: str | None = None):
            headers = dict(GZIP, **({"If-None-Match": etag} if etag else {}))

            def run():
                resp = wall.get(path, headers=headers)
                return resp.status_code, len(resp.data)

            return run

        def post(client, body):
            def run():
                resp = client.post(CALLBACK, json=body, headers=GZIP)
                return resp.status_code, len(resp.data)

            return run

        screen = PROFILES["screen"]
        rows: list[tuple[str, list[float], list[float], int, list, list, list, int]] = []
        old_bodies = {
            "counters": (
                wall,
                callback_body(app, key_of(app, "gs-kpis"), {"gs-scale.data": 1.0}),
                "screen",
            ),
            "ticker": (
                wall,
                callback_body(app, key_of(app, "gs-ticker-track"), {"gs-scale.data": 1.0}),
                "screen-ticker",
            ),
        }
        feeds = {"counters": "/feed/counters", "ticker": "/feed/ticker"}
        for lid in WALL_LAYERS:
            layer = next(x for x in screen.layers() if x.id == lid)
            query = {o.name: screen.default(layer, o.name) for o in layer.data_options}
            feeds[f"layer-{lid}"] = f"/feed/layer-{lid}?" + "&".join(
                f"{k}={v}" for k, v in sorted(query.items())
            )
            values = {f"ana-layer-{lid}-opt-{k}.value": v for k, v in query.items()}
            values[f"ana-layer-{lid}-view.data"] = {}
            old_bodies[f"layer-{lid}"] = (
                ana,
                callback_body(app, f"ana-layer-{lid}-payload.data", values),
                f"layer-{lid}",
            )
        if "workers" in PANELS:  # the delta: since the cursor of a full answer just taken
            full = wall.get("/feed/workers?role=all&since=0", headers=GZIP)
            body = json.loads(
                gzip.decompress(full.data) if full.headers.get("Content-Encoding") else full.data
            )
            feeds["workers Δ"] = f"/feed/workers?role=all&since={body['data']['seq']}"
            old_bodies["workers Δ"] = old_bodies["layer-workers"]
        for panel, path in feeds.items():
            client, body, old_name = old_bodies[panel]
            old_cold = sample(post(client, body), args.cold, drop(f"{old_name}:"))
            old_warm = sample(post(client, body), args.repeat)
            old_size = sample.size  # type: ignore[attr-defined]
            slot = "feed-workers:" if panel == "workers Δ" else f"feed-{panel}:"
            new_cold = sample(get(path), args.cold, drop(slot))
            first = wall.get(path, headers=GZIP)
            new_200 = sample(get(path), args.repeat)
            new_size = sample.size  # type: ignore[attr-defined]
            new_304 = sample(get(path, first.headers["ETag"]), args.repeat)
            rows.append((panel, old_warm, old_cold, old_size, new_304, new_200, new_cold, new_size))
    finally:
        with connect(settings) as conn:
            accounts.revoke_wall(conn, wall_id, Scope(""))
            accounts.update_user(conn, user_id, active=False)
            conn.commit()
        services.close()

    print(
        f"feed[{args.database}: {grids:,} grids, {tickets:,} tickets; old = {args.old_rev}; "
        f"median and p95 in ms, {args.repeat} warm / {args.cold} cold requests]"
    )
    print(
        f"  {'panel':<14} {'old warm':>15} {'old cold':>15} {'old KB':>7} │ {'new 304':>15}"
        f" {'new 200':>15} {'new cold':>15} {'new KB':>7}"
    )
    for panel, ow, oc, osz, n304, n200, nc, nsz in rows:
        print(
            f"  {panel:<14} {fmt(ow)} {fmt(oc)} {osz / 1024:7.1f} │ {fmt(n304)} {fmt(n200)}"
            f" {fmt(nc)} {nsz / 1024:7.1f}"
        )
    for panel, ow, _oc, _osz, n304, n200, _nc, _nsz in rows:
        print(
            f"  {panel}: warm old / new 304 = {median_ms(ow) / median_ms(n304):.0f}x, "
            f"old / new 200 = {median_ms(ow) / median_ms(n200):.0f}x"
        )


if __name__ == "__main__":
    main()
