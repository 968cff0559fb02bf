"""Demo load rate: tickets/s of the binary COPY of tickets, tasks and events for the `city`
size (and the end-to-end rate of the whole command), median of runs.

python -m bench load [--size city] [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics

from bench.common import recreate_database
from domain.clock.now import clock_for
from gridscope.demo.load import load_demo


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench load")
    ap.add_argument("--size", choices=["small", "city", "large"], default="city")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--database",
        default=None,
        help="scratch database (default gridscope_bench_<size>; dropped and recreated)",
    )
    args = ap.parse_args(argv)
    dbname = args.database or f"gridscope_bench_{args.size}"
    rates, totals, copies, sims = [], [], [], []
    for i in range(args.repeat):
        settings = recreate_database(dbname)
        # The demo ends at the instant the settings pin (fixed_now), else at the system clock's.
        r = load_demo(
            settings,
            args.size,
            args.seed,
            clock=clock_for(settings.fixed_now),
            echo=lambda _m: None,
            progress=False,
        )
        rates.append(r.copy_tickets_per_s)
        totals.append(r.seconds_total)
        copies.append(r.end_to_end_tickets_per_s)
        sims.append(r.tickets / r.seconds_simulate)
        print(
            f"run {i + 1}: {r.tickets:,} tickets, {r.events:,} events, {r.tasks:,} tasks; "
            f"territory {r.seconds_territory:.1f} s, simulate {r.seconds_simulate:.1f} s, "
            f"emptying + territory load {r.seconds_prepare:.1f} s, "
            f"ticket COPY {r.seconds_copy:.1f} s, indexes+rollups {r.seconds_index:.1f} s, "
            f"total {r.seconds_total:.1f} s"
        )
    print(
        f"load[{args.size}] median over {args.repeat} run(s): "
        f"bulk load (binary COPY of tickets + tasks + events) "
        f"{statistics.median(rates):,.0f} tickets/s; "
        f"end to end {statistics.median(copies):,.0f} tickets/s; "
        f"simulation alone {statistics.median(sims):,.0f} tickets/s; "
        f"whole command {statistics.median(totals):.1f} s"
    )


if __name__ == "__main__":
    main()
