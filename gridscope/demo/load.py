"""`gridscope demo load`: build the demo city and bulk-load it with binary COPY."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from domain.clock.now import Clock, SystemClock
from domain.config import Settings
from gridscope.demo.model import HISTORY_DAYS, SIZES, Territory

# Tickets per size and year: the floors are 5,000 / 300,000 / 5,000,000.
TICKETS = {"small": 5_000, "city": 320_000, "large": 5_000_000}
META_KEY = "demo"
REBUILD_KEY = "demo_load_rebuild"
LOAD_TABLES = ("ticket", "ticket_task", "ticket_event")
SYSTEM_CLOCK = SystemClock()


@dataclass
class LoadReport:
    size: str
    seed: int
    tickets: int
    events: int
    tasks: int
    grids: int
    micro_grids: int
    staff: int
    seconds_territory: float
    seconds_simulate: float
    seconds_prepare: float
    seconds_copy: float
    seconds_index: float
    seconds_total: float

    @property
    def copy_tickets_per_s(self) -> float:
        """Bulk-load rate: tickets, with their tasks and events, binary-copied per second (phase
        2 of load_demo; emptying the tables and loading the territory is ``seconds_prepare``,
        rebuilding keys, indexes and rollups ``seconds_index``)."""
        return self.tickets / max(1e-9, self.seconds_copy)

    @property
    def end_to_end_tickets_per_s(self) -> float:
        """Tickets per second of the whole command (territory, simulation, COPY, indexes)."""
        return self.tickets / max(1e-9, self.seconds_total)


def _ewkb(geoms) -> pa.Array:
    geoms = shapely.set_srid(np.asarray(geoms, dtype=object), 4326)
    return pa.array(shapely.to_wkb(geoms, include_srid=True), pa.binary())


def _multi(geoms) -> np.ndarray:
    geoms = np.asarray(geoms, dtype=object)
    single = shapely.get_type_id(geoms) == 3  # Polygon
    out = geoms.copy()
    out[single] = shapely.multipolygons(geoms[single, None])
    return out


def _str(values) -> pa.Array:
    return pa.array(
        [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in values],
        pa.string(),
    )


def territory_tables(t: Territory) -> dict[str, pa.Table]:
    """Arrow tables, named and typed like the schema, for the territory, staff and departments."""
    regions = t.regions
    tables = {
        "region": pa.table(
            {
                "code": _str(regions["code"]),
                "name": _str(regions["name"]),
                "level": _str(regions["level"]),
                "parent_code": _str(regions["parent_code"]),
                "kind": _str(regions["kind"]),
                "geom": _ewkb(_multi(regions.geometry.values)),
            }
        ),
        "grid": pa.table(
            {
                "code": _str(t.grids["code"]),
                "name": _str(t.grids["name"]),
                "community_code": _str(t.grids["community_code"]),
                "grid_type": _str(t.grids["grid_type"]),
                "exclusive_kind": _str(t.grids["exclusive_kind"]),
                "households": pa.array(t.grids["households"].astype("int32").to_numpy()),
                "population": pa.array(t.grids["population"].astype("int32").to_numpy()),
                "area_m2": pa.array(
                    t.grids.to_crs(t.grids.estimate_utm_crs()).area.to_numpy(), pa.float64()
                ),
                "geom": _ewkb(_multi(t.grids.geometry.values)),
            }
        ),
        "micro_grid": pa.table(
            {
                "code": _str(t.micro_grids["code"]),
                "grid_code": _str(t.micro_grids["grid_code"]),
                "name": _str(t.micro_grids["name"]),
                "households": pa.array(t.micro_grids["households"].astype("int32").to_numpy()),
                "geom": _ewkb(_multi(t.micro_grids.geometry.values)),
            }
        ),
        "department": pa.table(
            {
                "id": pa.array(t.departments["id"].astype("int64").to_numpy()),
                "code": _str(t.departments["code"]),
                "name": _str(t.departments["name"]),
                "kind": _str(t.departments["kind"]),
                "region_code": _str(t.departments["region_code"]),
            }
        ),
        "staff": pa.table(
            {
                "id": pa.array(t.staff["id"].astype("int64").to_numpy()),
                "staff_no": _str(t.staff["staff_no"]),
                "name": _str(t.staff["name"]),
                "phone": _str(t.staff["phone"]),
                "role": _str(t.staff["role"]),
                "department_id": pa.array(
                    pd.array(t.staff["department_id"], dtype="Int64"), pa.int64()
                ),
                "region_code": _str(t.staff["region_code"]),
            }
        ),
        "staff_assignment": pa.table(
            {
                "staff_id": pa.array(t.assignments["staff_id"].astype("int64").to_numpy()),
                "grid_code": _str(t.assignments["grid_code"]),
                "micro_grid_code": _str(t.assignments["micro_grid_code"]),
                "role": _str(t.assignments["role"]),
            }
        ),
    }
    codes = pd.concat(
        [
            pd.DataFrame({"code": t.grids["code"], "kind": "grid"}),
            pd.DataFrame({"code": t.micro_grids["code"], "kind": "micro_grid"}),
        ]
    )
    tables["issued_code"] = pa.table({"code": _str(codes["code"]), "kind": _str(codes["kind"])})
    dept_cat = [
        (c, int(i))
        for i, cats in zip(t.departments["id"], t.departments["categories"], strict=True)
        for c in cats
    ]
    tables["category_department"] = pa.table(
        {
            "category_code": _str([c for c, _ in dept_cat]),
            "department_id": pa.array([i for _, i in dept_cat], pa.int64()),
        }
    )
    return tables


def _as_table(data) -> pa.Table:
    return data if isinstance(data, pa.Table) else pa.table(data)


def load_demo(
    settings: Settings,
    size: str,
    seed: int,
    *,
    now: datetime | None = None,
    clock: Clock = SYSTEM_CLOCK,
    echo: Callable[[str], None] = print,
    progress: bool = True,
) -> LoadReport:
    """Replace the demo data with a freshly generated city of ``size`` for ``seed``.

    The year of tickets ends at ``now`` (an aware instant), or at ``clock.now()`` when ``now``
    is not given; the same instant stamps the load in ``gridscope_meta``.
    """
    from tqdm import tqdm

    from domain.clock.work_calendar import WorkCalendar
    from gridscope.demo.analytics_load import after_load
    from gridscope.demo.territory import build_territory
    from gridscope.demo.tickets import simulate_tickets
    from queries import bulk
    from queries.cache import bump_data_version
    from queries.db import connect
    from queries.item_list import load_calendar_overrides, seed_defaults
    from queries.migrate import check_schema

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    now = (now or clock.now()).replace(microsecond=0)
    t0 = time.perf_counter()
    with connect(settings) as conn:
        check_schema(conn)
        seed_defaults(conn)
        overrides = load_calendar_overrides(conn)
        conn.commit()

    echo(f"building the {size} territory (seed {seed}) …")
    territory = build_territory(size, seed)
    t_territory = time.perf_counter() - t0

    n_tickets = round(TICKETS[size] * HISTORY_DAYS / 365)
    echo(f"simulating {n_tickets:,} tickets over {HISTORY_DAYS} days …")
    t1 = time.perf_counter()
    calendar = WorkCalendar(tz=settings.timezone, overrides=overrides)
    by_category: dict[str, list[int]] = {}
    for dept_id, cats in zip(
        territory.departments["id"], territory.departments["categories"], strict=True
    ):
        for c in cats:
            by_category.setdefault(c, []).append(int(dept_id))
    batch = simulate_tickets(
        territory,
        n_tickets,
        seed,
        now,
        calendar,
        days=HISTORY_DAYS,
        department_ids_by_category=by_category,
    )
    tickets, tasks, events = (
        _as_table(batch.ticket),
        _as_table(batch.ticket_task),
        _as_table(batch.ticket_event),
    )
    t_simulate = time.perf_counter() - t1

    t_prepare = time.perf_counter()
    with connect(settings) as conn:
        # Phase 1 (one transaction): empty the demo tables, load the territory, strip the
        # ticket tables of keys and indexes. The rebuild statements are kept in gridscope_meta
        # until phase 3 ran, so an interrupted load never loses them.
        bulk.bulk_session(conn)
        pending = bulk.get_meta(conn, REBUILD_KEY)
        bulk.reset_demo_tables(conn)
        if pending:
            bulk.rebuild_structures(conn, pending["statements"])
        for name, table in territory_tables(territory).items():
            bulk.copy_arrow(conn, name, table)
        bulk.reset_id_sequences(conn, ("department", "staff"))
        bulk.ensure_ticket_partitions(
            conn, now - timedelta(days=HISTORY_DAYS + 1), now + timedelta(days=62)
        )
        statements = bulk.drop_load_structures(conn, LOAD_TABLES)
        # The hour rollup's insert trigger would carry all tickets through one transition
        # table; it is rebuilt with the other rollups in phase 3 instead.
        conn.execute("ALTER TABLE ticket DISABLE TRIGGER stat_hour_ins")
        statements.append("ALTER TABLE ticket ENABLE TRIGGER stat_hour_ins")
        bulk.set_meta(conn, REBUILD_KEY, {"statements": statements})
        bulk.set_meta(conn, META_KEY, {"size": size, "seed": seed, "status": "loading"})
        conn.commit()
    t_prepare = time.perf_counter() - t_prepare

    rows_total = sum(x.num_rows for x in (tickets, tasks, events))
    bar = tqdm(
        total=rows_total,
        unit="row",
        unit_scale=True,
        disable=not progress,
        desc="COPY",
        mininterval=0.5,
    )
    t2 = time.perf_counter()
    # Phase 2: binary COPY over two connections (the server parses on one core per connection).
    # The event log is cut in thirds and the longest jobs go first, so both cores stay busy
    # until the end.
    third = -(-events.num_rows // 3)
    bulk.copy_parallel(
        settings,
        [
            ("ticket", tickets, ()),
            *[("ticket_event", events.slice(i * third, third), ("data",)) for i in range(3)],
            ("ticket_task", tasks, ()),
        ],
        workers=2,
        progress=bar.update,
    )
    bar.close()
    t_copy = time.perf_counter() - t2

    # Phase 3: keys, indexes, sequences, rollups, statistics.
    t3 = time.perf_counter()
    echo("rebuilding keys and indexes …")
    with connect(settings) as conn:
        bulk.bulk_session(conn, maintenance_work_mem="256MB")
        bulk.rebuild_structures(conn, statements)
        bulk.reset_id_sequences(conn, LOAD_TABLES)
        conn.commit()
        # Statistics first: the rollup joins 2 M events to their tickets, and a planner that
        # still believes the freshly filled tables are empty picks a nested loop.
        conn.autocommit = True
        bulk.analyze(conn, LOAD_TABLES)
        conn.autocommit = False
        echo("rebuilding daily rollups …")
        bulk.rebuild_stat_daily(conn, settings.timezone)
        echo("analytics records and rollups …")
        after_load(conn, settings, territory, seed, now, echo)
        report = LoadReport(
            size=size,
            seed=seed,
            tickets=tickets.num_rows,
            events=events.num_rows,
            tasks=tasks.num_rows,
            grids=len(territory.grids),
            micro_grids=len(territory.micro_grids),
            staff=len(territory.staff),
            seconds_territory=t_territory,
            seconds_simulate=t_simulate,
            seconds_prepare=t_prepare,
            seconds_copy=t_copy,
            seconds_index=0.0,
            seconds_total=0.0,
        )
        bulk.delete_meta(conn, REBUILD_KEY)
        bulk.set_meta(
            conn,
            META_KEY,
            {
                "size": size,
                "seed": seed,
                "status": "ready",
                "loaded_at": now.isoformat(),
                "tickets": report.tickets,
            },
        )
        conn.commit()
        conn.autocommit = True
        # Vacuum sets the visibility map: the rollups' covering indexes then give index-only
        # scans. The ticket tables were analysed before the rollup (a second ANALYZE cost 4 s
        # on `city`).
        vacuumed = ("stat_daily", "stat_area_daily", "stat_task_area_daily", "stat_survey_daily")
        bulk.analyze(
            conn, tuple(t for t in bulk.DEMO_TABLES if t not in LOAD_TABLES and t not in vacuumed)
        )
        bulk.analyze(conn, vacuumed, vacuum=True)
        bulk.analyze(conn, LOAD_TABLES, vacuum=True, statistics=False)
        bump_data_version(conn)
    report.seconds_index = time.perf_counter() - t3
    report.seconds_total = time.perf_counter() - t0
    return report


def loaded_demo(settings: Settings) -> dict | None:
    """The size/seed of the demo currently loaded, or None."""
    from queries.bulk import get_meta
    from queries.db import connect

    with connect(settings) as conn:
        return get_meta(conn, META_KEY)
