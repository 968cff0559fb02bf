"""The staffing report's lines and totals (domain.staffing applies the rules; this module
turns query rows into findings and counts them per rule and severity)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.staffing import (
    GRID_ROLES,
    GRID_RULES,
    HOTLINE_RULE,
    NOTICE,
    RULES,
    RULES_BY_ID,
    SEVERITY_NAMES_ZH,
    VIOLATION,
    GridFacts,
    GridRule,
    Rule,
    grid_gaps,
    role_name,
)


@dataclass(frozen=True)
class Summary:
    """Findings per rule and the totals by severity."""

    by_rule: Mapping[str, int]
    rules: tuple[Rule, ...] = RULES

    @property
    def violations(self) -> int:
        return self._total(VIOLATION)

    @property
    def notices(self) -> int:
        return self._total(NOTICE)

    def _total(self, severity: str) -> int:
        return sum(self.by_rule.get(r.id, 0) for r in self.rules if r.severity == severity)

    def rows(self) -> list[dict[str, Any]]:
        """One row per rule, in rule order: {"rule", "name", "severity", "severity_zh",
        "clauses", "count"}."""
        return [
            {
                "rule": r.id,
                "name": r.name_zh,
                "severity": r.severity,
                "severity_zh": SEVERITY_NAMES_ZH[r.severity],
                "clauses": r.clauses,
                "count": int(self.by_rule.get(r.id, 0)),
            }
            for r in self.rules
        ]


def summarize(counts: Mapping[str, int], rules: Iterable[Rule] = RULES) -> Summary:
    """A Summary of per-rule counts (rules missing from ``counts`` count 0)."""
    rules = tuple(rules)
    return Summary({r.id: int(counts.get(r.id, 0)) for r in rules}, rules)


@dataclass(frozen=True)
class Finding:
    """One line of the report: a grid, a person (with the grid, when about an assignment) or
    the deployment, the rule it breaks and what is missing. Staff names are public
    information by law (DOMAIN.md §2, §7)."""

    rule: str
    severity: str
    missing: str
    grid_code: str = ""
    grid_name: str = ""
    community_code: str = ""
    community: str = ""
    town_code: str = ""
    town: str = ""
    staff_no: str = ""
    person: str = ""
    role: str = ""

    @property
    def role_zh(self) -> str:
        return role_name(self.role) if self.role else ""

    def row(self) -> dict[str, Any]:
        """A plain dict (JSON/CSV) with the rule's name, severity and articles added."""
        rule = RULES_BY_ID.get(self.rule)
        return {
            "rule": self.rule,
            "rule_name": rule.name_zh if rule else self.rule,
            "severity": self.severity,
            "severity_zh": SEVERITY_NAMES_ZH.get(self.severity, self.severity),
            "clauses": rule.clauses if rule else "",
            "town_code": self.town_code,
            "town": self.town,
            "community_code": self.community_code,
            "community": self.community,
            "grid_code": self.grid_code,
            "grid_name": self.grid_name,
            "staff_no": self.staff_no,
            "person": self.person,
            "role": role_name(self.role) if self.role else "",
            "missing": self.missing,
        }


def facts_of(row: Mapping[str, Any]) -> GridFacts:
    """GridFacts from a row of queries.staffing (keys grid_type, area, staff, contacts,
    micro_grids, micro_without_chief)."""
    staff = row.get("staff") or {}
    return GridFacts(
        grid_type=row["grid_type"],
        area=row["area"],
        staff={r: int(staff.get(r, 0)) for r in GRID_ROLES},
        contacts=int(row.get("contacts") or 0),
        micro_grids=int(row.get("micro_grids") or 0),
        micro_without_chief=int(row.get("micro_without_chief") or 0),
    )


def grid_findings(
    rows: Iterable[Mapping[str, Any]], rules: Iterable[GridRule] = GRID_RULES
) -> list[Finding]:
    """The findings of grid rows (queries.staffing.grid_rows), grid by grid in row order."""
    rules = tuple(rules)
    out = []
    for row in rows:
        for rule, missing in grid_gaps(facts_of(row), rules):
            out.append(
                Finding(
                    rule.id,
                    rule.severity,
                    missing,
                    grid_code=row["code"],
                    grid_name=row.get("name") or "",
                    community_code=row.get("community_code") or "",
                    community=row.get("community") or "",
                    town_code=row.get("town_code") or "",
                    town=row.get("town") or "",
                )
            )
    return out


def person_finding(row: Mapping[str, Any]) -> Finding:
    """A Finding from a person row of queries.staffing (keys rule, missing, staff_no, name,
    role, grid_code, grid_name, community_code, community, town_code, town)."""
    rule = RULES_BY_ID[row["rule"]]
    return Finding(
        rule.id,
        rule.severity,
        row["missing"],
        grid_code=row.get("grid_code") or "",
        grid_name=row.get("grid_name") or "",
        community_code=row.get("community_code") or "",
        community=row.get("community") or "",
        town_code=row.get("town_code") or "",
        town=row.get("town") or "",
        staff_no=row.get("staff_no") or "",
        person=row.get("name") or "",
        role=row.get("role") or "",
    )


def hotline_finding() -> Finding:
    """The deployment-wide finding of an empty supervision hotline."""
    return Finding(HOTLINE_RULE.id, HOTLINE_RULE.severity, "监督举报电话（设置 hotline）为空")


@dataclass(frozen=True)
class Report:
    """The staffing report of a jurisdiction: the findings and their summary."""

    findings: tuple[Finding, ...]
    summary: Summary
    grids: int = 0  # current grids in the jurisdiction

    @property
    def grids_with_violations(self) -> int:
        return len({f.grid_code for f in self.findings if f.severity == VIOLATION and f.grid_code})


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Violations first, then by town, grid, the rule's place in RULES and the person."""
    rank = {r.id: i for i, r in enumerate(RULES)}
    return sorted(
        findings,
        key=lambda f: (
            f.severity != VIOLATION,
            f.town_code,
            f.grid_code,
            rank.get(f.rule, len(rank)),
            f.staff_no,
        ),
    )


def report_of(findings: Iterable[Finding], grids: int = 0) -> Report:
    """A Report of ``findings`` (ordered) whose summary counts them per rule."""
    findings = tuple(ordered(findings))
    return Report(findings, summarize(Counter(f.rule for f in findings)), grids)


# The findings' columns in CSV (admin download and `gridscope check staffing --format csv`).
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("severity_zh", "级别"),
    ("rule_name", "规则"),
    ("rule", "规则编号"),
    ("clauses", "依据条款"),
    ("town_code", "镇街编码"),
    ("town", "镇（街道）"),
    ("community_code", "社区编码"),
    ("community", "社区（村）"),
    ("grid_code", "网格编码"),
    ("grid_name", "网格名称"),
    ("staff_no", "人员编号"),
    ("person", "姓名"),
    ("role", "角色"),
    ("missing", "缺失情况"),
)
# A cell starting with one of these is a formula to Excel (CSV injection): names come from
# imported files, so such cells get a leading apostrophe, which Excel shows as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def findings_csv(findings: Iterable[Finding], bom: bool = False) -> str:
    """The findings as CSV text (header, CRLF lines); ``bom`` for Excel downloads."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([h for _, h in CSV_COLUMNS])
    for f in findings:
        row = f.row()
        writer.writerow([_cell(str(row[k])) for k, _ in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value
