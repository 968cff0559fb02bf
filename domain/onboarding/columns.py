"""The columns of the onboarding files (staff, departments, micro-grids, the item list): one
declaration per kind that the importers read headers by (gridscope.imports, through
gridscope.imports.columns), the xlsx templates are written from (domain.onboarding.templates)
and the docs document (docs/imports-roster.md, docs/imports.md). Pure data, in the domain tier
so that both the importers and the admin pages' template download read it.

A file's header is matched to a column by its Chinese heading or any alias (case and spaces
ignored), so a town can fill in the downloaded template or export from its own system with
English headers. Columns a file lacks are empty in every row (table_source.Table.records); a
required column missing refuses the whole file before anything is read further.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from domain.vocabulary import ROLE_NAMES_ZH

# What a column's cells hold, for the templates: "code" cells (codes, phone numbers) are text in
# Excel so leading zeros and 18-digit codes survive; "date" cells are text YYYY-MM-DD.
CELL_KINDS = ("text", "code", "date", "number")


@dataclass(frozen=True)
class Column:
    """One column of an onboarding file."""

    key: str  # the importer's name for it
    header: str  # the template's heading (Chinese)
    aliases: tuple[str, ...]  # other headings accepted (English, common variants)
    required: bool
    note: str  # what goes in it: the template's notes sheet and docs/imports.md
    example: str  # the template's example row
    cell: str = "text"  # one of CELL_KINDS
    choices: tuple[str, ...] = ()  # the template's dropdown, where the values are a fixed list


def _norm(text: str) -> str:
    # A leading * (a required column marked in a town's own sheet) and a BOM do not count.
    flat = "".join(str(text).split()).lower().replace("（", "(").replace("）", ")")
    return flat.lstrip("\ufeff*")


# The fixed lists of values (the template's dropdowns). Importers also accept the codes after
# the arrow and a few variants (gridscope.imports.roster.values).
DEPARTMENT_KINDS: Mapping[str, str] = MappingProxyType(
    {"联动部门": "linked", "服务单位": "service_unit", "网格化机构": "grid_institution"}
)
DEPARTMENT_LEVELS: Mapping[str, str] = MappingProxyType(
    {"市": "city", "县（区）": "county", "镇（街道）": "town", "村（社区）": "community"}
)
ITEM_ACTIONS: Mapping[str, str] = MappingProxyType(
    {"纳入": "admit", "调整": "amend", "退出": "withdraw"}
)
ITEM_MATTERS: tuple[str, ...] = ("服务管理", "行政许可", "行政处罚", "行政强制")

STAFF: tuple[Column, ...] = (
    Column(
        "staff_no",
        "人员编号",
        ("staff_no", "工号", "编号", "id"),
        False,
        "本人的唯一编号（工号）。不填时以手机号识别本人；同一人多行（多个网格）编号或手机号须相同",
        "JX-0001",
        cell="code",
    ),
    Column("name", "姓名", ("name", "full_name"), True, "姓名（网格公示信息）", "张晓明"),
    Column(
        "mobile",
        "手机号码",
        ("mobile", "phone", "手机号", "电话", "联系电话"),
        True,
        "11位手机号码（网格公示信息），如 13805731234；可带 +86 或空格、短横线；"
        "境外号码以 + 和国家代码开头（如 +1 617 635 4900）",
        "13805731234",
        cell="code",
    ),
    Column(
        "role",
        "岗位",
        ("role", "角色", "职务"),
        True,
        "网格长、专职网格员、兼职网格员、网格指导员、微网格长、联户长、指挥中心值班员、"
        "部门联络员（或英文 grid_chief、fulltime_worker …）",
        "专职网格员",
        choices=tuple(ROLE_NAMES_ZH.values()),
    ),
    Column(
        "grids",
        "网格编码",
        ("grid_codes", "grids", "grid", "网格", "微网格编码"),
        False,
        "所在网格或微网格的编码，可填多个，用 ; 或 、 分隔（微网格编码为18位）。"
        "网格人员必填；指挥中心值班员、部门联络员不填",
        "330402001001001",
        cell="code",
    ),
    Column(
        "department",
        "所属部门编码",
        ("department", "department_code", "部门编码", "部门"),
        False,
        "网格指导员、部门联络员所属部门的编码（须已导入部门）；部门联络员必填",
        "",
        cell="code",
    ),
    Column(
        "region",
        "所属辖区编码",
        ("region", "region_code", "辖区编码"),
        False,
        "不在网格的人员（值班员、部门联络员）所属辖区的统计用区划代码；网格人员可不填",
        "",
        cell="code",
    ),
    Column(
        "start",
        "任职开始日期",
        ("start_date", "start", "开始日期", "起始日期"),
        False,
        "YYYY-MM-DD；不填为导入当日",
        "2024-03-01",
        cell="date",
    ),
    Column(
        "end",
        "任职结束日期",
        ("end_date", "end", "结束日期", "离任日期"),
        False,
        "YYYY-MM-DD，离任或调离之日（自该日起不再在该网格任职）；在任不填。日期在将来的，到期自动结束",
        "",
        cell="date",
    ),
)

DEPARTMENTS: tuple[Column, ...] = (
    Column(
        "code",
        "部门编码",
        ("code", "department_code", "编码"),
        True,
        "部门的唯一编码（字母、数字、- _ .，至多40个字符）",
        "330402-SJ",
        cell="code",
    ),
    Column("name", "部门名称", ("name", "名称"), True, "部门全称", "南湖区市场监督管理局"),
    Column(
        "kind",
        "部门类型",
        ("kind", "type", "类型"),
        True,
        "联动部门、服务单位、网格化机构（或 linked、service_unit、grid_institution）",
        "联动部门",
        choices=tuple(DEPARTMENT_KINDS),
    ),
    Column(
        "level",
        "层级",
        ("level", "级别"),
        True,
        "市、县（区）、镇（街道）、村（社区）（或 city、county、town、community）",
        "县（区）",
        choices=tuple(DEPARTMENT_LEVELS),
    ),
    Column(
        "parent",
        "上级部门编码",
        ("parent", "parent_code", "上级编码"),
        False,
        "上级部门的编码（同一文件中或已导入）；无上级不填",
        "",
        cell="code",
    ),
    Column(
        "region",
        "所属辖区编码",
        ("region", "region_code", "辖区编码"),
        True,
        "部门所在辖区的统计用区划代码",
        "330402",
        cell="code",
    ),
    Column(
        "phone", "联系电话", ("phone", "电话"), False, "部门值班电话", "0573-82000000", cell="code"
    ),
    Column(
        "lead",
        "牵头事项",
        ("lead", "lead_categories", "牵头事项编码"),
        False,
        "可牵头办理的事项编码（事项清单的大类或小类），用 ; 或 、 分隔",
        "0905;0906",
        cell="code",
    ),
    Column(
        "assist",
        "协办事项",
        ("assist", "assist_categories", "协办事项编码"),
        False,
        "可协助办理的事项编码，用 ; 或 、 分隔",
        "0601",
        cell="code",
    ),
)

MICRO_GRIDS: tuple[Column, ...] = (
    Column(
        "code",
        "微网格编码",
        ("code", "micro_grid_code", "编码"),
        True,
        "18位微网格编码（所属网格的15位编码 + 3位顺序号）",
        "330402001001001001",
        cell="code",
    ),
    Column("name", "微网格名称", ("name", "名称"), False, "不填时用编码", "幸福小区1幢"),
    Column(
        "grid",
        "所属网格编码",
        ("grid", "grid_code", "网格编码", "parent"),
        False,
        "所属网格的编码；不填时取微网格编码的前15位",
        "330402001001001",
        cell="code",
    ),
    Column("households", "户数", ("households", "户"), False, "常住户数", "86", cell="number"),
    Column(
        "household_groups",
        "联户数",
        ("household_groups", "联户单位数", "联户"),
        False,
        "联户单位（联户长负责的若干户）的个数",
        "6",
        cell="number",
    ),
)

ITEMS: tuple[Column, ...] = (
    Column(
        "code",
        "事项编码",
        ("code", "category_code", "编码"),
        True,
        "大类2位、小类4位（小类的前2位为其大类）",
        "0910",
        cell="code",
    ),
    Column(
        "name_zh", "事项名称", ("name_zh", "name", "名称"), False, "纳入时必填", "共享单车乱停放"
    ),
    Column("name_en", "英文名称", ("name_en", "english"), False, "可不填", "Shared bikes"),
    Column(
        "action",
        "操作",
        ("action", "变更类型"),
        True,
        "纳入、调整、退出（或 admit、amend、withdraw）",
        "纳入",
        choices=tuple(ITEM_ACTIONS),
    ),
    Column(
        "decision_no",
        "决定文号",
        ("decision_no", "decision", "文号"),
        True,
        "批准该变更的文件文号",
        "南湖网格〔2027〕3号",
    ),
    Column(
        "effective_on",
        "生效日期",
        ("effective_on", "effective", "生效"),
        True,
        "YYYY-MM-DD，自该日起生效",
        "2027-01-01",
        cell="date",
    ),
    Column(
        "matter",
        "事项性质",
        ("matter", "nature", "性质"),
        False,
        "服务管理（默认）；行政许可、行政处罚、行政强制事项依法不得纳入清单，将被拒绝",
        "服务管理",
        choices=ITEM_MATTERS,
    ),
    Column(
        "normal_limit",
        "一般时限",
        ("normal_limit", "limit", "时限"),
        False,
        "处置时限：数字加单位 WD（工作日）、WH（工作小时）、h（小时）、min（分钟），如 5WD",
        "3WD",
    ),
    Column(
        "urgent_limit",
        "紧急时限",
        ("urgent_limit", "urgent"),
        False,
        "紧急件处置时限，如 24h",
        "24h",
    ),
    Column("note", "备注", ("note", "说明"), False, "", ""),
)

KINDS: Mapping[str, tuple[Column, ...]] = MappingProxyType(
    {"staff": STAFF, "departments": DEPARTMENTS, "micro-grids": MICRO_GRIDS, "items": ITEMS}
)


def match_headers(kind: str, headers: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """({column key: index in ``headers``}, [missing required headings]) for a file of
    ``kind``. Unknown headings are ignored (a town's own extra columns are allowed)."""
    columns = KINDS[kind]
    index: dict[str, int] = {}
    for i, h in enumerate(headers):
        if str(h).strip():
            index.setdefault(_norm(h), i)  # a heading given twice: the first one counts
    found: dict[str, int] = {}
    for col in columns:
        for name in (col.header, col.key, *col.aliases):
            if (at := index.get(_norm(name))) is not None:
                found[col.key] = at
                break
    missing = [c.header for c in columns if c.required and c.key not in found]
    return found, missing
