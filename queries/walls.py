"""A wall link's rotation (table ``wall_link``, column ``playlist``; issue #10): storing and
reading the playlist text, the audited change shared by `gridscope wall playlist` and
/admin/walls, and the units a rotation shows, resolved inside the wall's scope.

The text's grammar is ``domain.playlist``; what is stored is always its canonical form. An
empty playlist means "follow the setting ``wall_playlist``" (dashboard/screen/rotation.py).

Units come back with their bounds as (west, south, east, north) in EPSG:4326 degrees (the
display datum is applied by the caller): the region's own geometry, else the extent of its
grids; None when neither exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from domain.playlist import TOWN, PlaylistError, Step, format_playlist, parse_playlist

from . import admin, audit
from .scope import Scope, ScopeError

WALL_PLAYLIST_ACTION = "wall_playlist"


def set_playlist(conn: psycopg.Connection, link_id: int, text: str) -> bool:
    """Store ``text`` (read by domain.playlist; stored in canonical form) as the playlist of
    the unrevoked wall link ``link_id``; True when there is such a link. Raises PlaylistError
    for a text that does not read. Not audited: callers that act for someone use
    ``change_playlist``."""
    canonical = format_playlist(parse_playlist(text))
    cur = conn.execute(
        "UPDATE wall_link SET playlist = %s WHERE id = %s AND revoked_at IS NULL",
        (canonical, link_id),
    )
    return cur.rowcount == 1


def playlist_of(conn: psycopg.Connection, link_id: int) -> str | None:
    """The stored playlist of the unrevoked wall link ``link_id`` ('' when it has none of its
    own), or None when there is no such link."""
    row = conn.execute(
        "SELECT playlist FROM wall_link WHERE id = %s AND revoked_at IS NULL", (link_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def playlists(conn: psycopg.Connection, scope: Scope) -> dict[int, str]:
    """{link id: stored playlist} of the wall links whose jurisdiction lies in ``scope``."""
    rows = conn.execute(
        "SELECT id, playlist FROM wall_link WHERE jurisdiction LIKE %s", (scope.like,)
    ).fetchall()
    return {int(i): str(p) for i, p in rows}


@dataclass(frozen=True)
class RotationUnit:
    """A unit a rotation step shows: code, name, its parent's name ('' when none) and bounds
    (west, south, east, north; EPSG:4326 degrees) or None."""

    code: str
    name: str
    parent_name: str
    level: str
    bounds: tuple[float, float, float, float] | None


# The extent of a unit: its own geometry, else its grids' (valid at %(now)s). Box2D, not
# ST_Extent, on the unit: an aggregate of outer columns only would aggregate the outer query.
_BOUNDS = """
LEFT JOIN LATERAL (
    SELECT coalesce(
        Box2D(u.geom),
        (SELECT ST_Extent(g.geom) FROM grid g
          WHERE g.code LIKE replace(u.code, '_', '\\_') || '%%'
            AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s))
    ) AS e
) x ON true
"""

_LEVEL_UNITS_SQL = f"""
SELECT u.code, u.name, coalesce(p.name, ''), u.level,
       ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e)
  FROM region u
  LEFT JOIN region p ON p.code = u.parent_code
        AND p.valid_from <= %(now)s AND (p.valid_to IS NULL OR p.valid_to > %(now)s)
  {_BOUNDS}
 WHERE u.level = %(level)s AND u.code LIKE %(like)s AND u.code <> %(own)s
   AND u.valid_from <= %(now)s AND (u.valid_to IS NULL OR u.valid_to > %(now)s)
 ORDER BY u.code
 LIMIT %(limit)s
"""  # noqa: S608 - _BOUNDS is a constant; every value is bound

_UNIT_SQL = f"""
SELECT u.code, u.name, coalesce(p.name, ''), u.level,
       ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e)
  FROM (SELECT r.code, r.name, r.parent_code, r.level, r.geom FROM region r
         WHERE r.code = %(code)s
           AND r.valid_from <= %(now)s AND (r.valid_to IS NULL OR r.valid_to > %(now)s)
        UNION ALL
        SELECT g.code, g.name, g.community_code, 'grid', g.geom FROM grid g
         WHERE g.code = %(code)s
           AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
        LIMIT 1) u
  LEFT JOIN region p ON p.code = u.parent_code
        AND p.valid_from <= %(now)s AND (p.valid_to IS NULL OR p.valid_to > %(now)s)
  {_BOUNDS}
"""  # noqa: S608 - _BOUNDS is a constant; every value is bound

# More towns than this in one rotation would take hours per round: the cap is stated by the
# caller (a note on the wall's rotation), never applied silently.
MAX_UNITS = 200


def _unit(row: tuple) -> RotationUnit:
    code, name, parent, level, w, s, e, n = row
    box = None if w is None else (float(w), float(s), float(e), float(n))
    return RotationUnit(str(code), str(name), str(parent), str(level), box)


def towns_in(
    conn: psycopg.Connection, scope: Scope, now: datetime, limit: int = MAX_UNITS
) -> tuple[list[RotationUnit], bool]:
    """(the units a ``towns`` step visits, by code, at most ``limit``; True when there were
    more). The towns (镇/街道) inside ``scope`` valid at ``now``; on a wall of one town (or
    of a part of one), whose only town would repeat its overview, the communities (社区/村)
    inside it instead. The scope's own unit is never among them."""
    if scope.empty:
        return [], False
    for level in ("town", "community"):
        params = {
            "level": level,
            "like": scope.like,
            "own": scope.prefix,
            "now": now,
            "limit": limit + 1,
        }
        rows = conn.execute(_LEVEL_UNITS_SQL, params).fetchall()
        if rows:
            return [_unit(r) for r in rows[:limit]], len(rows) > limit
    return [], False


def unit_in(
    conn: psycopg.Connection, scope: Scope, code: str, now: datetime
) -> RotationUnit | None:
    """The region or grid ``code`` valid at ``now`` if it lies inside ``scope``, else None
    (unknown and out-of-scope codes answer alike)."""
    if not isinstance(code, str) or not scope.contains(code):
        return None
    row = conn.execute(_UNIT_SQL, {"code": code, "now": now}).fetchone()
    return _unit(row) if row else None


# ------------------------------------------------------------------ the audited change


@dataclass(frozen=True)
class PlaylistChange:
    wall_id: int
    name: str
    before: str
    after: str


def check_units(
    conn: psycopg.Connection, jurisdiction: str, steps: tuple[Step, ...], now: datetime
) -> None:
    """PlaylistError unless every ``town:<code>`` step names a current unit inside the wall's
    ``jurisdiction``."""
    try:
        scope = Scope(jurisdiction)
    except ScopeError:
        raise PlaylistError("大屏辖区编码不正确") from None
    for n, step in enumerate(steps, start=1):
        if step.kind == TOWN and unit_in(conn, scope, step.unit, now) is None:
            raise PlaylistError(
                f"第 {n} 步「{step.text}」：{step.unit} 不是该大屏辖区（{jurisdiction}）内的"
                "现行区划或网格编码",
                n,
            )


def change_playlist(
    conn: psycopg.Connection, actor: admin.Actor, at: datetime, wall_id: object, text: object
) -> PlaylistChange | None:
    """Set the playlist of an unrevoked wall link in the actor's scope; None when it already
    was that (nothing written). Raises admin.AdminError (field ``wall`` or ``playlist``) with
    the message to show. Audited ``wall_playlist`` with the old and new text, in the same
    transaction as the change (a savepoint in the caller's; the caller commits)."""
    wall = admin.wall_in_scope(conn, actor, wall_id)
    if wall["revoked_at"] is not None:
        raise admin.AdminError("wall", f"大屏链接 {wall['id']} 已吊销")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise admin.AdminError("playlist", "轮播设置须为文本")
    try:
        steps = parse_playlist(text)
        check_units(conn, wall["jurisdiction"], steps, at)
    except PlaylistError as exc:
        raise admin.AdminError("playlist", exc.message) from None
    after = format_playlist(steps)
    with conn.transaction():
        before = playlist_of(conn, wall["id"])
        if before is None:  # revoked since it was read
            raise admin.AdminError("wall", f"大屏链接 {wall['id']} 已吊销")
        if before == after:
            return None
        set_playlist(conn, wall["id"], after)
        event = actor.event(
            WALL_PLAYLIST_ACTION,
            wall["jurisdiction"],
            object=f"wall:{wall['prefix']}",
            object_ids=[str(wall["id"])],
            detail={"name": wall["name"], "from": before, "to": after},
        )
        audit.write(conn, event, at, commit=False)
    return PlaylistChange(int(wall["id"]), str(wall["name"]), before, after)
