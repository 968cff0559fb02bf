"""The survey record (``survey``) of a closed ticket, written by the survey action.

One row per ticket (UNIQUE ticket_id): the result, the channel it was asked through and the
party's comment, with the ticket's grid and category copied so the jurisdiction scope and the
category filter need no join to the partitioned ticket table. The survey event carries the
channel in its data and the comment in its own column, so ``queries/sql/rebuild_survey.sql``
rebuilds this table from the event log exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain.workflow.survey import survey_channel

from .errors import TicketError

_COLUMNS = "result, channel, comment, at"


def checked_channel(channel: str | None) -> str:
    """The survey's channel ('phone' when not given); TicketError 422 naming the channels."""
    try:
        return survey_channel(channel)
    except ValueError as exc:
        raise TicketError("channel", str(exc)) from None


def find_survey(conn: psycopg.Connection, ticket_id: int) -> dict[str, Any] | None:
    """The ticket's survey record (result, channel, comment, at), or None."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM survey WHERE ticket_id = %s",  # noqa: S608
        (ticket_id,),
    ).fetchone()
    return (
        None if row is None else dict(zip(("result", "channel", "comment", "at"), row, strict=True))
    )


def retried_survey(
    conn: psycopg.Connection,
    ticket_id: int,
    result: str | None,
    channel: str,
    comment: str | None,
) -> dict[str, Any] | None:
    """For a survey asked of a ticket already surveyed: its record when the request repeats
    it (same result, channel and comment: a retry, answered as if applied), None when the
    ticket has no record (the caller refuses the step as illegal); TicketError 409 when the
    request differs from the survey recorded (a ticket is surveyed once)."""
    found = find_survey(conn, ticket_id)
    if found is None:
        return None
    if (found["result"], found["channel"], found["comment"]) == (result, channel, comment):
        return found
    raise TicketError(
        "action",
        f"the ticket was already surveyed at {found['at'].isoformat()}"
        f" ({found['result']}, {found['channel']}); a ticket is surveyed once",
        status=409,
    )


def insert_survey(
    cur: psycopg.Cursor,
    t: dict[str, Any],
    at: datetime,
    result: str,
    channel: str,
    comment: str | None,
    actor_kind: str,
    actor_id: int | None,
) -> None:
    """Write ticket ``t``'s survey record; TicketError 409 when it already has one."""
    cur.execute(
        "INSERT INTO survey (ticket_id, ticket_created_at, grid_code, category_code, at,"
        " channel, result, comment, actor_kind, actor_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (ticket_id) DO NOTHING RETURNING id",
        (
            t["id"],
            t["created_at"],
            t["grid_code"],
            t["category_code"],
            at,
            channel,
            result,
            comment,
            actor_kind,
            actor_id,
        ),
    )
    if cur.fetchone() is None:
        # Only a record written outside the closed loop gets here (the ticket row is locked
        # and a surveyed ticket takes no second survey): refuse rather than overwrite it.
        raise TicketError("action", "the ticket already has a survey record", status=409)
