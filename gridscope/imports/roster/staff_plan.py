"""What a staff file changes, worked out before anything is written: which staff rows are new
or changed, which assignments open, close or get an end date, and which rows of the file
change nothing (a re-run of the same file changes nothing at all).

Assignments keep their history (migration 0009): an assignment is closed (``valid_to``), never
deleted, except one that had not begun yet and is no longer wanted. For a person of the file:

- a wanted assignment already open stays; its end date is set, changed or cleared as the file
  says (a future end date is ``ends_on``, the sweep closes it on the day; a past one closes it);
- a wanted assignment not open is opened from its start date, unless the history already
  covers that start (a closed assignment of the same grid and role ending after it): then it
  reopens from now, so that loading an older file again does not rewrite what happened since;
- an open assignment the file no longer lists is closed when the person's new assignment
  begins (if that is after it began and not in the future), else now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from .report import Rejects
from .staff_rows import Person, Want

AssignmentKey = tuple[str, str, str]  # grid, micro-grid ('' for none), role


@dataclass(frozen=True)
class OpenAssignment:
    id: int
    key: AssignmentKey
    valid_from: datetime
    ends_on: date | None


@dataclass
class Existing:
    """The database's side for the people of a file (by staff id)."""

    staff: dict[int, tuple]  # id → the staff row as staff_fields(person) would give it
    open: dict[int, list[OpenAssignment]]
    closed_until: dict[tuple[int, AssignmentKey], datetime]  # latest valid_to per key


@dataclass
class Plan:
    """The writes of one staff import and what they amount to."""

    new_people: list[Person] = field(default_factory=list)
    changed_people: list[Person] = field(default_factory=list)
    # (staff_no, grid, micro, role, valid_from, valid_to, ends_on)
    inserts: list[tuple] = field(default_factory=list)
    updates: list[tuple[int, datetime | None, date | None]] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    changed_rows: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def staff_fields(p: Person) -> tuple:
    """The staff row a person asks for, in queries.roster.STAFF_FIELDS order."""
    return (
        p.staff_no,
        p.name,
        p.phone,
        p.role,
        p.department_id,
        p.region_code,
        p.start_date,
        p.end_date,
        p.active,
    )


def _insert(plan: Plan, p: Person, w: Want, valid_from: datetime) -> None:
    plan.inserts.append(
        (p.staff_no, w.grid_code, w.micro_grid_code, w.role, valid_from, w.valid_to, w.ends_on)
    )
    plan.changed_rows.add(w.row)
    plan.count("assignments_history" if w.valid_to is not None else "assignments_opened")


def _person(
    plan: Plan, p: Person, existing: Existing, now: datetime, tz: tzinfo, rejects: Rejects
) -> bool:
    """Add one existing person's assignment changes to ``plan``; False (and the person's rows
    rejected, nothing added) when an end date falls before the assignment it ends began."""
    sid = p.existing_id
    assert sid is not None
    local = Plan()
    opens = {a.key: a for a in existing.open.get(sid, [])}
    for w in p.wants:
        a = opens.get(w.key)
        if a is not None:
            if w.valid_to is not None:
                if w.valid_to <= a.valid_from:
                    began = a.valid_from.astimezone(tz).date()
                    for i in p.rows:
                        rejects.add(i, "end before the current assignment began", f"{began}")
                    return False
                local.updates.append((a.id, w.valid_to, None))
                local.count("assignments_closed_at_end")
                local.changed_rows.add(w.row)
            elif w.ends_on != a.ends_on:
                local.updates.append((a.id, None, w.ends_on))
                local.count("assignments_end_set")
                local.changed_rows.add(w.row)
            else:
                local.count("assignments_unchanged")
            continue
        last = existing.closed_until.get((sid, w.key))
        if last is None or w.valid_from >= last:
            _insert(local, p, w, w.valid_from)
            continue
        # The history covers the start: this is the person coming back (or an older file).
        start = max(now, last)
        if w.valid_to is not None and w.valid_to <= start:
            local.count("assignments_unchanged")
        else:
            _insert(local, p, w, start)
    wanted = {w.key for w in p.wants}
    begun = [row[4] for row in local.inserts if row[4] <= now]
    for key, a in opens.items():
        if key in wanted:
            continue
        if a.valid_from >= now:  # planned, never begun: nothing to keep in the history
            local.deletes.append(a.id)
            local.count("assignments_withdrawn")
            continue
        moved = min(begun) if begun else now
        local.updates.append((a.id, moved if moved > a.valid_from else now, None))
        local.count("assignments_closed_left")
    plan.inserts += local.inserts
    plan.updates += local.updates
    plan.deletes += local.deletes
    plan.changed_rows |= local.changed_rows
    for k, n in local.counts.items():
        plan.count(k, n)
    return True


def plan_staff(
    people: list[Person], existing: Existing, now: datetime, tz: tzinfo, rejects: Rejects
) -> Plan:
    """The writes for ``people`` (from staff_rows.check_staff) against ``existing``; people
    whose end dates contradict their open assignments are rejected (into ``rejects``)."""
    plan = Plan()
    for p in people:
        if p.existing_id is None:
            plan.new_people.append(p)
            plan.count("people_new")
            plan.changed_rows.update(p.rows)
            for w in p.wants:
                _insert(plan, p, w, w.valid_from)
            continue
        if not _person(plan, p, existing, now, tz, rejects):
            continue
        # Service began at the earliest start known: a file listing only the current grid
        # (from its own start) does not move the beginning of a longer service.
        began = existing.staff[p.existing_id][6]
        if began is not None and began < p.start_date:
            p.start_date = began
        if existing.staff.get(p.existing_id) != staff_fields(p):
            plan.changed_people.append(p)
            plan.count("people_updated")
            plan.changed_rows.update(p.rows)
        else:
            plan.count("people_unchanged")
    return plan
