"""What a staff or department import read, loaded, left and rejected; the reasons a row is
rejected (Chinese and English, one catalogue); the rejects file; the printed summary."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..table_source import Table
from ..tickets import report as tickets_report

# Every reason a row can be rejected for: English key → Chinese. The rejects file and the
# report say "中文 / english: detail".
REASONS: dict[str, str] = {
    "missing name": "缺少姓名",
    "bad mobile": "手机号码格式不正确",
    "bad staff number": "人员编号格式不正确（不含空格，至多64个字符）",
    "unknown role": "岗位不存在",
    "unknown grid code": "网格编码不存在（不是辖区内现行的网格或微网格）",
    "grid worker without any grid": "网格人员未填网格编码",
    "office staff take no grid": "指挥中心值班员、部门联络员不填网格",
    "unknown department": "部门编码不存在（请先导入部门）",
    "department officer without a department": "部门联络员须填所属部门",
    "unknown region": "辖区编码不存在（不是辖区内现行的区划）",
    "office staff without a region": "不在网格的人员须填所属辖区（或所属部门）",
    "bad date": "日期格式不正确（应为 YYYY-MM-DD）",
    "end before start": "结束日期须晚于开始日期",
    "end before the current assignment began": "结束日期早于该网格现任职的开始日期",
    "duplicate person with conflicting values": "同一人员的多行信息不一致",
    "conflicting dates for one grid and role": "同一人员同一网格同一岗位的多行日期不一致",
    "mobile matches several staff": "手机号码对应多名已有人员，请填人员编号",
    "another row of this person was rejected": "同一人员的其他行有误，整人未导入",
    "missing code": "缺少编码",
    "missing department name": "缺少部门名称",
    "bad department code": "部门编码格式不正确（字母、数字、- _ .，至多40个字符）",
    "duplicate code in the file": "文件中编码重复",
    "unknown kind": "部门类型不存在",
    "unknown level": "层级不存在",
    "unknown parent": "上级部门不存在（文件中和已导入的部门都没有）",
    "parent rejected": "上级部门所在行有误",
    "cycle in the department tree": "上级关系成环",
    "category code not in the item list": "事项编码不在事项清单中",
    "category both lead and assist": "同一事项既为牵头又为协办",
}


@dataclass(frozen=True)
class Reason:
    """Why one row is rejected: a key of ``REASONS`` and what it is about."""

    key: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.key not in REASONS:
            raise KeyError(f"no such reject reason: {self.key!r}")

    @property
    def label(self) -> str:
        return f"{REASONS[self.key]} / {self.key}"

    def text(self) -> str:
        return f"{self.label}: {self.detail}" if self.detail else self.label


class Rejects:
    """The rejected rows of a file (by row index), each with its first reason."""

    def __init__(self) -> None:
        self.by_row: dict[int, Reason] = {}

    def add(self, index: int, key: str, detail: str = "") -> None:
        self.by_row.setdefault(index, Reason(key, detail))

    def __contains__(self, index: object) -> bool:
        return index in self.by_row

    def __len__(self) -> int:
        return len(self.by_row)

    def counts(self) -> dict[str, int]:
        """{reason label: rows}, largest first."""
        out: dict[str, int] = {}
        for reason in self.by_row.values():
            out[reason.label] = out.get(reason.label, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass
class RosterReport(tickets_report.RowRate):
    """The outcome of a staff or department import. ``counts`` holds what the kind counts
    (staff: people_*, assignments_*, missing, retired; departments: departments_*, duties_*)."""

    kind: str
    file: str
    rows: int = 0
    rows_loaded: int = 0  # rows that added or changed something
    rows_unchanged: int = 0  # rows already in the database as they are
    rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seeded_item_list: bool = False
    rejects_path: str | None = None
    dry_run: bool = False
    import_run_id: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def default_rejects_path(path: Path) -> Path:
    """``<file>.rejects.csv`` next to the input (``staff.xlsx`` → ``staff.rejects.csv``)."""
    return tickets_report.default_rejects_path(path, (".gz", ".csv", ".txt", ".xlsx", ".xlsm"))


def write_rejects(path: Path, table: Table, rejects: Rejects) -> None:
    """The rejected rows as CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese): the
    file's own columns, ``source_row`` (the spreadsheet row) and ``reject_reason``."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([*table.header, "source_row", "reject_reason"])
        for i in sorted(rejects.by_row):
            writer.writerow([*table.rows[i], table.row_numbers[i], rejects.by_row[i].text()])


_LINES = {
    "staff": (
        ("people", "people_new", "new"),
        ("people", "people_updated", "updated"),
        ("people", "people_unchanged", "unchanged"),
        ("assignments", "assignments_opened", "opened"),
        ("assignments", "assignments_history", "loaded as history (already ended)"),
        ("assignments", "assignments_closed_at_end", "closed at their end date"),
        ("assignments", "assignments_end_set", "end date set or changed"),
        ("assignments", "assignments_closed_left", "closed (left the grid)"),
        ("assignments", "assignments_withdrawn", "withdrawn before they began"),
        ("assignments", "assignments_unchanged", "unchanged"),
    ),
    "departments": (
        ("departments", "departments_new", "new"),
        ("departments", "departments_updated", "updated"),
        ("departments", "departments_unchanged", "unchanged"),
        ("lead/assist duties", "duties_written", "written"),
        ("lead/assist duties", "duties_removed", "removed"),
    ),
}


def format_report(r: RosterReport) -> list[str]:
    """The summary the command prints: one line of totals, then one per group and reason."""
    prefix = "dry run: " if r.dry_run else ""
    verb = "would load" if r.dry_run else "loaded"
    lines = [
        f"{prefix}{r.file}: {r.rows:,} rows; {verb} {r.rows_loaded:,}, "
        f"{r.rows_unchanged:,} unchanged (already loaded), {r.rejected:,} rejected"
    ]
    groups: dict[str, list[str]] = {}
    for group, key, label in _LINES[r.kind]:
        groups.setdefault(group, []).append(f"{r.counts.get(key, 0):,} {label}")
    lines += [f"  {group}: {', '.join(parts)}" for group, parts in groups.items()]
    if r.kind == "staff":
        missing, retired = r.counts.get("missing", 0), r.counts.get("retired", 0)
        if retired:
            lines.append(f"  retired (not in the file, --retire-missing): {retired:,} people")
        elif missing:
            lines.append(
                f"  not in the file: {missing:,} active people of the jurisdiction, left as they"
                " are (--retire-missing retires them)"
            )
    elif r.counts.get("departments_not_in_file"):
        lines.append(f"  not in the file: {r.counts['departments_not_in_file']:,} departments")
    lines += [f"  rejected: {reason}: {n:,}" for reason, n in r.reasons.items()]
    if r.seeded_item_list:
        lines.append("  the item list was empty: seeded the default categories (DOMAIN.md §3)")
    lines += [f"warning: {w}" for w in r.warnings]
    lines.append(f"  rejects: {r.rejects_path}")
    lines.append(
        f"{prefix}{r.rows_per_s:,.0f} rows/s ({r.seconds.get('total', 0.0):.2f} s: "
        + ", ".join(f"{k} {v:.2f}" for k, v in r.seconds.items() if k != "total")
        + ")"
    )
    return lines
