"""Synthetic departments, grid staff and their grid assignments (DOMAIN.md §2).

Names are drawn from common (Zhejiang-weighted) surnames and given-name characters, phones in
the mainland mobile format 1[3-9]x xxxx xxxx. Everything is deterministic for the seed. Grid
staff names and phones are public information by law (DOMAIN.md §2, §7), but these are made up.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from domain.vocabulary import OFFICE_ROLES, STAFF_ROLES

# The grid staff roles, named in domain.vocabulary's order (a change of its length fails here).
GRID_CHIEF, FULLTIME_WORKER, PARTTIME_WORKER, GRID_INSTRUCTOR, MICRO_GRID_CHIEF = STAFF_ROLES
CENTRE_OPERATOR, DEPARTMENT_OFFICER = OFFICE_ROLES

# (surname, relative weight): national frequency, nudged towards northern Zhejiang.
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.0),
    ("李", 5.0),
    ("张", 6.0),
    ("陈", 7.5),
    ("刘", 3.0),
    ("杨", 2.5),
    ("黄", 2.5),
    ("赵", 1.5),
    ("吴", 3.5),
    ("周", 3.5),
    ("徐", 4.0),
    ("孙", 2.0),
    ("马", 1.0),
    ("朱", 3.5),
    ("胡", 2.0),
    ("郭", 1.0),
    ("何", 1.2),
    ("高", 1.2),
    ("林", 1.2),
    ("罗", 0.8),
    ("郑", 1.2),
    ("梁", 0.6),
    ("谢", 0.8),
    ("宋", 0.8),
    ("唐", 0.8),
    ("许", 1.5),
    ("韩", 0.6),
    ("冯", 0.8),
    ("邓", 0.5),
    ("曹", 0.8),
    ("彭", 0.5),
    ("曾", 0.4),
    ("肖", 0.5),
    ("田", 0.5),
    ("董", 0.8),
    ("袁", 0.6),
    ("潘", 1.0),
    ("蒋", 1.2),
    ("蔡", 1.0),
    ("余", 0.8),
    ("杜", 0.5),
    ("叶", 1.0),
    ("程", 0.5),
    ("苏", 0.5),
    ("魏", 0.5),
    ("吕", 0.6),
    ("丁", 0.6),
    ("沈", 3.0),
    ("姚", 1.0),
    ("陆", 2.0),
    ("钱", 1.5),
    ("顾", 1.5),
    ("金", 1.5),
    ("费", 0.5),
    ("褚", 0.4),
    ("戴", 0.6),
    ("范", 0.6),
    ("汪", 0.6),
    ("俞", 0.8),
    ("方", 0.6),
    ("严", 0.5),
    ("施", 0.6),
    ("邹", 0.4),
)
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞建国峰浩宇俊晨凯文博志宏海波林东健斌亮新庆春晓"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪慧佳琳莉红梅萍洁颖倩琴云丹蓉月秀英华兰凤晶怡欣悦"
MOBILE_PREFIXES = (
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 173 177 180 181 182 183 184 185 186 187 188 189 198 199"
).split()

# Linked departments per county: (abbr, name, major categories it leads on, DOMAIN.md §3).
LINKED_DEPARTMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("GA", "公安分局", ("07", "08", "05")),
    ("MZ", "民政局", ("04",)),
    ("SJ", "市场监督管理局", ("06",)),
    ("YJ", "应急管理局", ("06", "08")),
    ("ZF", "综合行政执法局（城管）", ("09",)),
    ("ZJ", "住房和城乡建设局", ("06", "09")),
    ("HB", "生态环境分局", ("06",)),
    ("WJ", "卫生健康局", ("04", "08")),
    ("RS", "人力资源和社会保障局", ("05", "04")),
    ("XF", "信访局", ("05", "03")),
    ("SW", "水利局（水务）", ("06", "08")),
    ("SF", "司法局", ("01", "05")),
)
# City-wide service units (PY 6) and one property-management unit per county.
CITY_SERVICE_UNITS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("GS", "嘉兴市供水公司", ("04", "06", "09")),
    ("RQ", "嘉兴市燃气公司", ("06",)),
    ("GD", "嘉兴市供电公司", ("06", "04")),
    ("TX", "嘉兴市通信公司", ("04", "09")),
)
PROPERTY_UNIT = ("WY", "物业服务中心", ("05", "09"))
GRID_INSTITUTION_CATEGORIES = ("01", "02", "03", "99")

# Role mix (DOMAIN.md §2): chances per grid / micro-grid.
P_SHARED_CHIEF = 0.2  # a community cadre heads two neighbouring grids
P_SECOND_FULLTIME_URBAN = 0.35
P_PARTTIME = {True: 0.25, False: 0.65}  # urban, rural
P_INSTRUCTED = 0.35
P_MICRO_CHIEF = 0.4
P_EXCLUSIVE_HELPER = 0.5  # a neighbouring grid's full-time worker also covers the exclusive grid


def chinese_names(rng: np.random.Generator, n: int) -> NDArray:
    """n plausible Chinese personal names (surname + one or two given-name characters)."""
    names, weights = zip(*SURNAMES, strict=True)
    w = np.asarray(weights) / sum(weights)
    surname = np.asarray(names)[rng.choice(len(names), size=n, p=w)]
    female = rng.random(n) < 0.5
    two = rng.random(n) < 0.75
    male_pool = np.array(list(GIVEN_MALE))
    female_pool = np.array(list(GIVEN_FEMALE))
    c1 = np.where(
        female,
        female_pool[rng.integers(0, len(female_pool), n)],
        male_pool[rng.integers(0, len(male_pool), n)],
    )
    c2 = np.where(
        female,
        female_pool[rng.integers(0, len(female_pool), n)],
        male_pool[rng.integers(0, len(male_pool), n)],
    )
    c2 = np.where(two & (c2 != c1), c2, "")
    return np.char.add(np.char.add(surname, c1), c2).astype(object)


def mobile_phones(rng: np.random.Generator, n: int) -> NDArray:
    """n distinct 11-digit mainland mobile numbers (1[3-9] prefixes in real use)."""
    out = np.empty(n, dtype=object)
    todo = np.arange(n)
    seen: set[str] = set()
    while todo.size:
        pre = np.asarray(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), todo.size)]
        num = rng.integers(0, 10**8, todo.size)
        again = []
        for i, p, s in zip(todo.tolist(), pre.tolist(), num.tolist(), strict=True):
            phone = f"{p}{s:08d}"
            if phone in seen:
                again.append(i)
            else:
                seen.add(phone)
                out[i] = phone
        todo = np.asarray(again, dtype=np.int64)
    return out


def build_departments(regions: gpd.GeoDataFrame) -> pd.DataFrame:
    """Linked departments and a property unit per county, city service units, grid
    institutions for the city, each county and each town. ids are 1..n."""
    rows: list[tuple[str, str, str, str, tuple[str, ...]]] = []
    by_level = {lvl: regions[regions["level"] == lvl] for lvl in ("city", "county", "town")}
    city = by_level["city"].iloc[0]
    rows.append(
        (
            f"{city['code']}-ZX",
            f"{city['name']}社会治理综合指挥中心",
            "grid_institution",
            city["code"],
            GRID_INSTITUTION_CATEGORIES,
        )
    )
    for abbr, name, cats in CITY_SERVICE_UNITS:
        rows.append((f"{city['code']}-{abbr}", name, "service_unit", city["code"], cats))
    for _, county in by_level["county"].sort_values("code").iterrows():
        code, cname = county["code"], county["name"]
        rows.append(
            (
                f"{code}-ZX",
                f"{cname}社会治理中心",
                "grid_institution",
                code,
                GRID_INSTITUTION_CATEGORIES,
            )
        )
        for abbr, name, cats in LINKED_DEPARTMENTS:
            full = _department_name(city["name"], cname, name)
            rows.append((f"{code}-{abbr}", full, "linked", code, cats))
        abbr, name, cats = PROPERTY_UNIT
        rows.append((f"{code}-{abbr}", f"{cname}{name}", "service_unit", code, cats))
    for _, town in by_level["town"].sort_values("code").iterrows():
        rows.append(
            (
                f"{town['code']}-ZX",
                f"{town['name']}综合信息指挥室",
                "grid_institution",
                town["code"],
                GRID_INSTITUTION_CATEGORIES,
            )
        )
    df = pd.DataFrame(rows, columns=["code", "name", "kind", "region_code", "categories"])
    df["categories"] = df["categories"].map(list)
    df.insert(0, "id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df


def _department_name(city: str, county: str, dept: str) -> str:
    # Districts host branches of city bureaus (嘉兴市公安局南湖区分局); counties have their own.
    if dept.endswith("分局"):
        bureau = dept[:-2] + "局"
        if county.endswith("区"):
            return f"{city}{bureau}{county}分局"
        return f"{county}{bureau}"
    return f"{county}{dept}"


def build_people(
    regions: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame,
    micro_grids: gpd.GeoDataFrame,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(departments, staff, assignments) for a territory; see gridscope.demo.model.Territory."""
    rng = np.random.default_rng((seed, 7, 1))
    departments = build_departments(regions)
    dept_id = dict(zip(departments["code"], departments["id"], strict=True))
    linked_abbrs = [a for a, _, _ in LINKED_DEPARTMENTS]

    staff: list[tuple[str, str, int | None]] = []  # role, region_code, department id
    assign: list[tuple[int, str, str | None, str]] = []

    def hire(role: str, region: str, dept: int | None = None) -> int:
        staff.append((role, region, dept))
        return len(staff)  # ids are 1-based

    micro_by_grid = micro_grids.groupby("grid_code", sort=True)["code"].apply(list).to_dict()
    for comm, g in grids.groupby("community_code", sort=True):
        g = g.sort_values("code")
        county = comm[:6]
        codes = g["code"].tolist()
        urban = bool(g["urban"].iat[0])
        exclusive = (g["grid_type"] == "exclusive").tolist()
        chief = None
        fulltime_of: dict[str, int] = {}
        for code, excl in zip(codes, exclusive, strict=True):
            # Grid chief: a community cadre, sometimes the same one as the previous grid.
            if chief is None or excl or rng.random() >= P_SHARED_CHIEF:
                chief = hire(GRID_CHIEF, comm)
            assign.append((chief, code, None, GRID_CHIEF))
            if excl:
                chief = None  # the unit's own leader; not reused for residential grids
                helper = hire(PARTTIME_WORKER, comm)
                assign.append((helper, code, None, PARTTIME_WORKER))
                continue
            n_full = 1 + int(urban and rng.random() < P_SECOND_FULLTIME_URBAN)
            for _ in range(n_full):
                w = hire(FULLTIME_WORKER, comm)
                fulltime_of.setdefault(code, w)
                assign.append((w, code, None, FULLTIME_WORKER))
            if rng.random() < P_PARTTIME[urban]:
                assign.append((hire(PARTTIME_WORKER, comm), code, None, PARTTIME_WORKER))
        # Exclusive grids are under dual management: a nearby full-time worker often helps.
        comp = [c for c, e in zip(codes, exclusive, strict=True) if not e]
        for code, excl in zip(codes, exclusive, strict=True):
            if excl and comp and rng.random() < P_EXCLUSIVE_HELPER:
                near = min(comp, key=lambda c: abs(int(c) - int(code)))
                assign.append((fulltime_of[near], code, None, FULLTIME_WORKER))
        # One instructor per community from a linked department (police most often).
        instructed = [c for c in codes if rng.random() < P_INSTRUCTED]
        if instructed:
            abbr = "GA" if rng.random() < 0.6 else str(rng.choice(linked_abbrs))
            inst = hire(GRID_INSTRUCTOR, comm, dept_id[f"{county}-{abbr}"])
            assign.extend((inst, c, None, GRID_INSTRUCTOR) for c in instructed)
        # Micro-grid chiefs (volunteers, building heads) for a share of micro-grids.
        for code in codes:
            for mcode in micro_by_grid.get(code, []):
                if rng.random() < P_MICRO_CHIEF:
                    micro_chief = hire(MICRO_GRID_CHIEF, comm)
                    assign.append((micro_chief, code, mcode, MICRO_GRID_CHIEF))

    for _, d in departments.iterrows():
        if d["kind"] == "grid_institution":
            n = int(rng.integers(3, 6)) if len(d["region_code"]) == 9 else int(rng.integers(4, 8))
            for _ in range(n):
                hire(CENTRE_OPERATOR, d["region_code"], int(d["id"]))
        else:
            for _ in range(int(rng.integers(2, 4))):
                hire(DEPARTMENT_OFFICER, d["region_code"], int(d["id"]))

    n = len(staff)
    ids = np.arange(1, n + 1, dtype=np.int64)
    staff_df = pd.DataFrame(
        {
            "id": ids,
            "staff_no": [f"JX{i:07d}" for i in ids],
            "name": chinese_names(rng, n),
            "phone": mobile_phones(rng, n),
            "role": [s[0] for s in staff],
            "department_id": pd.array([s[2] for s in staff], dtype="Int64"),
            "region_code": [s[1] for s in staff],
        }
    )
    assign_df = pd.DataFrame(assign, columns=["staff_id", "grid_code", "micro_grid_code", "role"])
    assign_df["staff_id"] = assign_df["staff_id"].astype(np.int64)
    assign_df["micro_grid_code"] = pd.Series(
        [a[2] for a in assign], dtype=object
    )  # None, not NaN, for grid-level assignments
    return departments, staff_df, assign_df
