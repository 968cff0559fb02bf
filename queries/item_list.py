"""The item list (categories), stage limits and work-calendar overrides in the database."""

from __future__ import annotations

from datetime import date

import psycopg

Limits = dict[tuple[str, str, str], tuple[float, str]]


def seed_defaults(conn: psycopg.Connection) -> int:
    """Insert the default categories and stage limits (DOMAIN.md §3–4) that are missing.

    Existing rows are left alone (they may have been edited). Returns the rows inserted.
    """
    from gridscope.clock.limits import DEFAULT_CATEGORIES, DEFAULT_STAGE_LIMITS

    inserted = 0
    with conn.cursor() as cur:
        for cat in sorted(DEFAULT_CATEGORIES, key=lambda c: len(c["code"])):
            cur.execute(
                "INSERT INTO category (code, parent_code, name_zh, name_en, sort_order)"
                " VALUES (%(code)s, %(parent_code)s, %(name_zh)s, %(name_en)s, %(sort_order)s)"
                " ON CONFLICT (code) DO NOTHING",
                {"parent_code": None, "sort_order": 0, **cat},
            )
            inserted += cur.rowcount
        for (code, stage, urgency), (amount, unit) in sorted(DEFAULT_STAGE_LIMITS.items()):
            cur.execute(
                "INSERT INTO stage_limit (category_code, stage, urgency, amount, unit)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (code, stage, urgency, amount, unit),
            )
            inserted += cur.rowcount
    return inserted


def load_limits(conn: psycopg.Connection) -> Limits:
    """{(category_code, stage, urgency): (amount, unit)} as stored (editable by admins)."""
    rows = conn.execute(
        "SELECT category_code, stage, urgency, amount, unit FROM stage_limit"
    ).fetchall()
    return {(c, s, u): (float(a), unit) for c, s, u, a, unit in rows}


def load_calendar_overrides(conn: psycopg.Connection) -> dict[date, bool]:
    """{day: is_workday} edits on top of the national holiday calendar."""
    return dict(conn.execute("SELECT day, is_workday FROM calendar_day").fetchall())


def known_categories(conn: psycopg.Connection) -> dict[str, bool]:
    """{code: admitted} for every category."""
    return dict(conn.execute("SELECT code, admitted FROM category").fetchall())
