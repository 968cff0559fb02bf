"""The item list (categories), stage limits and work-calendar overrides in the database."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

from domain.clock.limits import StageLimit
from domain.clock.work_calendar import WorkCalendar
from domain.workflow.clocks import Clocks

Limits = dict[tuple[str, str, str], StageLimit]


def seed_defaults(conn: psycopg.Connection) -> int:
    """Insert the default categories and stage limits (DOMAIN.md §3–4) that are missing.

    Existing rows are left alone (they may have been edited). Returns the rows inserted.
    """
    from domain.categories import category_rows
    from domain.clock.limits import stage_limit_rows

    inserted = 0
    with conn.cursor() as cur:
        # Majors before minors: a minor category references its major.
        for cat in sorted(category_rows(), key=lambda c: len(str(c["code"]))):
            cur.execute(
                "INSERT INTO category (code, parent_code, name_zh, name_en, sort_order)"
                " VALUES (%(code)s, %(parent_code)s, %(name_zh)s, %(name_en)s, %(sort_order)s)"
                " ON CONFLICT (code) DO NOTHING",
                cat,
            )
            inserted += cur.rowcount
        for row in stage_limit_rows():
            cur.execute(
                "INSERT INTO stage_limit (category_code, stage, urgency, amount, unit)"
                " VALUES (%(category_code)s, %(stage)s, %(urgency)s, %(amount)s, %(unit)s)"
                " ON CONFLICT DO NOTHING",
                row,
            )
            inserted += cur.rowcount
    return inserted


def load_limits(conn: psycopg.Connection) -> Limits:
    """{(category_code, stage, urgency): (amount, unit)} as stored (editable by admins)."""
    from domain.clock.limits import limits_from_rows

    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT category_code, stage, urgency, amount, unit FROM stage_limit")
        return limits_from_rows(cur.fetchall())


def load_calendar_overrides(conn: psycopg.Connection) -> dict[date, bool]:
    """{day: is_workday} edits on top of the national holiday calendar."""
    return dict(conn.execute("SELECT day, is_workday FROM calendar_day").fetchall())


def known_categories(conn: psycopg.Connection) -> dict[str, bool]:
    """{code: admitted} for every category."""
    return dict(conn.execute("SELECT code, admitted FROM category").fetchall())


def load_clocks(conn: psycopg.Connection, settings: Any) -> Clocks:
    """The stage limits and the work calendar in force, read now (pages that show one ticket's
    clocks; the API keeps its own copy for a minute, gridscope.api.state)."""
    calendar = WorkCalendar(tz=settings.timezone, overrides=load_calendar_overrides(conn))
    return Clocks(calendar, load_limits(conn), settings.tz)


def refresh_in_force(conn: psycopg.Connection, today: date) -> int:
    """Set category.admitted to what the decisions effective on ``today`` say; returns the
    entries whose flag changed. Placeholder until issue #13's item list lands."""
    return 0
