"""Staff import rate: 20,000 people with 40,000 assignments, median of runs (issue #13 target:
≤ 20 s).

    python -m bench roster [--database gs_bench_roster] [--repeat 3] [--people 20000]
                           [--format csv|xlsx|both]

The database must hold grids, e.g. the city demo (3,071 grids, 20,927 micro-grids)::

    createdb gs_bench_roster
    DATABASE_URL=postgresql://…/gs_bench_roster gridscope db migrate
    DATABASE_URL=postgresql://…/gs_bench_roster gridscope demo load --size city

The file is generated from the database's current grids and micro-grids: half of the people
in two rows (one grid each), half in one row naming two codes (a grid and a micro-grid of
another grid, or two grids), roles in the proportions of a real roster, a start date each and
an end date in the future for one in ten. Each run deletes the people a previous run loaded
(staff numbers BENCH-…, with their assignments), then times ``import_staff`` end to end on the
fresh file (read, check, plan, COPY, commit, rejects file) and on a re-run of the same file
(which changes nothing). Printed: medians of both, rows/s, and the phases of the fresh import.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import bench_settings

PREFIX = "BENCH-"
ROLES = (
    ("专职网格员", 0.45),
    ("兼职网格员", 0.25),
    ("网格长", 0.12),
    ("微网格长", 0.1),
    ("网格指导员", 0.05),
    ("联户长", 0.03),
)
HEADER = ["人员编号", "姓名", "手机号码", "岗位", "网格编码", "任职开始日期", "任职结束日期"]


def generate(grids: list[str], micro: list[str], people: int, seed: int = 13) -> list[list[str]]:
    """Rows of a staff file: ``people`` people, two assignments each."""
    rng = random.Random(seed)
    names, weights = zip(*ROLES, strict=True)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅晓东"
    rows = []
    for i in range(people):
        no = f"{PREFIX}{i:06d}"
        name = rng.choice(surnames) + "".join(rng.choices(given, k=rng.choice((1, 2))))
        mobile = f"1{rng.choice('3456789')}{i:09d}"
        role = rng.choices(names, weights)[0]
        start = date(2020, 1, 1) + timedelta(days=rng.randrange(2400))
        end = str(date(2027, 1, 1) + timedelta(days=rng.randrange(700))) if i % 10 == 0 else ""
        first, second = rng.sample(grids, 2)
        if role in ("微网格长", "联户长"):
            second = rng.choice(micro)
        if i % 2:
            rows.append([no, name, mobile, role, f"{first};{second}", str(start), end])
        else:
            rows.append([no, name, mobile, role, first, str(start), end])
            rows.append([no, name, mobile, role, second, str(start), end])
    return rows


def write_file(rows: list[list[str]], path: Path) -> Path:
    if path.suffix == ".xlsx":
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        ws = book.add_worksheet("人员")
        for r, row in enumerate([HEADER, *rows]):
            for c, value in enumerate(row):
                ws.write_string(r, c, value)
        book.close()
    else:
        with path.open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows([HEADER, *rows])
    return path


def forget(settings) -> None:
    """Delete the people a previous run loaded, with their assignments (bench only)."""
    from queries.db import connect

    with connect(settings) as conn:
        conn.execute(
            "DELETE FROM staff_assignment WHERE staff_id IN"
            " (SELECT id FROM staff WHERE staff_no LIKE %s)",
            (PREFIX + "%",),
        )
        conn.execute("DELETE FROM staff WHERE staff_no LIKE %s", (PREFIX + "%",))
        conn.commit()
        # every run starts from the same tables: no dead rows of the previous one
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) staff_assignment, staff")


def codes(settings) -> tuple[list[str], list[str]]:
    from queries.db import connect

    with connect(settings) as conn:
        grids = [r[0] for r in conn.execute("SELECT code FROM grid WHERE valid_to IS NULL")]
        micro = [r[0] for r in conn.execute("SELECT code FROM micro_grid WHERE valid_to IS NULL")]
    return sorted(grids), sorted(micro)


def main(argv: list[str] | None = None) -> None:
    from gridscope.imports.roster import import_staff

    ap = argparse.ArgumentParser(prog="python -m bench roster")
    ap.add_argument("--database", default="gs_bench_roster")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--format", choices=("csv", "xlsx", "both"), default="both")
    args = ap.parse_args(argv)
    settings = bench_settings(args.database)
    grids, micro = codes(settings)
    if len(grids) < 2 or not micro:
        raise SystemExit(
            f"database {args.database} has {len(grids)} grids and {len(micro)} micro-grids:"
            " load the city demo into it first (see python -m bench roster --help)"
        )
    rows = generate(grids, micro, args.people)
    assignments = sum(len(r[4].split(";")) for r in rows)
    print(
        f"{args.people:,} people, {assignments:,} assignments in {len(rows):,} rows over"
        f" {len(grids):,} grids and {len(micro):,} micro-grids ({args.database})"
    )
    formats = ("csv", "xlsx") if args.format == "both" else (args.format,)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in formats:
            path = write_file(rows, Path(tmp) / f"staff.{fmt}")
            fresh, rerun, phases = [], [], []
            for _ in range(args.repeat):
                forget(settings)
                t = time.perf_counter()
                r = import_staff(settings, path, progress=False)
                fresh.append(time.perf_counter() - t)
                phases.append(r.seconds)
                assert r.rejected == 0 and r.counts["assignments_opened"] > 0, r.reasons
                t = time.perf_counter()
                again = import_staff(settings, path, progress=False)
                rerun.append(time.perf_counter() - t)
                assert again.rows_loaded == 0 and again.rows_unchanged == len(rows)
            f, g = statistics.median(fresh), statistics.median(rerun)
            print(
                f"{fmt}: fresh import median {f:.2f} s ({len(rows) / f:,.0f} rows/s,"
                f" {assignments / f:,.0f} assignments/s); re-run median {g:.2f} s"
                f" (runs: {', '.join(f'{x:.2f}' for x in fresh)} / "
                f"{', '.join(f'{x:.2f}' for x in rerun)})"
            )
            keys = [k for k in phases[0] if k != "total"]
            print(
                "  fresh phases (median s): "
                + ", ".join(
                    f"{k} {statistics.median(p.get(k, 0) for p in phases):.2f}" for k in keys
                )
            )
    forget(settings)
