"""Checking the rows of a staff file: each row read and checked on its own, then the rows of
one person put together and checked against each other and against the staff already known.

A person is identified by the staff number, else by the mobile number (a row without a number
takes the number of another row of the file with the same mobile). A person is loaded whole or
not at all: when one of their rows is rejected, so are the others (a typo in one grid code
must not close their other assignments).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo

from domain.vocabulary import OFFICE_ROLES

from . import values
from .report import Rejects

# The staff number given to a person identified by mobile only: the prefix and the number.
GENERATED_NO = "TEL"


@dataclass(frozen=True)
class Known:
    """What the database knows that the rows are checked against (current, in scope)."""

    grids: dict[str, str]  # grid code → community code
    micro_grids: dict[str, str]  # micro-grid code → grid code
    regions: set[str]  # region codes in the jurisdiction
    departments: dict[str, tuple[int, str]]  # code → (id, region code)
    staff_by_no: dict[str, int]  # staff_no → id
    staff_by_phone: dict[str, list[str]]  # phone → staff_nos


@dataclass(frozen=True)
class Want:
    """One assignment a row asks for: a grid (and micro-grid) in a role, from/until."""

    grid_code: str
    micro_grid_code: str | None
    role: str
    valid_from: datetime
    valid_to: datetime | None  # an end date already reached: the assignment is history
    ends_on: date | None  # an end date still to come
    row: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.grid_code, self.micro_grid_code or "", self.role)


@dataclass
class Person:
    """One person of the file with everything the staff row needs and their assignments."""

    staff_no: str
    existing_id: int | None
    name: str
    phone: str
    role: str
    department_id: int | None
    region_code: str
    start_date: date
    end_date: date | None
    active: bool
    rows: list[int]
    wants: list[Want] = field(default_factory=list)


@dataclass
class _Row:
    index: int
    staff_no: str
    name: str
    phone: str | None
    role: str | None
    places: list[tuple[str, str | None]]  # (grid, micro-grid) per code
    department: str
    region: str
    start: date | None
    end: date | None


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The instant a local day begins."""
    return datetime.combine(day, time(0), tzinfo=tz)


def _read_row(i: int, rec: dict[str, str], known: Known, rejects: Rejects) -> _Row:
    """One row read and checked on its own; the first problem goes to ``rejects``."""
    staff_no, name = rec["staff_no"], rec["name"]
    phone = values.mobile(rec["mobile"])
    role = values.role(rec["role"])
    row = _Row(i, staff_no, name, phone, role, [], rec["department"], rec["region"], None, None)
    if staff_no and not values.STAFF_NO.fullmatch(staff_no):
        rejects.add(i, "bad staff number", staff_no[:80])
    if not name:
        rejects.add(i, "missing name")
    if phone is None:
        rejects.add(i, "bad mobile", rec["mobile"][:40] or "（空 empty）")
    if role is None:
        rejects.add(i, "unknown role", rec["role"][:40] or "（空 empty）")
    for code in values.code_list(rec["grids"]):
        if code in known.grids:
            row.places.append((code, None))
        elif code in known.micro_grids:
            row.places.append((known.micro_grids[code], code))
        else:
            rejects.add(i, "unknown grid code", code[:40])
    office = role in OFFICE_ROLES
    if role is not None and not office and not row.places and i not in rejects:
        rejects.add(i, "grid worker without any grid", rec["role"])
    if office and row.places:
        rejects.add(i, "office staff take no grid", rec["grids"][:80])
    if row.department and row.department not in known.departments:
        rejects.add(i, "unknown department", row.department[:40])
    if role == "department_officer" and not row.department:
        rejects.add(i, "department officer without a department")
    if row.region and row.region not in known.regions:
        rejects.add(i, "unknown region", row.region[:40])
    if office and not row.region and not row.department:
        rejects.add(i, "office staff without a region")
    for column in ("start", "end"):
        if rec[column] and (parsed := values.day(rec[column])) is None:
            rejects.add(i, "bad date", f"{column}: {rec[column][:40]}")
        elif rec[column]:
            setattr(row, column, parsed)
    return row


def _identities(rows: list[_Row], rejects: Rejects) -> dict[str, list[_Row]]:
    """Rows grouped by person: by staff number, else by mobile (borrowing the number of a row
    with the same mobile). Keys are 'no:<staff_no>' or 'tel:<mobile>'."""
    no_of_phone: dict[str, set[str]] = {}
    for r in rows:
        if r.staff_no and r.phone:
            no_of_phone.setdefault(r.phone, set()).add(r.staff_no)
    groups: dict[str, list[_Row]] = {}
    for r in rows:
        if r.staff_no:
            key = f"no:{r.staff_no}"
        elif r.phone is None:
            continue  # rejected already (bad mobile) and identifies nobody
        elif len(numbers := no_of_phone.get(r.phone, set())) > 1:
            rejects.add(r.index, "mobile matches several staff", ", ".join(sorted(numbers)))
            continue
        else:
            key = f"no:{next(iter(numbers))}" if numbers else f"tel:{r.phone}"
        groups.setdefault(key, []).append(r)
    return groups


def _conflict(rows: list[_Row], rejects: Rejects, numbers: dict[int, int]) -> bool:
    """Reject every row of a person whose rows disagree, or when one of them is rejected."""
    bad = [r for r in rows if r.index in rejects]
    if bad:
        for r in rows:
            rejects.add(
                r.index,
                "another row of this person was rejected",
                f"row {numbers[bad[0].index]}",
            )
        return True
    for label, attr in (("姓名 name", "name"), ("手机 mobile", "phone")):
        seen = list(dict.fromkeys(getattr(r, attr) for r in rows))
        if len(seen) > 1:
            for r in rows:
                rejects.add(
                    r.index,
                    "duplicate person with conflicting values",
                    f"{label}: " + " ≠ ".join(str(s) for s in seen[:3]),
                )
            return True
    for label, attr in (("部门 department", "department"), ("辖区 region", "region")):
        seen = list(dict.fromkeys(getattr(r, attr) for r in rows if getattr(r, attr)))
        if len(seen) > 1:
            for r in rows:
                rejects.add(
                    r.index,
                    "duplicate person with conflicting values",
                    f"{label}: " + " ≠ ".join(seen[:3]),
                )
            return True
    return False


def _existing(key: str, phone: str, known: Known) -> tuple[str, int | None] | str:
    """(staff_no, existing id or None) of a person, or the reason it is ambiguous."""
    kind, value = key.split(":", 1)
    if kind == "no":
        if value in known.staff_by_no:
            return value, known.staff_by_no[value]
        # Loaded before by mobile only: the number given now replaces the made-up one.
        made_up = [n for n in known.staff_by_phone.get(phone, []) if n.startswith(GENERATED_NO)]
        if len(made_up) == 1:
            return value, known.staff_by_no[made_up[0]]
        return value, None
    numbers = known.staff_by_phone.get(value, [])
    if len(numbers) > 1:
        return ", ".join(numbers[:5])
    if numbers:
        return numbers[0], known.staff_by_no[numbers[0]]
    made = GENERATED_NO + value
    return made, known.staff_by_no.get(made)


def _wants(p: Person, rows: list[_Row], now: datetime, tz: tzinfo, rejects: Rejects) -> bool:
    """Fill ``p.wants`` from its rows; False (rows rejected) when dates are wrong."""
    today = now.astimezone(tz).date()
    seen: dict[tuple[str, str, str], Want] = {}
    for r in rows:
        start = r.start or today
        if r.end is not None and r.end <= start:
            detail = f"{start} → {r.end}" + ("" if r.start else "（开始日期默认为导入当日）")
            rejects.add(r.index, "end before start", detail)
            continue
        # No start date: the assignment starts now (the import), so a later file that moves
        # the person the same day closes it at that instant, not at midnight.
        valid_from = local_midnight(r.start, tz) if r.start else now
        valid_to = local_midnight(r.end, tz) if r.end is not None and r.end <= today else None
        ends_on = r.end if r.end is not None and r.end > today else None
        assert r.role is not None
        for grid, micro in r.places:
            want = Want(grid, micro, r.role, valid_from, valid_to, ends_on, r.index)
            if (same := seen.get(want.key)) is None:
                seen[want.key] = want
                p.wants.append(want)
            elif (same.valid_from, same.valid_to, same.ends_on) != (
                want.valid_from,
                want.valid_to,
                want.ends_on,
            ):
                rejects.add(r.index, "conflicting dates for one grid and role", grid)
    return not any(r.index in rejects for r in rows)


def check_staff(
    records: list[dict[str, str]],
    row_numbers: list[int],
    known: Known,
    now: datetime,
    tz: tzinfo,
    rejects: Rejects,
    progress: Callable[[int], object] | None = None,
) -> list[Person]:
    """The people of a staff file (records keyed as in columns.STAFF), each with its wanted
    assignments; every rejected row lands in ``rejects``. ``progress(n)`` counts rows."""
    numbers = dict(enumerate(row_numbers))
    rows = []
    for i, rec in enumerate(records):
        rows.append(_read_row(i, rec, known, rejects))
        if progress is not None and i % 1000 == 999:
            progress(1000)
    if progress is not None:
        progress(len(records) % 1000)
    today = now.astimezone(tz).date()
    people: list[Person] = []
    by_id: dict[int | str, Person] = {}
    for key, group in _identities(rows, rejects).items():
        if _conflict(group, rejects, numbers):
            continue
        first = group[0]
        assert first.phone is not None and first.role is not None
        who = _existing(key, first.phone, known)
        if isinstance(who, str):
            for r in group:
                rejects.add(r.index, "mobile matches several staff", who)
            continue
        staff_no, existing_id = who
        department = next((r.department for r in group if r.department), "")
        dept = known.departments.get(department)
        region = next((r.region for r in group if r.region), "")
        grid = next((r.places[0][0] for r in group if r.places), None)
        ends = [r.end for r in group]
        end_date = max(e for e in ends if e) if all(ends) else None  # type: ignore[type-var]
        person = Person(
            staff_no=staff_no,
            existing_id=existing_id,
            name=first.name,
            phone=first.phone,
            role=first.role,
            department_id=dept[0] if dept else None,
            # Grid staff belong to the community of their (first) grid; office staff to their
            # region, else their department's.
            region_code=known.grids[grid] if grid else (region or (dept[1] if dept else "")),
            start_date=min(r.start or today for r in group),
            end_date=end_date,
            active=end_date is None or end_date > today,
            rows=[r.index for r in group],
        )
        if not _wants(person, group, now, tz, rejects):
            _conflict(group, rejects, numbers)
            continue
        # Two keys of the file that are one person in the database (a number given now to
        # someone loaded by mobile, and the same mobile alone in another row).
        ident = existing_id if existing_id is not None else staff_no
        if (twin := by_id.get(ident)) is not None:
            for i in twin.rows + person.rows:
                rejects.add(i, "duplicate person with conflicting values", staff_no)
            if twin in people:
                people.remove(twin)
            continue
        by_id[ident] = person
        people.append(person)
    return people
