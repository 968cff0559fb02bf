"""The real 嘉兴 code tables shipped in gridscope/data/china_admin (国家统计局 2023)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

CITY_CODE = "3304"
CITY_NAME = "嘉兴市"
DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "china_admin"

URBAN_SUFFIXES = ("社区", "居委会", "居民委员会")
RURAL_SUFFIXES = ("村委会", "村民委员会")


@dataclass(frozen=True)
class Admin:
    """The real 嘉兴 code tables (codes as str)."""

    counties: pd.DataFrame  # code, name
    towns: pd.DataFrame  # code, name, county_code
    communities: pd.DataFrame  # code, name, town_code, short_name, urban


@cache
def load_admin() -> Admin:
    """Read the shipped 嘉兴 code tables; communities get a short name and an urban flag."""
    counties = pd.read_csv(DATA_DIR / "jiaxing_3304_counties.csv", dtype=str)
    towns = pd.read_csv(DATA_DIR / "jiaxing_3304_streets.csv", dtype=str)
    villages = pd.read_csv(DATA_DIR / "jiaxing_3304_villages.csv", dtype=str)
    towns = towns.rename(columns={"areaCode": "county_code"})[["code", "name", "county_code"]]
    villages = villages.rename(columns={"streetCode": "town_code"})[["code", "name", "town_code"]]
    villages["urban"] = villages["name"].str.endswith(URBAN_SUFFIXES)
    rural = villages["name"].str.endswith(RURAL_SUFFIXES)
    if not (villages["urban"] ^ rural).all():
        bad = villages.loc[~(villages["urban"] ^ rural), "name"].tolist()
        raise ValueError(f"cannot classify communities as urban or rural: {bad[:5]}")
    villages["short_name"] = villages["name"].map(short_community_name)
    return Admin(
        counties=counties[["code", "name"]].sort_values("code", ignore_index=True),
        towns=towns.sort_values("code", ignore_index=True),
        communities=villages.sort_values("code", ignore_index=True),
    )


def short_community_name(name: str) -> str:
    """'百福弄社区居委会' → '百福弄社区', '博山村委会' → '博山村', '三北村村民委员会' → '三北村'."""
    for suffix in ("居民委员会", "村民委员会", "居委会"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    if name.endswith("村委会"):
        return name[:-2]
    return name


def name_stem(short_name: str) -> str:
    for suffix in ("社区", "村"):
        if short_name.endswith(suffix) and len(short_name) > len(suffix):
            return short_name[: -len(suffix)]
    return short_name
