"""The default item list (事项清单) and the stage limits of the closed loop (DOMAIN.md §3–4).

Categories use this project's own codes: ``CC`` major, ``CCSS`` minor (table ``category``).
Only admitted items may be assigned to grid workers (JX 8–9, ZJ 12–15, PY 14–16, YZ 9, AR 22).

Stage limits (table ``stage_limit``) are per category × stage T1..T7 × urgency. Units: 'min' and
'h' run on the calendar clock, 'wh' and 'wd' on the work calendar (``WorkCalendar``):

====  ==========================  ===================  =====================  ===============
T     stage                       normal               urgent                 source
====  ==========================  ===================  =====================  ===============
T1    report 上报                  24 h                 30 min ("immediately") ZJ 32
T2    accept 受理                  1 wh                 15 min                 practice
T3    dispatch 分办                1 wh                 15 min                 ZJ 33
T4    sign 签收                    1 wd                 30 min                 practice
T5    handle 处置                  the category limit   the category's urgent  ZJ 34, PY 18,
                                                                               AR 17
T6    verify 核查                  24 h                 24 h                   ZJ 35, AR 17
T7    survey 回访                  3 wd                 3 wd                   PY 23
====  ==========================  ===================  =====================  ===============

Where DOMAIN.md §3 gives no figure (an urgent 02 item, "immediate" 07, the "emergency plan" of
08), the value chosen here is common practice and documented beside it; the table is only the
seed of ``stage_limit`` and an administrator can change every row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import NamedTuple

STAGES: tuple[str, ...] = ("T1", "T2", "T3", "T4", "T5", "T6", "T7")
URGENCIES: tuple[str, ...] = ("normal", "urgent")


@dataclass(frozen=True)
class Category:
    """One item of the item list: a major ``CC`` or minor ``CCSS`` category."""

    code: str
    name_zh: str
    name_en: str
    sort_order: int

    @property
    def parent_code(self) -> str | None:
        """The major category of a minor one; None for a major category."""
        return self.code[:2] if len(self.code) == 4 else None

    @property
    def major(self) -> str:
        return self.code[:2]


class StageLimit(NamedTuple):
    """A stage's time limit: ``amount`` in ``unit`` ('min', 'h', 'wh', 'wd'); unpacks as a pair."""

    amount: float
    unit: str

    def __str__(self) -> str:
        return f"{self.amount:g} {self.unit}"


_MAJORS: tuple[tuple[str, str, str], ...] = (
    ("01", "政策宣传", "Policy publicity"),
    ("02", "基础信息采集", "Basic data collection"),
    ("03", "社情民意", "Public opinion"),
    ("04", "民生服务", "Livelihood services"),
    ("05", "矛盾纠纷排查化解", "Dispute resolution"),
    ("06", "安全隐患排查", "Safety hazards"),
    ("07", "治安防范", "Public security"),
    ("08", "突发事件", "Emergencies"),
    ("09", "城市管理", "Urban management"),
    ("99", "其他", "Other"),
)

# Minor categories (CCSS) with the T5 handling limit where it differs from the major's.
_MINORS: tuple[tuple[str, str, str, StageLimit | None], ...] = (
    ("0101", "法律政策宣传", "Law and policy campaigns", None),
    ("0102", "安全防范提示", "Safety warnings", StageLimit(3, "wd")),
    ("0103", "文明创建宣传", "Civility campaigns", None),
    ("0201", "人口信息采集", "Population data", None),
    ("0202", "房屋信息采集", "Housing data", None),
    ("0203", "单位组织信息采集", "Organisation data", None),
    ("0204", "设施部件信息采集", "Facility data", None),
    ("0301", "意见建议", "Suggestions", None),
    ("0302", "投诉反映", "Complaints", None),
    ("0303", "不稳定因素苗头", "Early signs of instability", StageLimit(3, "wd")),
    ("0401", "代办帮办", "Errands for residents", None),
    ("0402", "困难群众帮扶", "Help for people in hardship", None),
    ("0403", "老年人关爱", "Care for the elderly", None),
    ("0404", "留守儿童关爱", "Care for left-behind children", None),
    ("0405", "残疾人服务", "Services for the disabled", None),
    ("0501", "邻里纠纷", "Neighbour disputes", None),
    ("0502", "家庭婚姻纠纷", "Family and marriage disputes", None),
    # "complex 15 WD" (DOMAIN.md §3): land and labour disputes usually need several hearings.
    ("0503", "土地山林纠纷", "Land and forest disputes", StageLimit(15, "wd")),
    ("0504", "劳资纠纷", "Labour disputes", StageLimit(15, "wd")),
    ("0505", "物业管理纠纷", "Property-management disputes", None),
    ("0601", "消防隐患", "Fire hazards", None),
    ("0602", "燃气安全", "Gas safety", StageLimit(1, "wd")),
    ("0603", "安全生产", "Production safety", None),
    ("0604", "道路交通隐患", "Road traffic hazards", None),
    ("0605", "危旧房屋", "Unsafe buildings", StageLimit(5, "wd")),
    ("0606", "防汛防台", "Flood and typhoon", StageLimit(1, "wd")),
    ("0607", "食品安全", "Food safety", None),
    ("0701", "可疑情况", "Suspicious situations", None),
    ("0702", "特殊人群服务管理", "Special populations", None),
    ("0703", "出租房屋管理", "Rental housing", None),
    ("0801", "自然灾害", "Natural disasters", None),
    ("0802", "事故灾难", "Accidents", None),
    ("0803", "公共卫生事件", "Public health events", None),
    ("0804", "社会安全事件", "Social security events", None),
    # 09: "1–15 WD by subclass" (DOMAIN.md §3), as in 数字城管 item standards.
    ("0901", "占道经营", "Street vending", StageLimit(1, "wd")),
    ("0902", "环境卫生", "Sanitation", StageLimit(1, "wd")),
    ("0903", "设施损坏", "Damaged facilities", StageLimit(5, "wd")),
    ("0904", "违章搭建", "Illegal structures", StageLimit(15, "wd")),
    ("0905", "乱堆乱放", "Clutter on public ground", StageLimit(2, "wd")),
    ("0906", "违规停车", "Illegal parking", StageLimit(1, "wd")),
)

_MAJOR_SORT = {code: (i + 1) * 100 for i, (code, _, _) in enumerate(_MAJORS)}
# Sort order: majors 100, 200, …; a minor sorts right after its major (0901 → 901).
CATEGORIES: tuple[Category, ...] = tuple(
    [Category(code, zh, en, _MAJOR_SORT[code]) for code, zh, en in _MAJORS]
    + [Category(code, zh, en, _MAJOR_SORT[code[:2]] + int(code[2:])) for code, zh, en, _ in _MINORS]
)
CATEGORY_BY_CODE: Mapping[str, Category] = MappingProxyType({c.code: c for c in CATEGORIES})
MAJOR_CODES: tuple[str, ...] = tuple(code for code, _, _ in _MAJORS)

# T5 handling limits by major category (DOMAIN.md §3; ZJ 34, PY 18, AR 17).
_T5: dict[str, tuple[StageLimit, StageLimit]] = {
    "01": (StageLimit(5, "wd"), StageLimit(24, "h")),
    # 02 has no urgent variant in §3: an urgent data item keeps the normal limit.
    "02": (StageLimit(3, "wd"), StageLimit(3, "wd")),
    "03": (StageLimit(5, "wd"), StageLimit(2, "h")),
    "04": (StageLimit(5, "wd"), StageLimit(24, "h")),
    "05": (StageLimit(7, "wd"), StageLimit(2, "h")),
    # 06 urgent: "2 h response, 24 h control" — handling is the 24 h control; the 2 h response
    # is stricter than the urgent sign limit T4 and is covered by it.
    "06": (StageLimit(3, "wd"), StageLimit(24, "h")),
    # 07 urgent "immediate": 1 h on the calendar clock (practice).
    "07": (StageLimit(5, "wd"), StageLimit(1, "h")),
    # 08 runs under the emergency plan; 24 h / 2 h are practice defaults for the platform item.
    "08": (StageLimit(24, "h"), StageLimit(2, "h")),
    "09": (StageLimit(5, "wd"), StageLimit(2, "h")),
    "99": (StageLimit(5, "wd"), StageLimit(24, "h")),
}

# Stages other than T5, the same for every category (DOMAIN.md §4 table).
_COMMON: dict[str, tuple[StageLimit, StageLimit]] = {
    "T1": (StageLimit(24, "h"), StageLimit(30, "min")),  # ZJ 32
    "T2": (StageLimit(1, "wh"), StageLimit(15, "min")),
    "T3": (StageLimit(1, "wh"), StageLimit(15, "min")),  # ZJ 33
    "T4": (StageLimit(1, "wd"), StageLimit(30, "min")),
    "T6": (StageLimit(24, "h"), StageLimit(24, "h")),  # ZJ 35, AR 17
    "T7": (StageLimit(3, "wd"), StageLimit(3, "wd")),  # PY 23
}

# Escalation to the upper level within 24 h of acceptance (ZJ 33); not a stage of its own.
ESCALATION_LIMIT = StageLimit(24, "h")


def _default_limits() -> dict[tuple[str, str, str], StageLimit]:
    limits: dict[tuple[str, str, str], StageLimit] = {}
    for major in MAJOR_CODES:
        for stage in STAGES:
            pair = _T5[major] if stage == "T5" else _COMMON[stage]
            for urgency, limit in zip(URGENCIES, pair, strict=True):
                limits[(major, stage, urgency)] = limit
    # 08 emergencies: report within 30 minutes whatever the urgency (DOMAIN.md §3).
    limits[("08", "T1", "normal")] = StageLimit(30, "min")
    for code, _, _, t5 in _MINORS:
        if t5 is not None:
            limits[(code, "T5", "normal")] = t5
    return limits


DEFAULT_STAGE_LIMITS: Mapping[tuple[str, str, str], StageLimit] = MappingProxyType(
    _default_limits()
)


def limit_for(
    category_code: str,
    stage: str,
    urgency: str,
    limits: Mapping[tuple[str, str, str], tuple[float, str]] = DEFAULT_STAGE_LIMITS,
) -> StageLimit:
    """The limit of ``stage`` for a category and urgency, falling back from minor to major.

    Raises KeyError when neither the category nor its major category has a row.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    if urgency not in URGENCIES:
        raise ValueError(f"unknown urgency {urgency!r}")
    for code in (category_code, category_code[:2]):
        limit = limits.get((code, stage, urgency))
        if limit is not None:
            amount, unit = limit  # plain (amount, unit) pairs as loaded from stage_limit work too
            return StageLimit(float(amount), unit)
    raise KeyError(f"no {stage}/{urgency} limit for category {category_code!r} or its major")


def category_rows() -> list[dict[str, object]]:
    """Rows for table ``category`` (code, parent_code, name_zh, name_en, sort_order)."""
    return [
        {
            "code": c.code,
            "parent_code": c.parent_code,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "sort_order": c.sort_order,
        }
        for c in CATEGORIES
    ]


def stage_limit_rows(
    limits: Mapping[tuple[str, str, str], StageLimit] = DEFAULT_STAGE_LIMITS,
) -> list[dict[str, object]]:
    """Rows for table ``stage_limit`` (category_code, stage, urgency, amount, unit)."""
    return [
        {"category_code": c, "stage": s, "urgency": u, "amount": lim.amount, "unit": lim.unit}
        for (c, s, u), lim in sorted(limits.items())
    ]


def limits_from_rows(rows) -> dict[tuple[str, str, str], StageLimit]:
    """Limits keyed like DEFAULT_STAGE_LIMITS from ``stage_limit`` rows (mappings)."""
    return {
        (r["category_code"], r["stage"], r["urgency"]): StageLimit(float(r["amount"]), r["unit"])
        for r in rows
    }


# The item list as ``category`` rows (code, parent_code, name_zh, name_en, sort_order).
DEFAULT_CATEGORIES: tuple[Mapping[str, object], ...] = tuple(
    MappingProxyType(row) for row in category_rows()
)
