"""Recording the item list's decisions (事项清单, docs/item-list.md): each admit, amend or
withdraw is checked against every recorded decision (``domain.item_history.check``) and
written with its audit row (item_admit / item_amend / item_withdraw) in one transaction; a
decision already in force on the day it is recorded takes effect at once (``category`` and
``stage_limit``), a later one on its day (the sweep's ``refresh_in_force``). An entry the guard
refuses writes an ``item_refused`` audit row instead (``record_refusal``).

Concurrent decisions are serialised by a transaction-level advisory lock: each is checked
against the history as the previous one left it. The caller commits (and then bumps the data
version, ``queries.cache.bump_data_version``, so pages show the change).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from domain.item_history import check
from domain.item_list import Decision, ItemRefused, major_default_rows

from . import audit
from .admin import Actor
from .item_list import apply_in_force, load_decisions, load_legacy

# pg_advisory_xact_lock key of the item list ('itemlist' in ASCII, as a bigint).
_LOCK = 0x6974656D6C697374
BASELINE_ACTOR = "system"


@dataclass(frozen=True)
class Recorded:
    """What recording a decision did: ``created`` False for a re-send of a recorded decision
    (nothing written); ``decisions`` the proposal and the minors it took with it (with ids);
    ``in_force`` whether it was in force on the day it was recorded."""

    created: bool
    decisions: tuple[Decision, ...]
    in_force: bool
    new_category: bool = False


_INSERT = """
INSERT INTO category_decision (code, action, decision_no, effective_on, name_zh, name_en,
                               limits, note, actor, recorded_at)
VALUES (%(code)s, %(action)s, %(decision_no)s, %(effective_on)s, %(name_zh)s, %(name_en)s,
        %(limits)s, %(note)s, %(actor)s, %(at)s)
RETURNING id
"""


def _insert(cur: psycopg.Cursor, d: Decision, actor: str, at: datetime) -> int:
    attrs = d.attributes()
    cur.execute(
        _INSERT,
        {
            "code": d.code,
            "action": d.action,
            "decision_no": d.decision_no,
            "effective_on": d.effective_on,
            "name_zh": d.name_zh,
            "name_en": d.name_en,
            "limits": Jsonb(attrs) if attrs else None,
            "note": d.note,
            "actor": actor[:200],
            "at": at,
        },
    )
    row = cur.fetchone()
    assert row is not None
    return int(row[0])


def _sort_order(code: str) -> int:
    # After the defaults' majors (100, 200, …, 1000 for 99) by code; a minor after its major.
    return int(code[:2]) * 100 + (int(code[2:]) if len(code) == 4 else 0)


def _new_category(cur: psycopg.Cursor, d: Decision) -> bool:
    """Insert the ``category`` row of a code admitted for the first time (not yet admitted:
    ``apply_in_force`` sets the flag when the effective day has come); True when inserted."""
    cur.execute(
        "INSERT INTO category (code, parent_code, name_zh, name_en, admitted, sort_order)"
        " VALUES (%s, %s, %s, %s, false, %s) ON CONFLICT (code) DO NOTHING",
        (
            d.code,
            d.code[:2] if len(d.code) == 4 else None,
            d.name_zh,
            d.name_en or d.name_zh,
            _sort_order(d.code),
        ),
    )
    inserted = cur.rowcount > 0
    if inserted and len(d.code) == 2:
        # A new major needs a limit for every stage of the closed loop (its minors fall back
        # to it): the defaults of 99 其他; the decision's own limits are applied over them.
        for row in major_default_rows(d.code):
            cur.execute(
                "INSERT INTO stage_limit (category_code, stage, urgency, amount, unit)"
                " VALUES (%(category_code)s, %(stage)s, %(urgency)s, %(amount)s, %(unit)s)"
                " ON CONFLICT DO NOTHING",
                row,
            )
    return inserted


def detail_of(d: Decision) -> dict[str, Any]:
    """A decision as the audit row's detail (and the API's echo of it)."""
    return {
        "code": d.code,
        "action": d.action,
        "decision_no": d.decision_no,
        "effective_on": d.effective_on.isoformat(),
        **({"name_zh": d.name_zh} if d.name_zh else {}),
        **({"name_en": d.name_en} if d.name_en else {}),
        **d.attributes(),
        **({"note": d.note} if d.note else {}),
    }


def record_decision(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    today: date,
    proposal: Decision,
    *,
    about: str,
    tz: tzinfo = UTC,
) -> Recorded:
    """Record ``proposal`` (checked against the history; ItemRefused when a rule refuses it,
    nothing written) with its audit row; ``about`` is the jurisdiction the audit row concerns
    (the deployment's: the list is one for all of it), ``today`` the local day (``tz``) that
    decides whether it takes effect now. A re-send of a recorded decision writes nothing."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        verdict = check(proposal, load_decisions(conn), load_legacy(conn))
        if verdict.duplicate is not None:
            dup = verdict.duplicate
            return Recorded(False, (dup,), dup.effective_on <= today)
        for b in verdict.baselines:
            _insert(cur, b, BASELINE_ACTOR, at)
        new_category = proposal.action == "admit" and _new_category(cur, proposal)
        done = tuple(replace(d, id=_insert(cur, d, actor.name, at)) for d in verdict.decisions)
        in_force = proposal.effective_on <= today
        apply_in_force(conn, today, [d.code for d in done], tz)
        detail = detail_of(proposal)
        taken = [d.code for d in done[1:]]
        if taken:
            detail["withdrawn_minors"] = taken
        detail["in_force_on_record"] = in_force
        event = actor.event(
            f"item_{proposal.action}",
            about,
            object=f"item:{proposal.code}",
            object_ids=[str(d.id) for d in done],
            detail=detail,
        )
        audit.write(conn, event, at, commit=False)
    return Recorded(True, done, in_force, new_category)


def record_refusal(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    refused: ItemRefused,
    fields: dict[str, Any],
    *,
    about: str,
) -> None:
    """The ``item_refused`` audit row of an entry the guard refused (outcome 'refused', the
    submitted fields and the message quoting the clauses), in its own transaction: it lands
    although nothing else is written. The caller commits."""
    shown = {k: str(v)[:200] for k, v in fields.items() if v not in (None, "")}
    code = shown.get("code", "")
    event = actor.event(
        "item_refused",
        about,
        object=f"item:{code}" if code else "item",
        outcome="refused",
        detail={"submitted": shown, "field": refused.field, "message": refused.message},
    )
    with conn.transaction():
        audit.write(conn, event, at, commit=False)


@dataclass(frozen=True)
class RowOutcome:
    """One row of an item-list file: 'recorded', 'already recorded' (a re-run) or 'refused'
    with the reason."""

    row: int  # 1-based data row
    code: str
    action: str
    outcome: str
    message: str = ""


def record_rows(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    today: date,
    rows: list[tuple[int, dict[str, Any]]],
    *,
    about: str,
    tz: tzinfo = UTC,
) -> list[RowOutcome]:
    """Record the decisions of a file's rows ((row number, fields for
    ``domain.item_list.decision_from``)), in file order, each checked against the history as
    the rows before it left it; a refused row is skipped (its savepoint rolled back) and an
    entry the guard refuses is audited. Everything happens in the caller's transaction: the
    caller commits the whole file (or rolls it back for a dry run)."""
    from domain.item_list import decision_from

    # Opens the caller's transaction (each row then runs in a savepoint) and keeps other
    # decisions out until the file is committed.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    out = []
    for number, fields in rows:
        code, action = str(fields.get("code") or ""), str(fields.get("action") or "")
        try:
            proposal = decision_from(**fields)
            done = record_decision(conn, actor, at, today, proposal, about=about, tz=tz)
        except ItemRefused as exc:
            if exc.guarded:
                record_refusal(conn, actor, at, exc, fields, about=about)
            out.append(RowOutcome(number, code, action, "refused", exc.message))
            continue
        verb = "recorded" if done.created else "already recorded"
        taken = [d.code for d in done.decisions[1:]] if done.created else []
        note = f"withdrew minors {', '.join(taken)} with it" if taken else ""
        out.append(RowOutcome(number, proposal.code, proposal.action, verb, note))
    return out
