"""Who may see and do what: the one policy table (DOMAIN.md §7; ZJ 41–42, PY 20, JX 13).

Every check in the code asks this module: which pages a role opens, which map layers it mounts,
up to which data tier (L1–L4) it sees personal fields unmasked, and which actions (export,
reading worker tracks, administration) it may take. docs/access.md is generated from ``POLICY``
(``gridscope docs access``) and a test fails when the two differ.

Tiers (DOMAIN.md §7): L1 public aggregates, L2 internal operations, L3 personal data (names,
phones, addresses, exact points of residents' reports), L4 sensitive personal data (ID numbers,
special populations, precise worker positions and tracks). A field of tier T is shown as it is
to a role whose tier is at least T and masked (or left out) for every other role
(``domain.masking``).

Grid staff names and phones are public by law on the grid's notice board (DOMAIN.md §2), but
the product treats them as L3 on screens and in exports (§7: "masked names and phones"): a
wall in a visitors' room or an analyst's export carries them masked; leaders, dispatchers and
administrators, who call the staff, see them whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Tier(IntEnum):
    """Data sensitivity level; a role sees fields up to its tier unmasked."""

    L1 = 1
    L2 = 2
    L3 = 3
    L4 = 4


class Role(StrEnum):
    WALL = "wall"
    LEADER = "leader"
    ANALYST = "analyst"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


class Action(StrEnum):
    EXPORT = "export"  # download data (CSV) from a page
    READ_TRACKS = "read_tracks"  # a named worker's position, grids and today's track (L4)
    EXACT_POINTS = "exact_points"  # residents' report locations as points, not grid counts
    WRITE_TICKETS = "write_tickets"  # API tokens: create tickets, transitions, positions
    ADMINISTER = "administer"  # users, wall links, the audit trail


@dataclass(frozen=True)
class Page:
    path: str
    name_zh: str
    admin: bool = False


# Every page of the product. A page not listed here is not served to anyone.
PAGES: tuple[Page, ...] = (
    Page("/", "首页"),
    Page("/screen", "指挥中心大屏"),
    Page("/map", "网格地图"),
    Page("/explore", "事件分析"),
    Page("/analytics", "态势分析"),
    Page("/admin/users", "用户管理", admin=True),
    Page("/admin/walls", "大屏链接", admin=True),
    Page("/admin/audit", "审计日志", admin=True),
    Page("/admin/data", "基础数据", admin=True),
    Page("/admin/items", "事项清单", admin=True),
    Page("/admin/calendar", "工作日历", admin=True),
)
PAGE_PATHS = frozenset(p.path for p in PAGES)

# Every map layer id (layers.registry must list exactly these; a test holds them together).
LAYER_IDS = ("grids", "heat", "overdue", "workers")


@dataclass(frozen=True)
class RolePolicy:
    """What one role may do. ``tier`` is the highest data tier it reads unmasked."""

    role: Role
    name_zh: str
    description_zh: str
    tier: Tier
    pages: frozenset[str]
    layers: frozenset[str]
    actions: frozenset[Action]


_ALL_LAYERS = frozenset(LAYER_IDS)
_WORK_PAGES = frozenset({"/", "/screen", "/map", "/explore", "/analytics"})

POLICY: dict[Role, RolePolicy] = {
    p.role: p
    for p in (
        RolePolicy(
            Role.WALL,
            "大屏",
            "指挥中心大屏（无人值守）：仅大屏页面，只读 L1–L2 汇总数据，人员位置只显示数量",
            Tier.L2,
            frozenset({"/screen"}),
            _ALL_LAYERS,
            frozenset(),
        ),
        RolePolicy(
            Role.LEADER,
            "领导",
            "领导：查看态势、趋势、排名，导出汇总；网格人员姓名电话可见",
            Tier.L3,
            _WORK_PAGES,
            _ALL_LAYERS,
            frozenset({Action.EXPORT, Action.EXACT_POINTS}),
        ),
        RolePolicy(
            Role.ANALYST,
            "分析员",
            "分析员：按网格、类别、时间、状态筛选到单件；个人信息脱敏显示",
            Tier.L2,
            _WORK_PAGES,
            _ALL_LAYERS,
            frozenset({Action.EXPORT}),
        ),
        RolePolicy(
            Role.DISPATCHER,
            "调度员",
            "调度员：派遣处置，可查看网格员实时位置与当日轨迹（留痕审计）",
            Tier.L4,
            _WORK_PAGES,
            _ALL_LAYERS,
            frozenset(
                {Action.EXPORT, Action.READ_TRACKS, Action.EXACT_POINTS, Action.WRITE_TICKETS}
            ),
        ),
        RolePolicy(
            Role.ADMIN,
            "管理员",
            "系统管理员：用户、大屏链接、审计日志；全部数据（读取 L3/L4 均留痕）",
            Tier.L4,
            PAGE_PATHS,
            _ALL_LAYERS,
            frozenset(Action),
        ),
    )
}

# Personal fields and their tier. Anything not listed is L2 (internal operations) at most.
FIELD_TIERS: dict[str, Tier] = {
    "staff.name": Tier.L3,  # grid staff on cards, exports, logs
    "staff.phone": Tier.L3,
    "ticket.address": Tier.L3,  # a resident's report location; cut to road level below L3
    "ticket.reporter_name": Tier.L3,
    "ticket.reporter_phone": Tier.L3,
    "ticket.point": Tier.L3,  # exact point of a report; grid counts below L3
    "person.id_number": Tier.L4,  # never shown below L4, not even masked in part
    "worker.position": Tier.L4,  # a named worker's precise position and track
    "worker.track": Tier.L4,
    "ticket.sensitive_point": Tier.L4,  # special populations, disputes: grid counts on maps
}

# Categories whose tickets are never drawn as points on any map, whatever the role: special
# populations (0702, DOMAIN.md §7 "special populations only as counts per grid") and disputes
# (05xx 矛盾纠纷: a point names the household).
SENSITIVE_CATEGORY_PREFIXES = ("0702", "05")


def policy(role: Role | str) -> RolePolicy:
    """The policy of ``role``; ValueError for a name that is not a role."""
    return POLICY[Role(role)]


def may_open(role: Role | str, path: str) -> bool:
    """True when ``role`` may open page ``path`` (an exact page path of ``PAGES``)."""
    return path in policy(role).pages


def may(role: Role | str, action: Action) -> bool:
    return action in policy(role).actions


def may_mount(role: Role | str, layer_id: str) -> bool:
    return layer_id in policy(role).layers


def tier_of(role: Role | str) -> Tier:
    return policy(role).tier


def sees(role: Role | str, field: str) -> bool:
    """True when ``role`` reads ``field`` (a key of FIELD_TIERS) unmasked."""
    return tier_of(role) >= FIELD_TIERS.get(field, Tier.L2)


def is_sensitive_category(code: str | None) -> bool:
    """True for categories shown on maps only as counts per grid."""
    return bool(code) and str(code).startswith(SENSITIVE_CATEGORY_PREFIXES)


def home_path(role: Role | str) -> str:
    """Where a role lands after signing in: the wall goes to its screen, others to the index."""
    return "/screen" if Role(role) is Role.WALL else "/"
