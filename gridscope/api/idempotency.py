"""Writes run at most once per (token, Idempotency-Key), and the response of a write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flask
import psycopg
from pydantic import BaseModel

from queries import api as q

from .errors import ApiError, json_response
from .parsing import IDEMPOTENCY_HEADER, request_fingerprint
from .tokens import Caller


def idempotent(
    conn: psycopg.Connection,
    caller: Caller,
    key: str | None,
    body: BaseModel,
    perform: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """(status, body, replayed) of ``perform`` run at most once per (token, Idempotency-Key).

    A session advisory lock serialises requests with the same key, so a concurrent duplicate
    waits and then replays. The pending key row is written in the same transaction as the
    change (the write path commits both); the response is recorded right after. Refusals are
    not recorded: the database is unchanged and the client may retry with a fixed request.
    """
    if key is None:
        status, out = perform()
        return status, out, False
    fingerprint = request_fingerprint(body)
    q.lock_idempotency_key(conn, caller.token_id, key)
    try:
        found = q.find_idempotency(conn, caller.token_id, key)
        if found is not None:
            stored_hash, status, out = found
            if stored_hash != fingerprint:
                raise ApiError(
                    422,
                    f"Idempotency-Key {key!r} was already used for a different "
                    "request; use a new key for a new request",
                    [(IDEMPOTENCY_HEADER, "reused with a different request")],
                )
            if status == q.PENDING:
                raise ApiError(
                    409,
                    "the first request with this Idempotency-Key was "
                    "interrupted after its change was committed and before its "
                    "response was recorded; look the result up instead of retrying",
                    [(IDEMPOTENCY_HEADER, "first request interrupted")],
                )
            return status, out, True
        q.record_idempotency(conn, caller.token_id, key, fingerprint, q.PENDING, {})
        status, out = perform()
        q.record_idempotency(conn, caller.token_id, key, fingerprint, status, out)
        conn.commit()
        return status, out, False
    except BaseException:
        conn.rollback()
        raise
    finally:
        q.unlock_idempotency_key(conn, caller.token_id, key)
        conn.commit()


def write_response(
    status: int, body: dict[str, Any], replayed: bool, location: str | None = None
) -> flask.Response:
    """The JSON response of a write, marked ``Idempotent-Replayed`` when it was replayed."""
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if location:
        headers["Location"] = location
    return json_response(body, status, headers)
