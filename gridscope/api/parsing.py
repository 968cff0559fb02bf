"""Request parsing: body size, media type, UTF-8, JSON and the pydantic models; query strings.

Everything a client sends is checked here before any write, and every refusal is an ApiError
naming the field (``body`` for the body as a whole).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import datetime
from typing import TypeVar

import flask
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from . import state
from .errors import ApiError, validation_error

M = TypeVar("M", bound=BaseModel)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_READ_CHUNK = 64 * 1024
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, 1–255 characters


def read_json_body(model: type[M]) -> M:
    """The request body validated as ``model``: 415 for a media type other than JSON in UTF-8,
    400 for a body that is empty, not UTF-8 or not JSON, 422 naming each invalid field.
    413 for a body over the limit (``read_body``)."""
    req = flask.request
    if req.mimetype != "application/json" and not req.mimetype.endswith("+json"):
        raise ApiError(
            415,
            "send the body as JSON with Content-Type: application/json",
            [("Content-Type", f"{req.mimetype or 'missing'}: expected JSON")],
        )
    charset = req.mimetype_params.get("charset")
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ApiError(415, "the body must be UTF-8", [("Content-Type", f"charset {charset}")])
    raw = read_body(state.current().max_body)
    if not raw.strip():
        raise ApiError(400, "empty request body: expected a JSON object", [("body", "is empty")])
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = f"is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise ApiError(400, f"request body {problem}", [("body", problem)]) from None
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errs = exc.errors(include_url=False)
        if errs and errs[0]["type"] == "json_invalid":
            problem = f"is not valid JSON: {errs[0]['ctx'].get('error', errs[0]['msg'])}"
            raise ApiError(400, f"request body {problem}", [("body", problem)]) from None
        if (
            errs
            and errs[0]["type"] in ("model_type", "model_attributes_type")
            and not errs[0]["loc"]
        ):
            raise ApiError(
                422, "the body must be a JSON object", [("body", "must be a JSON object")]
            ) from None
        raise validation_error(exc) from None


def read_body(limit: int) -> bytes:
    """The request body, read in chunks and refused (413) as soon as it passes ``limit`` bytes,
    so a chunked body (Transfer-Encoding: chunked, no Content-Length) is never buffered whole
    and never cut off silently. 411 for a chunked body the server did not de-chunk (it set no
    ``wsgi.input_terminated``: werkzeug would show an empty body)."""
    req = flask.request
    if req.content_length is None and "wsgi.input_terminated" not in req.environ:
        if "chunked" in req.headers.get("Transfer-Encoding", "").lower():
            raise ApiError(
                411,
                "send the body with a Content-Length header",
                [("Content-Length", "required for this server")],
            )
    if req.content_length is not None and req.content_length > limit:
        # Said up front (gridscope.auth.hardening.BodyLimit also sets a Content-Length one
        # past the limit for a chunked body it found too large): refuse without reading.
        raise RequestEntityTooLarge()
    stream = req.stream  # werkzeug's limited stream (Content-Length or max_content_length)
    buf = bytearray()
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - len(buf)))
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            raise RequestEntityTooLarge()


def read_query(model: type[M], args: MultiDict | None = None) -> M:
    """The query string validated as ``model`` (422 for unknown, repeated or invalid
    parameters)."""
    args = flask.request.args if args is None else args
    flat: dict[str, str] = {}
    repeated = []
    for key, values in args.lists():
        if len(values) > 1:
            repeated.append((key, "is given more than once"))
        flat[key] = values[-1]
    if repeated:
        raise ApiError(422, "invalid query: repeated parameters", repeated)
    for key, value in flat.items():
        if "\x00" in value or "\x00" in key:
            raise ApiError(422, "invalid query", [(key, "must not contain NUL characters")])
    try:
        return model.model_validate(flat)
    except ValidationError as exc:
        raise validation_error(exc, "query") from None


def idempotency_key() -> str | None:
    """The Idempotency-Key header, checked (visible ASCII, 1–255 characters), or None."""
    value = flask.request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.match(value):
        raise ApiError(
            422,
            "invalid Idempotency-Key header",
            [(IDEMPOTENCY_HEADER, "must be 1–255 visible ASCII characters")],
        )
    return value


def request_fingerprint(model: BaseModel) -> str:
    """SHA-256 of method, route and the validated body in canonical JSON: two requests with
    the same fingerprint ask for the same thing (whitespace and key order do not matter)."""
    req = flask.request
    body = json.dumps(
        model.model_dump(mode="json", exclude_unset=True),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{req.method} {req.path}\n{body}".encode()).hexdigest()


def encode_cursor(created_at: datetime, ticket_id: int) -> str:
    """An opaque keyset cursor for the row after which the next page starts."""
    raw = f"{created_at.isoformat()}|{ticket_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (created_at, id) of a cursor; 422 when it was not made by encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, tid = raw.partition("|")
        created_at, ticket_id = datetime.fromisoformat(at), int(tid)
        if created_at.tzinfo is None or not 0 < ticket_id < 2**63:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(
            422, "invalid query: cursor", [("cursor", "is not a cursor returned by this API")]
        ) from None
    return created_at, ticket_id
