"""Checking the rows of a department file and working out what they change.

Departments are upserted by code. A parent must be a department of the file or of the
database, whichever order the file lists them in; a row whose parent is rejected is rejected
too; parent links that would close a loop (A under B under A), taking the database's tree into
account, are refused. The lead and assist columns, where the file has them, replace the
department's rows in category_department; every code must be in the item list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from queries.scope import Scope

from . import values
from .report import Rejects

Fields = tuple  # (code, name, kind, level, parent_code, region_code, phone): DEPARTMENT_FIELDS


@dataclass(frozen=True)
class DepartmentRow:
    index: int
    fields: Fields
    duties: dict[str, str]  # category code → 'lead'|'assist'

    @property
    def code(self) -> str:
        return self.fields[0]

    @property
    def parent(self) -> str | None:
        return self.fields[4]


@dataclass
class DepartmentPlan:
    """What a department file writes: new and changed departments, their duties."""

    new: list[DepartmentRow] = field(default_factory=list)
    changed: list[tuple[int, DepartmentRow]] = field(default_factory=list)
    rows: list[DepartmentRow] = field(default_factory=list)  # every accepted row
    counts: dict[str, int] = field(default_factory=dict)


def _read_row(
    i: int,
    rec: dict[str, str],
    regions: set[str],
    scope: Scope,
    categories: set[str],
    rejects: Rejects,
) -> DepartmentRow | None:
    code = rec["code"]
    if not code:
        rejects.add(i, "missing code")
    elif not values.DEPARTMENT_CODE.fullmatch(code):
        rejects.add(i, "bad department code", code[:60])
    if not rec["name"]:
        rejects.add(i, "missing department name")
    kind = values.department_kind(rec["kind"])
    if kind is None:
        rejects.add(i, "unknown kind", rec["kind"][:40] or "（空 empty）")
    level = values.level(rec["level"])
    if level is None:
        rejects.add(i, "unknown level", rec["level"][:40] or "（空 empty）")
    region = rec["region"]
    # A department of the jurisdiction or of a level above it (a city bureau serves a county).
    if region not in regions or not (scope.contains(region) or scope.prefix.startswith(region)):
        rejects.add(i, "unknown region", region[:40] or "（空 empty）")
    duties: dict[str, str] = {}
    for duty in ("lead", "assist"):
        for cat in values.code_list(rec[duty]):
            if cat not in categories:
                rejects.add(i, "category code not in the item list", cat[:20])
            elif duties.setdefault(cat, duty) != duty:
                rejects.add(i, "category both lead and assist", cat)
    if i in rejects:
        return None
    parent = rec["parent"] or None
    fields = (code, rec["name"], kind, level, parent, region, rec["phone"] or None)
    return DepartmentRow(i, fields, duties)


def _drop_orphans(
    rows: dict[str, DepartmentRow], known: set[str], refused: set[str], rejects: Rejects
) -> bool:
    """Reject rows whose parent is neither accepted in the file nor in the database."""
    dropped = False
    for code, row in list(rows.items()):
        if row.parent is None or row.parent in rows or row.parent in known:
            continue
        key = "parent rejected" if row.parent in refused else "unknown parent"
        rejects.add(row.index, key, row.parent)
        refused.add(code)
        del rows[code]
        dropped = True
    return dropped


def _drop_cycles(
    rows: dict[str, DepartmentRow], db_parents: dict[str, str | None], rejects: Rejects
) -> bool:
    """Reject the rows on a loop of parent links (the file's links over the database's)."""
    parents = db_parents | {code: row.parent for code, row in rows.items()}
    looped: set[str] = set()
    for code in rows:
        path, seen, node = [code], {code}, parents.get(code)
        while node is not None and node not in seen and node in parents:
            path.append(node)
            seen.add(node)
            node = parents.get(node)
        if node is not None and node in seen:
            loop = path[path.index(node) :] + [node]
            for c in loop:
                if c in rows and c not in looped:
                    looped.add(c)
                    rejects.add(rows[c].index, "cycle in the department tree", " → ".join(loop))
    for c in looped:
        del rows[c]
    return bool(looped)


def check_departments(
    records: list[dict[str, str]],
    known: dict[str, tuple],
    regions: set[str],
    scope: Scope,
    categories: set[str],
    rejects: Rejects,
) -> dict[str, DepartmentRow]:
    """The accepted rows of a department file by code (records keyed as columns.DEPARTMENTS);
    ``known`` is queries.roster.departments. Rejected rows land in ``rejects``."""
    read: list[DepartmentRow] = []
    for i, rec in enumerate(records):
        if (row := _read_row(i, rec, regions, scope, categories, rejects)) is not None:
            read.append(row)
    copies: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        if rec["code"]:
            copies.setdefault(rec["code"], []).append(i)
    rows: dict[str, DepartmentRow] = {}
    refused = {rec["code"] for i, rec in enumerate(records) if i in rejects}
    for row in read:
        if len(copies[row.code]) > 1:
            rejects.add(row.index, "duplicate code in the file", row.code)
            refused.add(row.code)
        else:
            rows[row.code] = row
    db_parents = {code: d[4] for code, d in known.items()}
    while _drop_orphans(rows, set(known), refused, rejects) or _drop_cycles(
        rows, db_parents, rejects
    ):
        pass
    return rows


def plan_departments(
    rows: dict[str, DepartmentRow],
    known: dict[str, tuple],
    duties: dict[int, dict[str, str]],
    with_duties: bool,
) -> DepartmentPlan:
    """New, changed and unchanged departments among ``rows``; duties count as a change only
    when the file has the lead/assist columns (``with_duties``)."""
    plan = DepartmentPlan(rows=list(rows.values()))
    counts = {"departments_new": 0, "departments_updated": 0, "departments_unchanged": 0}
    for row in plan.rows:
        old = known.get(row.code)
        if old is None:
            plan.new.append(row)
            counts["departments_new"] += 1
            continue
        dept_id, *stored, active = old
        same = tuple(stored) == row.fields[1:] and active
        if same and (not with_duties or duties.get(dept_id, {}) == row.duties):
            counts["departments_unchanged"] += 1
        else:
            plan.changed.append((dept_id, row))
            counts["departments_updated"] += 1
    counts["departments_not_in_file"] = sum(
        1 for code, d in known.items() if code not in rows and d[-1]
    )
    plan.counts = counts
    return plan
