"""The staffing rules (网格化服务管理人员配备, DOMAIN.md §2) as a table, and the pure functions
that apply them to the rows ``queries.staffing`` returns.

A rule is a row of ``RULES``: an id, its Chinese name, its severity, the articles it comes from
and a test. Grid rules test one grid's facts (who currently serves it, whether anyone of them
has a phone, its micro-grids); person rules and the deployment rule are tested in SQL (a person
with no grid, an assignment that outlived its end date) or on the settings (the supervision
hotline), and only named here. Another province adds its rules by adding rows: e.g. 濮阳 (PY 10)
wants a full-time worker in *every* grid, which is the row ``GridRule("fulltime_missing",
"网格无专职网格员", VIOLATION, "PY 10", test=requires(("fulltime_worker",)))``.

Severities: **违规** (violation) where a regulation says 应当/至少 (a chief, the workers, the
public contact and hotline); **提示** (notice) for what the regulations leave to local practice
or what the daily sweep repairs (micro-grid chiefs, JX 6 "可以…设立微网格"; people with no grid;
assignments past their end date, which no longer count as staffing). The wall counts violations.

"Current" staffing: an assignment with ``valid_to`` NULL that has started, of an active person,
whose end (the assignment's ``ends_on`` or the person's ``end_date``) has not come: an end date
still to come counts, one that has passed does not (the sweep closes such assignments daily).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from domain.vocabulary import STAFF_ROLE_NAMES_ZH

VIOLATION = "violation"
NOTICE = "notice"
SEVERITY_NAMES_ZH: Mapping[str, str] = MappingProxyType({VIOLATION: "违规", NOTICE: "提示"})

URBAN = "urban"
RURAL = "rural"
AREA_NAMES_ZH: Mapping[str, str] = MappingProxyType({URBAN: "城市", RURAL: "农村"})

# Roles of the people who staff a grid (JX 7, ZJ 16–21, PY 10, AR 11, 13); their counts are
# what queries.staffing returns per grid. 网格指导员 come from departments and are not counted
# as the grid's workers (ZJ 16), but a rule may require them (PY 10, AR 13 list them).
GRID_ROLES: tuple[str, ...] = (
    "grid_chief",
    "fulltime_worker",
    "parttime_worker",
    "grid_instructor",
    "micro_grid_chief",
    "household_leader",
)
# The people who must have a grid: every grid role but the instructor.
GRID_STAFF_ROLES: tuple[str, ...] = tuple(r for r in GRID_ROLES if r != "grid_instructor")
# Whose phone is the grid's public contact (JX 15 (二): 网格长、专职网格员等…的姓名和联系方式).
CONTACT_ROLES: tuple[str, ...] = ("grid_chief", "fulltime_worker", "parttime_worker")
WORKER_ROLES: tuple[str, ...] = ("fulltime_worker", "parttime_worker")
ROLE_NAMES_ZH: Mapping[str, str] = MappingProxyType(
    {"household_leader": "联户长", **STAFF_ROLE_NAMES_ZH}
)

# Urban or rural (城市/农村综合网格, ZJ 16) from the community's region row: ``kind`` as the demo
# and the importers write it ('urban'/'rural'), or the 统计用区划 城乡分类代码 (1xx 城镇,
# 2xx 乡村). Where kind says nothing, the community's name decides: 村 (村委会, 村民委员会) is
# rural, anything else (社区, 居委会, a name from abroad, no region row) urban — the stricter
# reading: an unknown community gets the urban rule, so a gap is reported rather than missed.
URBAN_KINDS: tuple[str, ...] = ("urban", "111", "112", "121", "122", "123")
RURAL_KINDS: tuple[str, ...] = ("rural", "210", "220")
RURAL_NAME = r"(村|村委会|村民委员会)$"
_RURAL_NAME = re.compile(RURAL_NAME)


def area_of(kind: str | None, community_name: str | None) -> str:
    """URBAN or RURAL for a community (see URBAN_KINDS); queries.staffing applies the same
    constants in SQL (``area_params``)."""
    if kind in URBAN_KINDS:
        return URBAN
    if kind in RURAL_KINDS:
        return RURAL
    return RURAL if community_name and _RURAL_NAME.search(community_name.strip()) else URBAN


def area_params() -> dict[str, Any]:
    """The classification's constants as bound parameters for queries.staffing."""
    return {
        "urban_kinds": list(URBAN_KINDS),
        "rural_kinds": list(RURAL_KINDS),
        "rural_name": RURAL_NAME,
    }


def role_name(role: str) -> str:
    """The Chinese name of a staff role (the code when unknown)."""
    return ROLE_NAMES_ZH.get(role, role)


@dataclass(frozen=True)
class GridFacts:
    """One current grid as the rules see it. ``staff``: role → number of current assignments
    (every role of GRID_ROLES present, ended ones left out); ``contacts``: current chiefs and
    workers with a phone; ``micro_grids`` / ``micro_without_chief``: its current micro-grids and
    those with no current micro-grid chief."""

    grid_type: str
    area: str
    staff: Mapping[str, int]
    contacts: int
    micro_grids: int = 0
    micro_without_chief: int = 0


# A grid rule's test: what is missing (a short zh phrase), or None when the grid complies.
GridTest = Callable[[GridFacts], str | None]


# The counts the wall's query groups by are capped here (queries.staffing.staffing_counts), so a
# rule may ask for at most this many people.
COUNT_CAP = 9


def requires(roles: Iterable[str], at_least: int = 1) -> GridTest:
    """A test: at least ``at_least`` (1..COUNT_CAP) current assignments in ``roles`` (summed)."""
    wanted = tuple(roles)
    unknown = [r for r in wanted if r not in GRID_ROLES]
    if unknown or not wanted or not 1 <= at_least <= COUNT_CAP:
        raise ValueError(f"requires(): roles {wanted} (unknown: {unknown}), at_least {at_least}")
    names = "或".join(role_name(r) for r in wanted)

    def test(g: GridFacts) -> str | None:
        have = sum(g.staff.get(r, 0) for r in wanted)
        if have >= at_least:
            return None
        return f"无{names}" if have == 0 else f"{names}仅 {have} 人（应至少 {at_least} 人）"

    return test


def _public_contact(g: GridFacts) -> str | None:
    return None if g.contacts > 0 else "无公开联系电话（网格长、网格员均无电话）"


def _micro_chiefs(g: GridFacts) -> str | None:
    if g.micro_without_chief <= 0:
        return None
    return f"{g.micro_without_chief}/{g.micro_grids} 个微网格无微网格长"


@dataclass(frozen=True)
class Rule:
    """A staffing rule: id (stable, used in CSV/JSON and options), name, severity, the articles
    (seeds: JX 嘉兴, ZJ 镇江, PY 濮阳, YZ 永州, AR the autonomous region's city), and the
    subject it is about: 'grid', 'person' or 'deployment'."""

    id: str
    name_zh: str
    severity: str
    clauses: str
    subject: str = "grid"

    @property
    def label(self) -> str:
        """'未配备网格长（JX 7；ZJ 16、18；PY 10；AR 13）'."""
        return f"{self.name_zh}（{self.clauses}）"


@dataclass(frozen=True)
class GridRule(Rule):
    """A rule tested on each current grid of ``grid_types`` in ``areas``."""

    test: GridTest = field(default=lambda g: None, compare=False, repr=False)
    grid_types: frozenset[str] = frozenset({"comprehensive", "exclusive"})
    areas: frozenset[str] = frozenset({URBAN, RURAL})

    def applies(self, g: GridFacts) -> bool:
        return g.grid_type in self.grid_types and g.area in self.areas

    def missing(self, g: GridFacts) -> str | None:
        """What the grid lacks under this rule, or None (also when the rule does not apply)."""
        return self.test(g) if self.applies(g) else None


GRID_RULES: tuple[GridRule, ...] = (
    GridRule(
        "chief_missing",
        "未配备网格长",
        VIOLATION,
        "JX 7；ZJ 16、18；PY 10；AR 13",
        test=requires(("grid_chief",)),
    ),
    GridRule(
        "urban_fulltime_missing",
        "城市综合网格无专职网格员",
        VIOLATION,
        "ZJ 16；PY 10",
        test=requires(("fulltime_worker",)),
        grid_types=frozenset({"comprehensive"}),
        areas=frozenset({URBAN}),
    ),
    GridRule(
        "worker_missing",
        "网格无网格员",
        VIOLATION,
        "ZJ 16；PY 10；YZ 7；AR 13",
        test=requires(WORKER_ROLES),
    ),
    GridRule(
        "public_contact_missing",
        "网格公示联系方式缺失",
        VIOLATION,
        "JX 15；ZJ 23；PY 13；YZ 7；AR 20",
        test=_public_contact,
    ),
    GridRule(
        "micro_chief_missing",
        "微网格未配备微网格长",
        NOTICE,
        "JX 6、7",
        test=_micro_chiefs,
    ),
)
HOTLINE_RULE = Rule(
    "hotline_missing",
    "未设置监督举报电话",
    VIOLATION,
    "JX 15；PY 13；YZ 7；AR 20",
    subject="deployment",
)
PERSON_RULES: tuple[Rule, ...] = (
    Rule(
        "worker_without_grid",
        "网格人员未分配网格",
        NOTICE,
        "JX 7；ZJ 16",
        subject="person",
    ),
    Rule(
        "ended_still_assigned",
        "已离任或停用仍挂网格",
        NOTICE,
        "JX 15；ZJ 23；YZ 7；AR 20",
        subject="person",
    ),
)
# Every rule, violations first (the order of the report's summary).
RULES: tuple[Rule, ...] = tuple(
    sorted((*GRID_RULES, HOTLINE_RULE, *PERSON_RULES), key=lambda r: r.severity != VIOLATION)
)
RULES_BY_ID: Mapping[str, Rule] = MappingProxyType({r.id: r for r in RULES})


def grid_gaps(g: GridFacts, rules: Iterable[GridRule] = GRID_RULES) -> list[tuple[GridRule, str]]:
    """(rule, what is missing) for every rule the grid breaks, in rule order."""
    out = []
    for rule in rules:
        missing = rule.missing(g)
        if missing is not None:
            out.append((rule, missing))
    return out


def count_grid_gaps(
    groups: Iterable[tuple[GridFacts, int]], rules: Iterable[GridRule] = GRID_RULES
) -> Counter[str]:
    """Findings per rule id over groups of identical grids ((facts, how many grids))."""
    rules = tuple(rules)
    out: Counter[str] = Counter()
    for facts, n in groups:
        for rule, _ in grid_gaps(facts, rules):
            out[rule.id] += n
    return out


def hotline_gap(hotline: str | None) -> bool:
    """True when the supervision hotline (setting ``hotline``) is empty."""
    return not (hotline or "").strip()
