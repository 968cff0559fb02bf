"""Write the onboarding example of docs/imports.md: the departments and staff of a town laid on
the real Boston wards (shared/realdata/boston311_2015/boston_wards.geojson, 22 wards as grids).

The departments are the real City of Boston departments that answer 311 (their names as the
2015 export spells them); the people are made up: their names are drawn from common given and
family names and their numbers from the 555-01xx range that North American numbering reserves
for fiction. Two staffing gaps are left on purpose so that `gridscope check staffing` has
something to find: ward 21 has no grid chief, ward 22 no full-time grid worker. The precinct
codes of the micro-grid chiefs are read from the real precinct file.

    python scripts/make_boston_example.py            # writes docs/examples/boston/*.csv

The output is committed; a test (tests/db/test_onboarding_walkthrough.py) runs the walkthrough
of docs/imports.md on it.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "examples" / "boston"
# The shared real data (beside the checkout on the team's machines); GRIDSCOPE_REALDATA moves it.
REALDATA = Path(os.environ.get("GRIDSCOPE_REALDATA", "/work/shared/realdata"))
WARDS = 22
CITY = "US-MA-BOS"

# (code, name, kind, level, parent, lead categories, assist categories)
DEPARTMENTS = (
    ("BOS-311", "Mayor's 24 Hour Hotline", "网格化机构", "市", "", "", ""),
    ("BOS-PWD", "Public Works Department", "联动部门", "市", "", "0902;0903", "0905"),
    ("BOS-PWD-SL", "Street Lighting", "联动部门", "市", "BOS-PWD", "", "0903"),
    ("BOS-ISD", "Inspectional Services", "联动部门", "市", "", "0904;0605;0607", "0703"),
    ("BOS-BTD", "Transportation - Traffic Division", "联动部门", "市", "", "0906;0604", ""),
    ("BOS-PARKS", "Parks & Recreation Department", "联动部门", "市", "", "", "0903;0902"),
    ("BOS-ANIMAL", "Animal Control", "联动部门", "市", "BOS-ISD", "", "0902"),
    ("BOS-BWSC", "Boston Water & Sewer Commission", "服务单位", "市", "", "", "0606"),
    ("BOS-PROP", "Property Management", "联动部门", "市", "", "", "0905"),
)

GIVEN = (
    "Alex Ana Ben Carla Chen Dana Eli Fatima Grace Hugo Ines Jamal Kim Lena Luis Maya Nadia "
    "Omar Priya Quinn Rosa Sam Tara Uma Victor Wen Yara Zoe"
).split()
FAMILY = (
    "Alvarez Brennan Costa Doyle Evans Fitzgerald Garcia Hughes Iyer Jensen Kelly Lopez "
    "Murphy Nguyen O'Brien Patel Quinlan Rivera Sullivan Tran Walsh Young"
).split()


def _people(rng: random.Random):
    """(name, phone) pairs, never the same twice."""
    seen: set[str] = set()
    numbers = [f"+1 {a} 555 01{n:02d}" for a in ("617", "857", "781") for n in range(100)]
    rng.shuffle(numbers)
    for phone in numbers:
        while True:
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            if name not in seen:
                seen.add(name)
                break
        yield name, phone


def _precincts(wards: tuple[str, ...]) -> list[str]:
    """The WARD_PRECINCT codes of the real Boston precincts of ``wards``, in order."""
    import json

    path = REALDATA / "boston311_2015" / "boston_precincts_epsg4326.geojson"
    features = json.loads(path.read_text())["features"]
    return sorted(c for f in features if (c := f["properties"]["WARD_PRECINCT"])[:2] in wards)


def staff_rows(rng: random.Random) -> list[dict[str, str]]:
    people = _people(rng)
    rows: list[dict[str, str]] = []

    def add(role: str, grids: str, start: str, department: str = "", region: str = "") -> None:
        name, phone = next(people)
        rows.append(
            {
                "staff_no": f"BOS-{len(rows) + 1:04d}",
                "name": name,
                "mobile": phone,
                "role": role,
                "grid_codes": grids,
                "department": department,
                "region": region,
                "start_date": start,
                "end_date": "",
            }
        )

    for ward in range(1, WARDS + 1):
        grid = f"{CITY}-W{ward:02d}"
        if ward != 21:  # planted gap: ward 21 has no grid chief
            add("网格长", grid, "2024-01-02")
        if ward != 22:  # planted gap: ward 22 has no full-time grid worker
            add("专职网格员", grid, "2024-03-01")
            add("专职网格员", grid, f"2025-{rng.randint(1, 9):02d}-01")
        add("兼职网格员", grid, "2025-06-01")
    # Grid instructors from the departments, two wards each (one cell, several codes).
    leads = [d[0] for d in DEPARTMENTS if d[2] == "联动部门"]
    for i in range(0, WARDS, 2):
        grids = f"{CITY}-W{i + 1:02d};{CITY}-W{i + 2:02d}"
        add("网格指导员", grids, "2024-01-02", department=leads[(i // 2) % len(leads)])
    # Micro-grid chiefs for the precincts of wards 1-3 (18 of them; 1-15 is rejected by the
    # micro-grid import, so it gets none): the other wards' micro-grids are a 提示 finding.
    for code in _precincts(wards=("01", "02", "03")):
        if code != "0115":
            add("微网格长", f"{CITY}-W{code}", "2025-01-02")
    # The command centre's operators: no grid, the city as their region.
    for _ in range(2):
        add("指挥中心值班员", "", "2024-01-02", department="BOS-311", region=CITY)
    return rows


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "departments.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["部门编码", "部门名称", "部门类型", "层级", "上级部门编码", "所属辖区编码",
                    "联系电话", "牵头事项", "协办事项"])  # fmt: skip
        for code, name, kind, level, parent, lead, assist in DEPARTMENTS:
            w.writerow([code, name, kind, level, parent, CITY, "+1 617 635 4500", lead, assist])
    rows = staff_rows(random.Random(13))
    with (OUT / "staff.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {OUT}/departments.csv ({len(DEPARTMENTS)} departments), staff.csv ({len(rows)})")


if __name__ == "__main__":
    main()
