"""The closed loop's fixed vocabularies (DOMAIN.md §2–4), each written once.

Sources, urgencies, actors, survey results, staff roles and exclusive-grid kinds: the write
path, the importers, the demo, the API models, the screen and the layers all take them from
here. Category names live in ``domain.categories``; states, stages and their names in
``domain.workflow.rules``; the supervision ladder in ``domain.supervision``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Where a ticket came from (PY 15, ZJ 17, AR 21). "import" marks rows of a file import.
SOURCE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "patrol": "网格员巡查",
        "hotline": "热线",
        "app": "群众上报",
        "department": "部门移交",
        "video": "视频发现",
        "import": "批量导入",
        "other": "其他",
    }
)
SOURCES: tuple[str, ...] = tuple(SOURCE_NAMES_ZH)
# The sources a live closed loop produces (the demo simulates these; the other two only arrive
# through imports or the API).
FIELD_SOURCES: tuple[str, ...] = ("patrol", "hotline", "app", "department", "video")

URGENCY_NAMES_ZH: Mapping[str, str] = MappingProxyType({"normal": "一般", "urgent": "紧急"})
URGENCIES: tuple[str, ...] = tuple(URGENCY_NAMES_ZH)

# Who performed a step of the log.
ACTOR_KINDS: tuple[str, ...] = ("worker", "centre", "department", "public", "system")

# Satisfaction survey results (PY 23); the first two count as satisfied (DOMAIN.md §5).
SATISFACTION_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}
)
SATISFACTION: tuple[str, ...] = tuple(SATISFACTION_NAMES_ZH)
SATISFIED: frozenset[str] = frozenset({"satisfied", "basic"})

# Grid staff roles (JX 7, ZJ 16–21, PY 10–11, AR 13).
STAFF_ROLE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "grid_chief": "网格长",
        "fulltime_worker": "专职网格员",
        "parttime_worker": "兼职网格员",
        "grid_instructor": "网格指导员",
        "micro_grid_chief": "微网格长",
    }
)
STAFF_ROLES: tuple[str, ...] = tuple(STAFF_ROLE_NAMES_ZH)
# Staff of the command centres and the linked departments (not grid staff: they patrol no grid
# and are not counted among the grid workers on the screen).
OFFICE_ROLE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"centre_operator": "指挥中心值班员", "department_officer": "部门联络员"}
)
OFFICE_ROLES: tuple[str, ...] = tuple(OFFICE_ROLE_NAMES_ZH)
# The leader of a household group (联户长, 联户单位: JX 6, AR 11), below the micro-grid chief: grid
# staff that only the staff import creates so far. Kept out of STAFF_ROLES, whose five roles the
# demo generator names one by one (gridscope/demo/people.py).
HOUSEHOLD_ROLE_NAMES_ZH: Mapping[str, str] = MappingProxyType({"household_leader": "联户长"})
HOUSEHOLD_ROLES: tuple[str, ...] = tuple(HOUSEHOLD_ROLE_NAMES_ZH)
# Every role a staff row may hold (the staff table's CHECK), named: what the staff import reads.
ROLE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {**STAFF_ROLE_NAMES_ZH, **HOUSEHOLD_ROLE_NAMES_ZH, **OFFICE_ROLE_NAMES_ZH}
)

# Grid types (综合网格 / 专属网格: ZJ 9, PY 8, YZ 6, AR 10).
GRID_TYPE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"comprehensive": "综合网格", "exclusive": "专属网格"}
)
GRID_TYPES: tuple[str, ...] = tuple(GRID_TYPE_NAMES_ZH)

# Kinds of exclusive grids (专属网格: ZJ 9, PY 8, YZ 6, AR 10).
EXCLUSIVE_KIND_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {
        "school": "学校",
        "hospital": "医院",
        "industrial_park": "园区",
        "enterprise": "企业",
        "market": "市场",
        "office": "楼宇",
        "government": "机关",
        "scenic": "景区",
        "other": "其他",
    }
)
