"""Ticket import rate on the real Boston 311 file (121,145 rows), median of runs.

    python -m bench imports [--repeat 3] [--file PATH] [--database NAME]

Each run starts from a scratch database holding only the 22 Boston wards (imported as grids
with the permissive code rule), then times ``gridscope import tickets FILE --mapping boston311``
end to end: read and gunzip, parse, dedupe, spatial join, binary COPY of tickets, events and
external ids, rollup, commit, rejects file. The rate is rows of the file per second of that
whole import; the per-phase medians show where the time goes. A re-run of the same file (which
loads nothing) is timed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench.common import bench_settings, recreate_database

REAL = Path(os.environ.get("GRIDSCOPE_REALDATA", "/work/shared/realdata")) / "boston311_2015"


def main(argv: list[str] | None = None) -> None:
    from gridscope.imports.grids import GridImportOptions, import_grids
    from gridscope.imports.mapping import load_ticket_mapping
    from gridscope.imports.tickets import import_tickets

    ap = argparse.ArgumentParser(prog="python -m bench imports")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, default=REAL / "boston311_2015.csv.gz")
    ap.add_argument("--wards", type=Path, default=REAL / "boston_wards.geojson")
    ap.add_argument(
        "--database",
        default="gridscope_bench_imports",
        help="scratch database (dropped and recreated for every run)",
    )
    args = ap.parse_args(argv)
    mapping = load_ticket_mapping("boston311")
    wards = GridImportOptions(
        code_field="WARD",
        code_prefix="US-MA-BOS-W",
        code_width=2,
        name_field="WARD",
        name_prefix="Ward ",
        code_rule="permissive",
        create_parent=("US-MA-BOS", "Boston"),
    )
    rates, reruns, phases = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        rejects = Path(tmp) / "rejects.csv"
        for i in range(args.repeat):
            recreate_database(args.database)
            settings = bench_settings(args.database).model_copy(
                update={"timezone": "America/New_York"}
            )
            import_grids(settings, args.wards, wards, echo=lambda _m: None)
            r = import_tickets(settings, args.file, mapping, rejects_path=rejects, progress=False)
            again = import_tickets(
                settings, args.file, mapping, rejects_path=rejects, progress=False
            )
            rates.append(r.rows_per_s)
            reruns.append(again.rows_per_s)
            phases.append(r.seconds)
            print(
                f"run {i + 1}: {r.rows:,} rows, loaded {r.loaded:,}, rejected {r.rejected:,}"
                f" in {r.seconds['total']:.2f} s = {r.rows_per_s:,.0f} rows/s"
                f" ({r.loaded / r.seconds['total']:,.0f} loaded tickets/s); re-run loaded"
                f" {again.loaded} in {again.seconds['total']:.2f} s"
            )
    names = [k for k in phases[0] if k != "total"]
    median_phases = ", ".join(
        f"{k} {statistics.median(p.get(k, 0.0) for p in phases):.2f}" for k in names
    )
    print(
        f"imports[boston311] median over {args.repeat} run(s): "
        f"{statistics.median(rates):,.0f} rows/s (target 20,000); "
        f"re-run {statistics.median(reruns):,.0f} rows/s; phases (s): {median_phases}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
