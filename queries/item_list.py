"""The item list (categories), stage limits and work-calendar overrides in the database; the
item list's decisions as read (the timeline, listings, history) and applied (``apply_in_force``,
the sweep's ``refresh_in_force``). Recording a decision: ``queries.item_decisions``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

import psycopg

from domain.clock.limits import StageLimit
from domain.clock.work_calendar import WorkCalendar
from domain.item_history import ItemTimeline, Version, effective_limits
from domain.item_list import DEFAULT_MATTER, Decision, format_limit, limit_rows
from domain.workflow.clocks import Clocks

from .scope import Scope

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


def rules_version(conn: psycopg.Connection) -> int:
    """The version of the rules the stage clocks run on: it moves whenever a calendar day or a
    stage limit changes (triggers of migration 0009), so a kept copy of the clocks is current
    exactly while this is unchanged."""
    row = conn.execute("SELECT last_value FROM rules_version").fetchone()
    assert row is not None  # a sequence always has one row
    return int(row[0])


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


# ------------------------------------------------------------------ decisions (issue #13)

# Stage of the limits a decision sets (domain.item_list: 一般/紧急时限 are T5 handling limits).
_T5 = "T5"


def _limit(text: object) -> StageLimit | None:
    from domain.item_list import ItemRefused, parse_limit

    try:
        return parse_limit(text)
    except ItemRefused:
        return None  # written by this module only; an edited row reads as "no limit"


def load_decisions(conn: psycopg.Connection) -> list[Decision]:
    """Every recorded decision of the item list (the table is small: tens to hundreds)."""
    rows = conn.execute(
        "SELECT id, code, action, decision_no, effective_on, name_zh, name_en,"
        " coalesce(limits, '{}'::jsonb), note FROM category_decision ORDER BY id"
    ).fetchall()
    return [
        Decision(
            code,
            action,
            number,
            day,
            name_zh=zh,
            name_en=en,
            normal=_limit(attrs.get("normal")),
            urgent=_limit(attrs.get("urgent")),
            matter=attrs.get("matter") or None,
            note=note,
            id=i,
        )
        for i, code, action, number, day, zh, en, attrs, note in rows
    ]


def load_legacy(conn: psycopg.Connection) -> dict[str, Version]:
    """The entries without decisions, as ``category`` and their own T5 limits say."""
    rows = conn.execute(
        "SELECT c.code, c.admitted, c.name_zh, c.name_en, n.amount, n.unit, u.amount, u.unit"
        "  FROM category c"
        "  LEFT JOIN stage_limit n ON n.category_code = c.code AND n.stage = 'T5'"
        "   AND n.urgency = 'normal'"
        "  LEFT JOIN stage_limit u ON u.category_code = c.code AND u.stage = 'T5'"
        "   AND u.urgency = 'urgent'"
        " WHERE NOT EXISTS (SELECT 1 FROM category_decision d WHERE d.code = c.code)"
    ).fetchall()
    return {
        code: Version(
            code,
            admitted,
            zh,
            en,
            StageLimit(float(na), nu) if na is not None else None,
            StageLimit(float(ua), uu) if ua is not None else None,
        )
        for code, admitted, zh, en, na, nu, ua, uu in rows
    }


def load_timeline(conn: psycopg.Connection) -> ItemTimeline:
    """The item list through time (decisions and legacy entries): the version of every entry
    on any day, the ingest refusals, the history."""
    return ItemTimeline(load_decisions(conn), load_legacy(conn))


def admitted_on(conn: psycopg.Connection, codes: Iterable[str], day: date) -> dict[str, bool]:
    """{code: in force on ``day``} for ``codes`` (False for unknown codes)."""
    timeline = load_timeline(conn)
    return {c: timeline.in_force(c, day) for c in codes}


def refusal_on(conn: psycopg.Connection, code: str, day: date) -> str | None:
    """Why a ticket of ``code`` dated ``day`` (local) is refused, None when it is in force."""
    return load_timeline(conn).refusal(code, day)


def listing_rows(timeline: ItemTimeline, day: date) -> list[dict[str, Any]]:
    """The list in force on ``day`` as rows: code, parent_code, name_zh, name_en, matter,
    normal_limit, urgent_limit (``5WD``; a minor without its own shows its major's, flagged
    normal_inherited / urgent_inherited), decision_no and effective_on (None for the legacy
    list)."""
    out = []
    for v in timeline.listing(day):
        normal, urgent, normal_inherited, urgent_inherited = effective_limits(v, timeline, day)
        out.append(
            {
                "code": v.code,
                "parent_code": v.parent_code,
                "name_zh": v.name_zh,
                "name_en": v.name_en,
                "matter": v.matter or DEFAULT_MATTER,
                "normal_limit": format_limit(normal) or None,
                "urgent_limit": format_limit(urgent) or None,
                "normal_inherited": normal_inherited,
                "urgent_inherited": urgent_inherited,
                "decision_no": v.decision_no,
                "effective_on": v.effective_on,
            }
        )
    return out


def history_rows(conn: psycopg.Connection, code: str | None = None) -> list[dict[str, Any]]:
    """The decisions of one code (or all), in effective order, each with the version it made
    (names, limits) and who recorded it when (actor, recorded_at: aware UTC)."""
    timeline = load_timeline(conn)
    who = dict(
        (i, (a, t))
        for i, a, t in conn.execute(
            "SELECT id, actor, recorded_at FROM category_decision"
            " WHERE %(code)s::text IS NULL OR code = %(code)s",
            {"code": code},
        ).fetchall()
    )
    out = []
    for d, v in timeline.history(code):
        actor, at = who.get(d.id, ("", None))
        out.append(
            {
                "id": d.id,
                "code": d.code,
                "action": d.action,
                "decision_no": d.decision_no,
                "effective_on": None if d.baseline else d.effective_on,
                "baseline": d.baseline,
                "name_zh": v.name_zh,
                "name_en": v.name_en,
                "normal_limit": format_limit(v.normal) or None,
                "urgent_limit": format_limit(v.urgent) or None,
                "matter": v.matter,
                "note": d.note,
                "actor": actor,
                "recorded_at": at,
            }
        )
    return out


_APPLY_CATEGORY = """
UPDATE category
   SET admitted = %(on)s,
       name_zh = coalesce(%(zh)s, name_zh),
       name_en = coalesce(%(en)s, name_en),
       admitted_at = CASE WHEN %(on)s AND NOT admitted THEN coalesce(%(since)s, admitted_at)
                          ELSE admitted_at END,
       withdrawn_at = CASE WHEN %(on)s THEN NULL ELSE coalesce(%(since)s, withdrawn_at) END
 WHERE code = %(code)s
   AND (admitted, name_zh, name_en)
       IS DISTINCT FROM (%(on)s, coalesce(%(zh)s, name_zh), coalesce(%(en)s, name_en))
"""
_APPLY_LIMIT = """
INSERT INTO stage_limit (category_code, stage, urgency, amount, unit)
VALUES (%(category_code)s, %(stage)s, %(urgency)s, %(amount)s, %(unit)s)
ON CONFLICT (category_code, stage, urgency) DO UPDATE
   SET amount = EXCLUDED.amount, unit = EXCLUDED.unit
 WHERE (stage_limit.amount, stage_limit.unit) IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.unit)
"""


def apply_in_force(
    conn: psycopg.Connection,
    today: date,
    codes: Iterable[str] | None = None,
    tz: tzinfo = UTC,
) -> int:
    """Make ``category`` (admitted, names) and the T5 rows of ``stage_limit`` say what the
    decisions in force on ``today`` say, for ``codes`` (default: every code with decisions);
    returns the entries changed. ``admitted_at``/``withdrawn_at`` become the local midnight
    (``tz``) of the effective date. Runs in the caller's transaction."""
    timeline = ItemTimeline(load_decisions(conn), {})
    wanted = list(codes) if codes is not None else timeline.codes()
    changed = 0
    with conn.cursor() as cur:
        for code in dict.fromkeys(wanted):
            v = timeline.version(code, today)
            if v is None and not timeline.decisions(code):
                continue  # a legacy entry: its flag is its own
            on = v is not None and v.in_force
            since = v.effective_on if v is not None else None
            cur.execute(
                _APPLY_CATEGORY,
                {
                    "code": code,
                    "on": on,
                    "zh": (v.name_zh or None) if v else None,
                    "en": (v.name_en or None) if v else None,
                    "since": datetime.combine(since, time(), tz) if since else None,
                },
            )
            n = cur.rowcount
            if on and v is not None:
                for row in limit_rows(code, v.normal, v.urgent):
                    cur.execute(_APPLY_LIMIT, row)
                    n += cur.rowcount
            changed += n > 0
    return changed


def refresh_in_force(conn: psycopg.Connection, today: date, tz: tzinfo = UTC) -> int:
    """Set category.admitted (and the names and T5 limits) to what the decisions effective on
    ``today`` say (the daily sweep: a decision whose effective day has come takes effect);
    returns the entries changed. Runs in the caller's transaction."""
    return apply_in_force(conn, today, None, tz)


def covers_deployment(conn: psycopg.Connection, scope: Scope, deployment: Scope) -> bool:
    """True when ``scope`` holds every current grid of the deployment: the item list is one
    list for the whole deployment, so only such an administrator may change it."""
    if deployment.within(scope):
        return True
    row = conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM grid WHERE valid_to IS NULL AND code LIKE %s"
        " AND code NOT LIKE %s)",
        (deployment.like, scope.like),
    ).fetchone()
    return bool(row and row[0])
