"""The default item list (事项清单, DOMAIN.md §3): categories, their codes and their names.

Codes are this project's own: ``CC`` major, ``CCSS`` minor (table ``category``). Only admitted
items may be assigned to grid workers (JX 8–9, ZJ 12–15, PY 14–16, YZ 9, AR 22). This module is
the one place the names are written; the stage limits of each item live in
``domain.clock.limits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


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

# Minor categories (CCSS).
_MINORS: tuple[tuple[str, str, str], ...] = (
    ("0101", "法律政策宣传", "Law and policy campaigns"),
    ("0102", "安全防范提示", "Safety warnings"),
    ("0103", "文明创建宣传", "Civility campaigns"),
    ("0201", "人口信息采集", "Population data"),
    ("0202", "房屋信息采集", "Housing data"),
    ("0203", "单位组织信息采集", "Organisation data"),
    ("0204", "设施部件信息采集", "Facility data"),
    ("0301", "意见建议", "Suggestions"),
    ("0302", "投诉反映", "Complaints"),
    ("0303", "不稳定因素苗头", "Early signs of instability"),
    ("0401", "代办帮办", "Errands for residents"),
    ("0402", "困难群众帮扶", "Help for people in hardship"),
    ("0403", "老年人关爱", "Care for the elderly"),
    ("0404", "留守儿童关爱", "Care for left-behind children"),
    ("0405", "残疾人服务", "Services for the disabled"),
    ("0501", "邻里纠纷", "Neighbour disputes"),
    ("0502", "家庭婚姻纠纷", "Family and marriage disputes"),
    ("0503", "土地山林纠纷", "Land and forest disputes"),
    ("0504", "劳资纠纷", "Labour disputes"),
    ("0505", "物业管理纠纷", "Property-management disputes"),
    ("0601", "消防隐患", "Fire hazards"),
    ("0602", "燃气安全", "Gas safety"),
    ("0603", "安全生产", "Production safety"),
    ("0604", "道路交通隐患", "Road traffic hazards"),
    ("0605", "危旧房屋", "Unsafe buildings"),
    ("0606", "防汛防台", "Flood and typhoon"),
    ("0607", "食品安全", "Food safety"),
    ("0701", "可疑情况", "Suspicious situations"),
    ("0702", "特殊人群服务管理", "Special populations"),
    ("0703", "出租房屋管理", "Rental housing"),
    ("0801", "自然灾害", "Natural disasters"),
    ("0802", "事故灾难", "Accidents"),
    ("0803", "公共卫生事件", "Public health events"),
    ("0804", "社会安全事件", "Social security events"),
    ("0901", "占道经营", "Street vending"),
    ("0902", "环境卫生", "Sanitation"),
    ("0903", "设施损坏", "Damaged facilities"),
    ("0904", "违章搭建", "Illegal structures"),
    ("0905", "乱堆乱放", "Clutter on public ground"),
    ("0906", "违规停车", "Illegal parking"),
)

_MAJOR_SORT = {code: (i + 1) * 100 for i, (code, _, _) in enumerate(_MAJORS)}
# Sort order: majors 100, 200, …; a minor sorts right after its major (0901 → 901).
CATEGORIES: tuple[Category, ...] = tuple(
    [Category(code, zh, en, _MAJOR_SORT[code]) for code, zh, en in _MAJORS]
    + [Category(code, zh, en, _MAJOR_SORT[code[:2]] + int(code[2:])) for code, zh, en in _MINORS]
)
CATEGORY_BY_CODE: Mapping[str, Category] = MappingProxyType({c.code: c for c in CATEGORIES})
MAJOR_CODES: tuple[str, ...] = tuple(code for code, _, _ in _MAJORS)
MAJOR_NAMES_ZH: Mapping[str, str] = MappingProxyType({code: zh for code, zh, _ in _MAJORS})


def category_name_zh(code: str) -> str:
    """The Chinese name of a category of the default list ('' when the code is not in it)."""
    cat = CATEGORY_BY_CODE.get(code)
    return cat.name_zh if cat else ""


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


# The item list as ``category`` rows (code, parent_code, name_zh, name_en, sort_order).
DEFAULT_CATEGORIES: tuple[Mapping[str, object], ...] = tuple(
    MappingProxyType(row) for row in category_rows()
)
