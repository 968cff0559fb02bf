"""Wall links: ``/wall/gw_<prefix>_<secret>``. The 8-hex-digit prefix names the link in lists
and logs; the 43-character secret (256 bits) is shown once, at creation. Only the SHA-256 of
the whole token is stored, and a presented link is looked up by that hash."""

from __future__ import annotations

import hashlib
import re
import secrets

import psycopg

from queries import accounts
from queries.services import Services

_LINK = re.compile(r"^gw_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")

# Screen layouts a link may pin. "standard" arranges itself by the wall's aspect ratio (16:9
# up to 32:9, assets/00_screen.css); rotation between layouts comes with issue #10.
LAYOUTS = {"standard": "标准（按屏幕比例自适应 16:9 / 32:9）"}


class WallLinkError(ValueError):
    """A wall link that cannot be created as asked; the message names the field."""


def secret_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(
    conn: psycopg.Connection, name: str, jurisdiction: str, layout: str, created_by: str
) -> tuple[int, str]:
    """A new wall link; returns (id, token). Raises WallLinkError for an empty name, an
    unknown layout or a jurisdiction that names no region or grid."""
    name = name.strip()
    if not name or len(name) > 100:
        raise WallLinkError("name: 1–100 characters")
    if layout not in LAYOUTS:
        raise WallLinkError(f"layout: one of {', '.join(LAYOUTS)}")
    if not jurisdiction:
        raise WallLinkError("jurisdiction: a wall needs a region or grid code")
    if not accounts.region_or_grid_exists(conn, jurisdiction):
        raise WallLinkError(f"jurisdiction: no region or grid {jurisdiction!r}")
    for _ in range(5):
        prefix = secrets.token_hex(4)
        token = f"gw_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with conn.transaction():
                wid = accounts.insert_wall(
                    conn, name, prefix, secret_hash(token), jurisdiction, layout, created_by
                )
        except psycopg.errors.UniqueViolation:
            continue
        return wid, token
    raise RuntimeError("could not draw an unused wall-link prefix")


def find(svc: Services, token: str) -> accounts.WallRow | None:
    """The unrevoked link for a presented token, or None (malformed, unknown or revoked)."""
    if not _LINK.match(token or ""):
        return None
    with svc.pool.connection() as conn:
        return accounts.wall_by_hash(conn, secret_hash(token))
