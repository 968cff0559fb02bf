"""Edits of the work calendar (holidays, make-up working days 调休), pure: reading what an
administrator typed or a CSV holds, and planning the rows of table ``calendar_day`` it changes.

An override is stored only where it differs from the *base* calendar (the ``chinese_calendar``
package for the years it knows, else Monday–Friday): a "holiday" on a day that is off anyway (a
weekend) or a "workday" on a working day changes nothing and is reported as a warning, not
stored. Inside a range (``2027-02-05..2027-02-13``) such days are skipped quietly and counted:
the State Council's notices give holiday spans weekends included.

Messages come in two languages (``Message``): English for the command line, zh-CN for the
admin page.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

# Table calendar_year's CHECK; the same bound for days, so no edit can reach a year that can
# never be confirmed.
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_RANGE_DAYS = 366
MAX_NOTE = 100
HOLIDAY_WORDS = frozenset({"节假日", "假日", "休", "放假", "holiday", "off", "h"})
WORKDAY_WORDS = frozenset({"调休", "班", "上班", "补班", "workday", "work", "w"})
TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y", "是"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n", "否"})
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")

Overrides = Mapping[dt.date, tuple[bool, str | None]]  # day -> (is_workday, note)


@dataclass(frozen=True)
class Message:
    """One message in English (command line) and zh-CN (admin page)."""

    en: str
    zh: str

    def __str__(self) -> str:
        return self.en


class CalendarInputError(ValueError):
    """Input that cannot be a calendar edit (bad date, unknown type, bad range, CSV rows)."""

    def __init__(self, en: str, zh: str, lines: Sequence[Message] = ()):
        super().__init__(en)
        self.message = Message(en, zh)
        self.lines = tuple(lines)  # per-row details of a refused file


@dataclass(frozen=True)
class DayEdit:
    """One requested day: ``is_workday`` None removes the day's override (unset)."""

    day: dt.date
    is_workday: bool | None
    note: str | None = None
    in_range: bool = False  # part of a multi-day range: a no-op is skipped quietly


@dataclass(frozen=True)
class Plan:
    """What an edit does to ``calendar_day``: rows to write, days to delete, the days whose
    working status actually changes, and what the administrator should hear."""

    upserts: dict[dt.date, tuple[bool, str | None]]
    deletes: tuple[dt.date, ...]
    changed_days: tuple[dt.date, ...]
    warnings: tuple[Message, ...]
    skipped: int  # days of ranges that were already of the requested kind

    @property
    def writes(self) -> int:
        return len(self.upserts) + len(self.deletes)


# ---- reading input ---------------------------------------------------------------------------


def parse_day(text: str) -> dt.date:
    """A date written YYYY-MM-DD (also with '/' or '.'), between 2000 and 2100."""
    raw = text.strip() if isinstance(text, str) else ""
    m = _DATE.match(raw)
    try:
        if m is None:
            raise ValueError
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise CalendarInputError(
            f"bad date {raw[:40]!r}: expected YYYY-MM-DD, e.g. 2027-02-05",
            f"日期 {raw[:40]!r} 不正确：应为 YYYY-MM-DD，如 2027-02-05",
        ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise CalendarInputError(
            f"date {day} is outside {MIN_YEAR}–{MAX_YEAR}",
            f"日期 {day} 超出 {MIN_YEAR}–{MAX_YEAR} 年",
        )
    return day


def parse_span(text: str) -> list[dt.date]:
    """The days of ``DATE`` or ``DATE..DATE`` (inclusive, at most 366 days)."""
    raw = text.strip() if isinstance(text, str) else ""
    if ".." not in raw:
        return [parse_day(raw)]
    first_text, _, last_text = raw.partition("..")
    first, last = parse_day(first_text), parse_day(last_text)
    if last < first:
        raise CalendarInputError(
            f"range {raw[:50]!r} ends before it starts",
            f"日期范围 {raw[:50]!r} 的结束早于开始",
        )
    n = (last - first).days + 1
    if n > MAX_RANGE_DAYS:
        raise CalendarInputError(
            f"range {raw[:50]!r} spans {n} days; at most {MAX_RANGE_DAYS}",
            f"日期范围 {raw[:50]!r} 共 {n} 天，最多 {MAX_RANGE_DAYS} 天",
        )
    return [first + dt.timedelta(days=i) for i in range(n)]


def parse_kind(text: str) -> bool:
    """is_workday from a type word (节假日/休/holiday → False, 调休/班/workday → True) or a
    boolean (true/false/1/0/yes/no/是/否)."""
    word = text.strip().lower() if isinstance(text, str) else ""
    if word in HOLIDAY_WORDS or word in FALSE_WORDS:
        return False
    if word in WORKDAY_WORDS or word in TRUE_WORDS:
        return True
    raise CalendarInputError(
        f"unknown type {word[:30]!r}: expected 节假日/休/holiday or 调休/班/workday"
        " (or is_workday true/false)",
        f"类型 {word[:30]!r} 无法识别：应为 节假日/休/holiday 或 调休/班/workday"
        "（或 is_workday 的 true/false）",
    )


def clean_note(text: object) -> str | None:
    """A note trimmed to one line of at most 100 characters; None when empty."""
    if not isinstance(text, str):
        return None
    note = " ".join(text.split())[:MAX_NOTE]
    return note or None


def span_edits(spans: Iterable[str], is_workday: bool | None, note: object = None) -> list[DayEdit]:
    """The day edits of ``DATE[..DATE]`` arguments (a set, or an unset when ``is_workday`` is
    None); a day given twice is kept once."""
    out: dict[dt.date, DayEdit] = {}
    text = clean_note(note)
    for span in spans:
        days = parse_span(span)
        for day in days:
            out[day] = DayEdit(day, is_workday, text, in_range=len(days) > 1)
    if not out:
        raise CalendarInputError("no date given", "请填写日期或日期范围")
    return [out[d] for d in sorted(out)]


_HEADINGS = {
    "date": "date",
    "日期": "date",
    "day": "date",
    "is_workday": "kind",
    "type": "kind",
    "kind": "kind",
    "类型": "kind",
    "note": "note",
    "备注": "note",
    "说明": "note",
    "名称": "note",
}


def decode(data: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), else GB18030 (Excel on Chinese Windows)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise CalendarInputError(
                "the file is neither UTF-8 nor GB18030 text", "文件不是 UTF-8 或 GB18030 文本"
            ) from None


def read_csv(text: str) -> list[DayEdit]:
    """The day edits of a calendar CSV: columns date,is_workday|type,note (a heading row
    optional; lines starting with '#' are comments; dates may be ranges ``A..B``).

    Every bad row is collected; any bad row refuses the whole file (``lines`` lists them). A
    day given twice with different types is an error; with the same type it is kept once."""
    rows = csv.reader(io.StringIO(text))
    columns = {"date": 0, "kind": 1, "note": 2}
    errors: list[Message] = []
    edits: dict[dt.date, tuple[int, DayEdit]] = {}
    header_seen = False
    for cells in rows:
        line = rows.line_num
        cells = [c.strip() for c in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if not header_seen:
            header_seen = True
            names = [_HEADINGS.get(c.lower()) for c in cells]
            if "date" in names:
                if "kind" not in names:
                    errors.append(
                        Message(
                            f"line {line}: the heading has no is_workday or type column",
                            f"第 {line} 行：表头缺少 is_workday 或 type（类型）列",
                        )
                    )
                    break
                columns = {n: i for i, n in reversed(list(enumerate(names))) if n}
                continue
        try:
            day_text = cells[columns["date"]] if len(cells) > columns["date"] else ""
            kind_text = cells[columns["kind"]] if len(cells) > columns["kind"] else ""
            note = (
                cells[columns["note"]] if "note" in columns and len(cells) > columns["note"] else ""
            )
            days = parse_span(day_text)
            is_workday = parse_kind(kind_text)
        except CalendarInputError as exc:
            errors.append(
                Message(f"line {line}: {exc.message.en}", f"第 {line} 行：{exc.message.zh}")
            )
            continue
        for day in days:
            edit = DayEdit(day, is_workday, clean_note(note), in_range=len(days) > 1)
            seen = edits.get(day)
            if seen is not None and seen[1].is_workday != is_workday:
                errors.append(
                    Message(
                        f"line {line}: {day} is also on line {seen[0]} with the other type",
                        f"第 {line} 行：{day} 与第 {seen[0]} 行的类型相反",
                    )
                )
                continue
            if seen is None or (edit.note and not seen[1].note):
                edits[day] = (line, edit)
    if errors:
        raise CalendarInputError(
            f"{len(errors)} bad row(s): nothing imported",
            f"{len(errors)} 行有误：未导入任何内容",
            errors,
        )
    if not edits:
        raise CalendarInputError("the file holds no calendar rows", "文件中没有日历行")
    return [edits[d][1] for d in sorted(edits)]


# ---- planning --------------------------------------------------------------------------------


def weekday_en(day: dt.date) -> str:
    return WEEKDAYS_EN[day.weekday()]


def plan(edits: Sequence[DayEdit], overrides: Overrides, base: Callable[[dt.date], bool]) -> Plan:
    """The rows ``edits`` write over the stored ``overrides``; ``base(day)`` is the working
    status without overrides (package or Monday–Friday). Idempotent: planning the same edits
    again over the result writes nothing."""
    upserts: dict[dt.date, tuple[bool, str | None]] = {}
    deletes: list[dt.date] = []
    warnings: list[Message] = []
    skipped = 0
    last = {e.day: e for e in edits}  # a day given twice: the later edit wins
    for e in (last[d] for d in sorted(last)):
        stored = overrides.get(e.day)
        if e.is_workday is None:
            if stored is None:
                warnings.append(
                    Message(
                        f"{e.day}: no override stored, nothing to unset",
                        f"{e.day}：没有设置，无需取消",
                    )
                )
            else:
                deletes.append(e.day)
            continue
        if e.is_workday == base(e.day):
            if stored is not None:
                deletes.append(e.day)  # back to the base calendar, which already says so
            elif e.in_range:
                skipped += 1
            else:
                what_en = "a working day" if e.is_workday else "a day off"
                what_zh = "工作日" if e.is_workday else "休息日"
                warnings.append(
                    Message(
                        f"{e.day} ({weekday_en(e.day)}) is {what_en} already: nothing stored",
                        f"{e.day}（{WEEKDAYS_ZH[e.day.weekday()]}）本来就是{what_zh}，未保存",
                    )
                )
            continue
        if stored != (e.is_workday, e.note):
            upserts[e.day] = (e.is_workday, e.note)
    changed = sorted(
        d
        for d in {*upserts, *deletes}
        if _effective(d, overrides, base) != _after(d, upserts, base)
    )
    return Plan(upserts, tuple(sorted(deletes)), tuple(changed), tuple(warnings), skipped)


def _effective(day: dt.date, overrides: Overrides, base: Callable[[dt.date], bool]) -> bool:
    stored = overrides.get(day)
    return stored[0] if stored is not None else base(day)


def _after(
    day: dt.date,
    upserts: Mapping[dt.date, tuple[bool, str | None]],
    base: Callable[[dt.date], bool],
) -> bool:
    got = upserts.get(day)
    return got[0] if got is not None else base(day)


def new_overrides(overrides: Overrides, p: Plan) -> dict[dt.date, bool]:
    """{day: is_workday} after ``p`` is applied to ``overrides``."""
    out = {d: w for d, (w, _) in overrides.items() if d not in p.deletes}
    out.update({d: w for d, (w, _) in p.upserts.items()})
    return out


def years_of(days: Iterable[dt.date]) -> list[int]:
    """The distinct years of ``days``, ascending."""
    return sorted({d.year for d in days})


def describe_days(days: Sequence[dt.date], limit: int = 6) -> str:
    """'2027-02-05..2027-02-08, 2027-02-14' — consecutive days joined, at most ``limit`` runs."""
    runs: list[list[dt.date]] = []
    for d in sorted(days):
        if runs and (d - runs[-1][-1]).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = [f"{r[0]}..{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs[:limit]]
    if len(runs) > limit:
        parts.append(f"… (+{len(runs) - limit})")
    return ", ".join(parts)
