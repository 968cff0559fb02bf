"""The vectorised ticket simulation on a tiny synthetic territory (gridscope.demo.tickets)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import shapely

from domain.clock.limits import limit_for
from domain.clock.work_calendar import WorkCalendar
from domain.workflow import rules
from gridscope.demo.model import Territory
from gridscope.demo.tickets import (
    EVENT_SCHEMA,
    TASK_SCHEMA,
    TICKET_SCHEMA,
    overdue,
    simulate_tickets,
)

END = dt.datetime(2025, 9, 15, 3, 0, tzinfo=dt.UTC)
KINDS = (None, None, None, "school", None, "market", None, "industrial_park", "hospital")


def synthetic_territory(nx: int = 3, ny: int = 3, micro: int = 2, seed: int = 0) -> Territory:
    """nx × ny square grids of ~1 km (lon/lat near Jiaxing), each split into micro × micro
    micro-grids (the first micro-grid of each grid is an L-shape so rejection sampling is
    exercised), two communities, departments, staff and hotspots."""
    rng = np.random.default_rng(seed)
    x0, y0, d = 120.75, 30.75, 0.01
    city, county, town = "3304", "330402", "330402001"
    comm = [f"{town}{i:03d}" for i in (1, 2)]
    regions = gpd.GeoDataFrame(
        {
            "code": [city, county, town, *comm],
            "name": ["嘉兴市", "南湖区", "建设街道", "紫阳社区", "新兴村"],
            "level": ["city", "county", "town", "community", "community"],
            "parent_code": [None, city, county, town, town],
            "kind": [None] * 5,
        },
        geometry=[shapely.box(x0, y0, x0 + nx * d, y0 + ny * d)] * 5,
        crs=4326,
    )
    grows, mrows = [], []
    for gy in range(ny):
        for gx in range(nx):
            k = gy * nx + gx
            c = comm[0] if gx < nx - 1 else comm[1]
            code = f"{c}{k + 1:03d}"
            kind = KINDS[k % len(KINDS)]
            box = shapely.box(x0 + gx * d, y0 + gy * d, x0 + (gx + 1) * d, y0 + (gy + 1) * d)
            grows.append(
                {
                    "code": code,
                    "name": f"第{k + 1}网格",
                    "community_code": c,
                    "grid_type": "exclusive" if kind else "comprehensive",
                    "exclusive_kind": kind,
                    "households": 300,
                    "population": 800,
                    "urban": c == comm[0],
                    "geometry": box,
                }
            )
            e = d / micro
            parts = [
                shapely.box(
                    x0 + gx * d + i * e,
                    y0 + gy * d + j * e,
                    x0 + gx * d + (i + 1) * e,
                    y0 + gy * d + (j + 1) * e,
                )
                for j in range(micro)
                for i in range(micro)
            ]
            if micro >= 2:  # an L-shaped pair instead of the first two squares
                parts = [
                    shapely.union(parts[0], parts[1]).difference(
                        shapely.box(
                            x0 + gx * d + e * 1.5,
                            y0 + gy * d,
                            x0 + gx * d + 2 * e,
                            y0 + gy * d + e * 0.5,
                        )
                    ),
                    shapely.box(
                        x0 + gx * d + e * 1.5,
                        y0 + gy * d,
                        x0 + gx * d + 2 * e,
                        y0 + gy * d + e * 0.5,
                    ),
                    *parts[2:],
                ]
            for m, geom in enumerate(parts):
                mrows.append(
                    {
                        "code": f"{code}{m + 1:03d}",
                        "grid_code": code,
                        "name": f"第{m + 1}微网格",
                        "households": int(rng.integers(0, 80)),
                        "geometry": geom,
                    }
                )
    grids = gpd.GeoDataFrame(grows, crs=4326)
    micro_grids = gpd.GeoDataFrame(mrows, crs=4326)
    cats = [
        ["09"],
        ["09", "03"],
        ["06", "08"],
        ["06"],
        ["04", "05"],
        ["05", "99"],
        ["07"],
        ["01", "02"],
        ["04", "03"],
    ]
    departments = pd.DataFrame(
        {
            "id": range(1, len(cats) + 2),
            "code": [f"D{i:02d}" for i in range(1, len(cats) + 2)],
            "name": [f"部门{i}" for i in range(1, len(cats) + 2)],
            "kind": ["linked"] * len(cats) + ["grid_institution"],
            "region_code": county,
            "categories": cats + [[]],
        }
    )
    staff_rows, assignments = [], []
    sid = 0
    for g in grids["code"]:
        for role in ("grid_chief", "fulltime_worker", "parttime_worker"):
            sid += 1
            staff_rows.append(
                {"id": sid, "role": role, "department_id": None, "region_code": g[:12]}
            )
            assignments.append(
                {"staff_id": sid, "grid_code": g, "micro_grid_code": None, "role": role}
            )
    for _ in range(3):
        sid += 1
        staff_rows.append(
            {
                "id": sid,
                "role": "centre_operator",
                "department_id": len(cats) + 1,
                "region_code": town,
            }
        )
    staff = pd.DataFrame(staff_rows)
    staff["staff_no"] = [f"S{i:05d}" for i in staff["id"]]
    staff["name"], staff["phone"] = "张三", "13800000000"
    hotspots = pd.DataFrame(
        {
            "x": [x0 + 0.5 * d, x0 + 2.2 * d],
            "y": [y0 + 0.5 * d, y0 + 1.8 * d],
            "weight": [3.0, 1.0],
            "kind": ["market", "old_compound"],
        }
    )
    return Territory(
        "small",
        seed,
        regions,
        grids,
        micro_grids,
        departments,
        staff,
        pd.DataFrame(assignments),
        hotspots,
    )


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture(scope="module")
def territory() -> Territory:
    return synthetic_territory()


@pytest.fixture(scope="module")
def batch(territory, calendar):
    return simulate_tickets(territory, 6000, seed=7, end=END, calendar=calendar)


def _us(col: pa.ChunkedArray) -> np.ndarray:
    """int64 µs with NaT as the minimum int64."""
    a = col.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    return a.view(np.int64)


NAT = np.iinfo(np.int64).min


def test_schemas_match_the_migration(batch):
    assert batch.ticket.schema == TICKET_SCHEMA
    assert batch.ticket_task.schema == TASK_SCHEMA
    assert batch.ticket_event.schema == EVENT_SCHEMA
    assert batch.ticket["id"].to_pylist() == list(range(1, 6001))
    assert batch.ticket_task["id"].to_pylist() == list(range(1, batch.ticket_task.num_rows + 1))
    geom = batch.ticket["geom"].to_pylist()[0]
    assert len(geom) == 25 and geom[:9] == bytes.fromhex("0101000020") + (4326).to_bytes(
        4, "little"
    )


def test_deterministic_for_a_seed(territory, calendar, batch):
    again = simulate_tickets(territory, 6000, seed=7, end=END, calendar=calendar)
    assert again.ticket.equals(batch.ticket)
    assert again.ticket_event.equals(batch.ticket_event)
    assert again.ticket_task.equals(batch.ticket_task)
    other = simulate_tickets(territory, 6000, seed=8, end=END, calendar=calendar)
    assert not other.ticket.equals(batch.ticket)


def _events_by_ticket(batch):
    ev = batch.ticket_event.to_pandas()
    return ev.sort_values(["ticket_id", "id"]).groupby("ticket_id")


def test_every_lifecycle_replays_to_its_final_state(batch):
    tickets = batch.ticket.to_pandas().set_index("id")
    transitions = batch.ticket_event.filter(pc.field("action") != "supervise").to_pandas()
    for tid, ev in transitions.sort_values(["ticket_id", "id"]).groupby("ticket_id"):
        first = ev.iloc[0]
        assert first["action"] == "create" and pd.isna(first["from_state"])
        actions = ev["action"].tolist()[1:]
        final = rules.replay(actions, start=rules.State(first["to_state"]))
        assert final.value == tickets.loc[tid, "state"]
        # from/to columns chain
        assert ev["from_state"].tolist()[1:] == ev["to_state"].tolist()[:-1]
    assert transitions["ticket_id"].nunique() == len(tickets)


def test_timestamps_non_decreasing_and_not_after_end(batch):
    ev = batch.ticket_event.to_pandas()
    tr = ev[ev["action"] != "supervise"].sort_values(["ticket_id", "id"])
    d = tr.groupby("ticket_id")["at"].diff().dropna()
    assert (d > pd.Timedelta(0)).all()
    assert ev["at"].max() <= END
    assert (ev["at"] >= ev["ticket_created_at"]).all()
    t = batch.ticket.to_pandas()
    assert (t["created_at"] > END - dt.timedelta(days=365)).all()
    assert (t["updated_at"] <= END).all()


def test_points_inside_their_micro_grid_and_grid(batch, territory):
    t = batch.ticket.to_pandas()
    pts = shapely.from_wkb(t["geom"].to_numpy())
    mg = territory.micro_grids.set_index("code").geometry
    grids = territory.grids.set_index("code").geometry
    assert shapely.contains(mg.loc[t["micro_grid_code"]].values, pts).all()
    assert shapely.covers(grids.loc[t["grid_code"]].values, pts).all()
    assert (t["micro_grid_code"].str[:15] == t["grid_code"]).all()


def test_overdue_and_self_resolved_shares(batch):
    t = batch.ticket.to_pandas()
    share = overdue(batch.ticket, END).mean()
    assert 0.05 <= share <= 0.15, share
    patrol = t["source"] == "patrol"
    sr = t.loc[patrol, "self_resolved"].mean()
    assert 0.40 <= sr <= 0.65, sr
    assert 0.5 <= patrol.mean() <= 0.75
    assert 0.02 <= (t["urgency"] == "urgent").mean() <= 0.07
    surveyed = t["satisfaction"].dropna()
    assert 0.7 <= (surveyed == "satisfied").mean() <= 0.9
    # Some tickets are still open, at several stages.
    open_ = t[~t["state"].isin(["closed", "surveyed", "rejected"])]
    assert 0 < len(open_) < 0.2 * len(t)
    assert open_["stage"].nunique() >= 3
    assert (t["closed_on_time"] == (t["finished_at"] <= t["original_due_at"]))[
        t["closed_at"].notna()
    ].all()


def test_due_times_agree_with_the_calendar(batch, calendar):
    t = batch.ticket.to_pandas()
    ev = batch.ticket_event.to_pandas()
    ext = set(ev.loc[ev["action"].isin(["approve_extension", "resume"]), "ticket_id"])
    checked = 0
    for row in t.sample(400, random_state=1).itertuples():
        if pd.isna(row.stage) or row.id in ext:
            continue
        if row.stage == "T5":
            assert row.stage_due_at == row.due_at
        amount, unit = limit_for(row.category_code, row.stage, row.urgency)
        start = row.stage_started_at.to_pydatetime()
        due = calendar.add(start, amount, unit)
        assert row.stage_due_at.to_pydatetime() == due
        assert row.stage_warn_at.to_pydatetime() == calendar.warn_at(start, due, amount, unit)
        checked += 1
    assert checked > 20
    # Handling due times: dispatch + T5 on the work clock.
    d = ev[ev["action"] == "dispatch"].groupby("ticket_id")["at"].max()
    tt = t.set_index("id").loc[d.index]
    for tid in d.index[:200]:
        if tid in ext:
            continue
        r = tt.loc[tid]
        amount, unit = limit_for(r.category_code, "T5", r.urgency)
        assert r.original_due_at.to_pydatetime() == calendar.add(
            d[tid].to_pydatetime(), amount, unit
        )


def test_tasks_belong_to_dispatched_tickets(batch):
    tasks = batch.ticket_task.to_pandas()
    ev = batch.ticket_event.to_pandas()
    dispatched = ev.loc[ev["action"] == "dispatch"]
    assert set(tasks["ticket_id"]) == set(dispatched["ticket_id"])
    assert (tasks.groupby("ticket_id")["role"].apply(lambda r: (r == "lead").sum()) >= 1).all()
    assert set(dispatched["task_id"]) <= set(tasks["id"])
    done = tasks[tasks["state"] == "feedback"]
    assert done["finished_at"].notna().all()
    assert (done["on_time"] == (done["finished_at"] <= done["original_due_at"])).all()
    assert (tasks["dispatched_at"] <= END).all()
