"""Walls under load: capture what a real wall asks for, replay it from N virtual screens.

    python -m bench.wall_load --start --database gs_city --screens 30,60 --duration 60 --live
    python -m bench.wall_load --start --database gs_city --screens 30,60 --rev c74f414 --live
    python -m bench.wall_load --server http://127.0.0.1:8050 --database gs_city --screens 100
    python -m bench.wall_load --start --database gs_large --screens 200 --soak 120 --live

1. Capture (bench/wall_capture.py): a wall link opened in Debian's chromium; every request the
   page sends is recorded for --capture-seconds, and each distinct request's period is derived
   from its repeats. Saved as JSON under --out (reuse one with --capture FILE).
2. Replay (bench/wall_replay.py, one run in bench/wall_run.py): N virtual screens, each with
   its own wall session (one wall link per jurisdiction of --jurisdictions, screens round-robin
   over them, each screen GETs the link), send the captured requests at their periods from a
   random phase, keeping cookies, ETag/If-None-Match and the worker delta's ``since`` as a
   browser does, for --duration. Open loop: a request goes when due even if the screen's
   previous one has not come back (as Dash's interval timers do; the feed JS waits for the
   answer, so under overload this is the harsher of the two).
3. Propagation: during each run a ticket is POSTed through the API in the first town of the
   mix; for every screen whose jurisdiction contains it, the time until it receives counters
   showing it (a counters feed answer with X-Data-Version ≥ the version after the write, or,
   on the Dash callback path, a changed KPI block), and the counters answers of the slowest
   screens, to tell a poll that just missed the write from a server that served old data.

Reported per run: requests, 2xx/304/4xx/5xx/timeouts/errors, p50/p95/p99, throughput, the
server's CPU (gunicorn master + workers, /proc) and RSS, the CPU of its PostgreSQL backends
(found by the client ports of its connections) and of Redis, the load generator's CPU and how
late it sent (its event-loop lag), and the machine's busy share (other tenants show there).
--live runs ``gridscope demo live`` meanwhile, so that data versions move and the worker layer
is populated as in a real city (without it every panel but the time-driven ones is a 304).
--rev REV also serves git revision REV (a worktree, another port, the same database; a Redis
database of its own, --rev-redis-db, so that the two code paths never read each other's cache
entries; with --live its worker positions are reloaded from PostgreSQL before each run, since
the simulator writes them to the other Redis database) and runs the same load against it,
alternating with the current code per screen count, then prints both side by side. An older
revision whose migrations stop short of the database's is served with its schema check off
(said aloud; sound while the newer migrations are additive). --current-rev REV serves REV
instead of the working tree as the current side.
--soak MINUTES: one long run at --screens printing the server's memory every minute.

Wall links and the token are created through the command line and revoked at the end; each
run leaves one probe ticket in the database. The load generator runs on the same machine as
the server, one asyncio process: its CPU is reported so that a saturated generator is not
mistaken for a slow server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import wall_report, wall_server
from bench.wall_run import Side, run_once
from bench.wall_setup import (
    database_url,
    get_capture,
    resolve_jurisdictions,
    serve_revision,
    ticket_site,
    with_redis_db,
)

OUT = Path(__file__).resolve().parent / "results" / "wall_load"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.wall_load", description=__doc__.split("\n")[0]
    )
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--server", help="attach to a running server (its base URL)")
    where.add_argument("--start", action="store_true", help="start gridscope serve itself")
    ap.add_argument(
        "--database",
        default=os.environ.get("DATABASE_URL"),
        help="database name or URL (default $DATABASE_URL): wall links, the token, "
        "the data version; --start serves it",
    )
    ap.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers with --start/--rev")
    ap.add_argument("--port", type=int, default=None, help="port for --start (default: free)")
    ap.add_argument("--screens", default="30,60", help="screen counts, one run each: 30,60,100")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per run")
    ap.add_argument(
        "--jurisdictions",
        default="city,towns:2",
        help="the mix: codes, 'city' (the city region) and 'towns:N' (the first N "
        "towns), comma-separated; screens are spread round-robin",
    )
    ap.add_argument("--rev", help="also run against this git revision (e.g. c74f414)")
    ap.add_argument(
        "--current-rev",
        help="with --start: serve this git revision as the current side instead of the "
        "working tree",
    )
    ap.add_argument(
        "--rev-redis-db",
        type=int,
        default=11,
        help="Redis database index of the --rev server (default 11)",
    )
    ap.add_argument("--capture", help="reuse this capture of the current code (JSON)")
    ap.add_argument("--rev-capture", help="reuse this capture of the --rev code (JSON)")
    ap.add_argument("--capture-seconds", type=float, default=65.0)
    ap.add_argument(
        "--soak",
        type=float,
        default=None,
        metavar="MINUTES",
        help="one run of MINUTES at the first --screens count, memory every minute",
    )
    ap.add_argument("--timeout", type=float, default=60.0, help="per request (s)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-propagation", action="store_true", help="do not write a ticket")
    ap.add_argument(
        "--live",
        nargs="?",
        const="",
        default=None,
        metavar="OPTIONS",
        help="run `gridscope demo live OPTIONS` meanwhile (tickets, steps, GPS fixes: data "
        "versions change as in a real city and the worker layer is populated), e.g. "
        "--live='--rate 6 --ping 15'",
    )
    ap.add_argument("--out", type=Path, default=OUT, help=f"output directory (default {OUT})")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # runs go to logs
    args.out.mkdir(parents=True, exist_ok=True)
    db_url = database_url(args.database)
    counts = [int(x) for x in args.screens.split(",") if x.strip()]
    duration = args.soak * 60 if args.soak else args.duration
    if args.soak:
        counts = counts[:1]
    jurisdictions = resolve_jurisdictions(db_url, args.jurisdictions)
    print(f"jurisdictions: {', '.join(jurisdictions)}; screens {counts}; {duration:.0f} s per run")
    started: list[wall_server.Server] = []
    worktrees: list[Path | None] = []
    wall_ids: list[int] = []
    token = None
    live = None
    try:
        if args.live is not None:
            live = wall_server.start_live(db_url, args.redis_url, args.live.split(), args.out)
            print(f"demo live started (pid {live.pid}, options {args.live!r}); warming 20 s")
            time.sleep(20)
            ctx_live = [live.pid]
        else:
            ctx_live = []
        walls = []
        for code in jurisdictions:
            wid, path = wall_server.create_wall(db_url, code, f"bench wall_load {code}")
            wall_ids.append(wid)
            walls.append((code, path))
        if args.start:
            current, tree = serve_revision(
                args.current_rev, "current", args.redis_url, args, db_url, args.port
            )
            started.append(current)
            worktrees.append(tree)
        else:
            current = wall_server.Server("current", args.server.rstrip("/"))
        new_label = args.current_rev or "new"
        sides = [
            Side(
                new_label,
                current,
                get_capture(current, walls[0][1], args.capture, args, new_label),
                args.redis_url,
            )
        ]
        if args.rev:
            redis = with_redis_db(args.redis_url, args.rev_redis_db)
            old, tree = serve_revision(args.rev, f"rev-{args.rev}", redis, args, db_url)
            started.append(old)
            worktrees.append(tree)
            cap = get_capture(old, walls[0][1], args.rev_capture, args, args.rev)
            sides.insert(0, Side(args.rev, old, cap, redis))
        ctx: dict[str, Any] = {
            "args": args,
            "walls": walls,
            "duration": duration,
            "db_url": db_url,
            "live_pids": ctx_live,
        }
        if not args.no_propagation:
            town = next((c for c in jurisdictions if len(c) == 9), jurisdictions[0])
            token = wall_server.create_token(db_url, town, "bench wall_load")
            ctx.update(site=ticket_site(db_url, town, args.seed), token=token)
        results = []
        for k, n in enumerate(counts):
            order = sides if k % 2 == 0 else sides[::-1]
            for side in order:
                print(f"running {side.label}: {n} screens for {duration:.0f} s …", flush=True)
                if live is not None and side.redis_url != args.redis_url:
                    # demo live writes positions to the other Redis database only.
                    wall_server.forget_positions(side.redis_url)
                r = asyncio.run(run_once(side, n, ctx, bool(args.soak)))
                print(wall_report.run_line(r))
                print("\n".join(wall_report.per_key_lines(r["outcomes"], duration)))
                for line in wall_report.propagation_lines(r["propagation"]):
                    print(line)
                results.append(r)
        print()
        print(wall_report.table(results))
        if args.rev:
            print()
            print(wall_report.side_by_side(results, args.rev, new_label))
        if args.soak and results and results[-1]["memory"]:
            mem = results[-1]["memory"]
            first, last = mem[0], mem[-1]
            pss_growth = (last["pss_mib"] / first["pss_mib"] - 1) * 100
            print(
                f"soak: server RSS {first['rss_mib']:,.0f} MiB at minute {first['minute']}, "
                f"{last['rss_mib']:,.0f} MiB at minute {last['minute']} "
                f"({(last['rss_mib'] / first['rss_mib'] - 1) * 100:+.1f} %, max "
                f"{max(m['rss_mib'] for m in mem):,.0f} MiB); PSS {first['pss_mib']:,.0f} → "
                f"{last['pss_mib']:,.0f} MiB ({pss_growth:+.1f} %)"
            )
        dest = args.out / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
        dest.write_text(json.dumps([_jsonable(r) for r in results], indent=1, default=str))
        print(f"results saved to {dest}")
    finally:
        wall_server.stop(live)
        for s in started:
            s.stop()
        for tree in worktrees:
            if tree is not None:
                wall_server.remove_worktree(tree)
        for wid in wall_ids:
            wall_server.revoke_wall(db_url, wid)
        if token:
            wall_server.revoke_token(db_url, token)


def _jsonable(r: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in r.items() if k != "outcomes"}
    out["stats"] = vars(r["stats"])
    return out


if __name__ == "__main__":
    main()
