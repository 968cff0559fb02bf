"""Administration of accounts and wall links, shared by the `gridscope user|wall` commands and
the admin pages (/admin/users, /admin/walls): the rules every change passes and the changes
themselves, each applied together with its audit row in one transaction.

Who makes a change is an ``Actor``: a signed-in administrator (its ``Viewer``) or the command
line. An actor touches only accounts and links inside its ``scope`` and binds new ones only to
jurisdictions inside its ``bound`` (an administrator: its own jurisdiction for both; the command
line: every account, new jurisdictions inside the deployment bound, setting ``jurisdiction``).

Password strength and hashing stay in gridscope.auth.passwords: the functions here take hashes.
Messages (``AdminError``) are zh-CN and name the field they are about. Each change runs in
``conn.transaction()`` (a savepoint when the caller has one open); the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from domain.access import Role

from . import accounts, audit
from .audit import AuditEvent, event_for
from .scope import WHOLE, Scope, ScopeError
from .viewer import Viewer

# The app_user CHECK (migration 0005), so a bad name is refused with a message, not a 500.
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MAX_DISPLAY_NAME = 50
ROLE_NAMES = tuple(r.value for r in Role)


class AdminError(ValueError):
    """A change refused by the rules; ``field`` names the form field or option it is about."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Actor:
    """Who makes an administrative change (see module docstring)."""

    name: str
    scope: Scope
    bound: Scope
    viewer: Viewer | None = None

    @classmethod
    def of_viewer(cls, viewer: Viewer) -> Actor:
        return cls(viewer.name, viewer.scope, viewer.scope, viewer)

    @classmethod
    def command_line(cls, name: str, deployment: Scope) -> Actor:
        return cls(name or "cli", WHOLE, deployment)

    def event(self, action: str, about: str, **fields: Any) -> AuditEvent:
        """The audit row of ``action``. ``about`` is the jurisdiction the change concerns: the
        row's jurisdiction for the command line (so the audit search of that jurisdiction
        finds it), kept in ``detail`` for an administrator (whose row carries its own)."""
        detail = {"jurisdiction": about, **fields.pop("detail", {})}
        if self.viewer is not None:
            return event_for(self.viewer, action, detail=detail, **fields)
        return AuditEvent("cli", self.name, action, jurisdiction=about, detail=detail, **fields)


# ------------------------------------------------------------------ rules


def check_username(value: object) -> str:
    name = value.strip().lower() if isinstance(value, str) else ""
    if not USERNAME.fullmatch(name):
        raise AdminError("username", "用户名须为 2–32 位小写字母、数字或 . _ -，并以字母或数字开头")
    return name


def check_display_name(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AdminError("display_name", "显示名格式不正确")
    name = " ".join(value.split())
    if len(name) > MAX_DISPLAY_NAME:
        raise AdminError("display_name", f"显示名最多 {MAX_DISPLAY_NAME} 个字符")
    return name


def check_role(value: object) -> Role:
    if not isinstance(value, str) or value not in ROLE_NAMES:
        raise AdminError("role", "请选择角色：" + "、".join(ROLE_NAMES))
    return Role(value)


def check_jurisdiction(
    conn: psycopg.Connection, value: object, bound: Scope, *, allow_all: bool = False
) -> str:
    """A jurisdiction for an account or link: a current region or grid code (or a prefix of
    one) inside ``bound``. The empty code (all of the deployment) only with ``allow_all``."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise AdminError("jurisdiction", "辖区编码格式不正确")
    code = value.strip()
    if not code:
        if allow_all:
            return ""
        raise AdminError("jurisdiction", "请填写辖区编码（区划或网格编码，如 330402007）")
    try:
        own = Scope(code)
    except ScopeError:
        raise AdminError("jurisdiction", f"辖区编码 {code[:40]} 格式不正确") from None
    if not own.within(bound):
        raise AdminError(
            "jurisdiction", f"辖区 {code} 不在可管理范围（{bound.prefix or '全部'}）内"
        )
    if not accounts.region_or_grid_exists(conn, code):
        raise AdminError("jurisdiction", f"没有以 {code} 开头的现行区划或网格编码")
    return code


def _in_scope(actor: Actor, jurisdiction: str) -> bool:
    try:
        return Scope(jurisdiction).within(actor.scope)
    except ScopeError:
        return False


def find_user(conn: psycopg.Connection, actor: Actor, username: object) -> accounts.UserRow:
    """The account ``username`` if it lies in the actor's scope (else the same refusal as for
    an unknown name, so an administrator learns nothing outside its jurisdiction)."""
    name = username.strip().lower() if isinstance(username, str) else ""
    row = accounts.user_by_name(conn, name) if name else None
    if row is None or not _in_scope(actor, row.jurisdiction):
        raise AdminError("username", f"没有账号 {name[:32] or '（空）'}")
    return row


def _not_self(actor: Actor, row: accounts.UserRow, what: str) -> None:
    v = actor.viewer
    if v is not None and v.kind == "user" and v.id == row.id:
        raise AdminError("username", f"不能{what}自己的账号（请由其他管理员操作）")


# ------------------------------------------------------------------ changes (audited)


def add_user(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    *,
    username: str,
    display_name: str,
    role: Role,
    jurisdiction: str,
    password_hash: str,
) -> int:
    """Create an account (already validated) and its audit row ``user_add``; returns its id."""
    with conn.transaction():
        if accounts.user_by_name(conn, username) is not None:
            raise AdminError("username", f"用户名 {username} 已存在")
        uid = accounts.insert_user(
            conn, username, display_name, role.value, jurisdiction, password_hash
        )
        event = actor.event(
            "user_add",
            jurisdiction,
            object=f"user:{username}",
            object_ids=[str(uid)],
            detail={"role": role.value, "display_name": display_name},
        )
        audit.write(conn, event, at, commit=False)
    return uid


def _change(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    row: accounts.UserRow,
    action: str,
    changes: dict[str, Any],
    detail: dict[str, Any],
) -> None:
    with conn.transaction():
        accounts.update_user(conn, row.id, **changes)
        event = actor.event(
            action,
            changes.get("jurisdiction", row.jurisdiction),
            object=f"user:{row.username}",
            object_ids=[str(row.id)],
            detail=detail,
        )
        audit.write(conn, event, at, commit=False)


def set_password(
    conn: psycopg.Connection, actor: Actor, at: datetime, row: accounts.UserRow, password_hash: str
) -> None:
    """Replace the password (ends the account's sessions); audited ``user_passwd``."""
    _change(conn, actor, at, row, "user_passwd", {"password_hash": password_hash}, {})


def set_active(
    conn: psycopg.Connection, actor: Actor, at: datetime, row: accounts.UserRow, active: bool
) -> bool:
    """Enable or disable the account; False when it already was (nothing written). Disabling
    ends its sessions. Audited ``user_enable`` / ``user_disable``."""
    if row.active == active:
        return False
    if not active:
        _not_self(actor, row, "停用")
    _change(
        conn, actor, at, row, "user_enable" if active else "user_disable", {"active": active}, {}
    )
    return True


def set_role(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    row: accounts.UserRow,
    role: Role,
    jurisdiction: str | None = None,
) -> bool:
    """Change the role (and the jurisdiction when given); False when nothing changes. Ends the
    account's sessions. Audited ``user_role`` with the old and new values."""
    changes: dict[str, Any] = {}
    if role.value != row.role:
        changes["role"] = role.value
    if jurisdiction is not None and jurisdiction != row.jurisdiction:
        changes["jurisdiction"] = jurisdiction
    if not changes:
        return False
    _not_self(actor, row, "修改")
    detail = {
        "from": {"role": row.role, "jurisdiction": row.jurisdiction},
        "to": {"role": role.value, "jurisdiction": changes.get("jurisdiction", row.jurisdiction)},
    }
    _change(conn, actor, at, row, "user_role", changes, detail)
    return True


def record_wall_create(
    conn: psycopg.Connection,
    actor: Actor,
    at: datetime,
    wall_id: int,
    prefix: str,
    name: str,
    jurisdiction: str,
    layout: str,
) -> None:
    """The audit row ``wall_create`` of a link just created (gridscope.auth.walls.create) in
    the caller's transaction; the secret is never recorded, only its prefix."""
    event = actor.event(
        "wall_create",
        jurisdiction,
        object=f"wall:{prefix}",
        object_ids=[str(wall_id)],
        detail={"name": name, "layout": layout},
    )
    audit.write(conn, event, at, commit=False)


def wall_in_scope(conn: psycopg.Connection, actor: Actor, wall_id: object) -> dict[str, Any]:
    """The wall link ``wall_id`` (revoked or not) inside the actor's scope."""
    if not isinstance(wall_id, int) or isinstance(wall_id, bool):
        raise AdminError("wall", "请选择大屏链接")
    for wall in accounts.list_walls(conn, actor.scope):
        if wall["id"] == wall_id:
            return wall
    raise AdminError("wall", f"没有大屏链接 {wall_id}")


def revoke_wall(conn: psycopg.Connection, actor: Actor, at: datetime, wall_id: object) -> bool:
    """Revoke a wall link in the actor's scope (its wall sessions end on their next request);
    False when it was already revoked. Audited ``wall_revoke``."""
    wall = wall_in_scope(conn, actor, wall_id)
    with conn.transaction():
        done = accounts.revoke_wall(conn, wall["id"], actor.scope)
        if done:
            event = actor.event(
                "wall_revoke",
                wall["jurisdiction"],
                object=f"wall:{wall['prefix']}",
                object_ids=[str(wall["id"])],
                detail={"name": wall["name"]},
            )
            audit.write(conn, event, at, commit=False)
    return done


# ------------------------------------------------------------------ names for the lists


def unit_names(conn: psycopg.Connection, codes: Iterable[str]) -> dict[str, str]:
    """{code: name} of the current regions and grids among ``codes`` (codes that name no
    unit, e.g. a bare prefix, are left out)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    rows = conn.execute(
        "SELECT code, name FROM region WHERE valid_to IS NULL AND code = ANY(%(c)s)"
        " UNION ALL SELECT code, name FROM grid WHERE valid_to IS NULL AND code = ANY(%(c)s)",
        {"c": wanted},
    ).fetchall()
    return {str(code): str(name) for code, name in rows}


def region_choices(conn: psycopg.Connection, scope: Scope) -> list[tuple[str, str]]:
    """(code, name) of the current city, county and town regions in ``scope``, by code: the
    jurisdiction suggestions of the admin forms."""
    rows = conn.execute(
        "SELECT code, name FROM region WHERE valid_to IS NULL AND code LIKE %s"
        " AND level IN ('province', 'city', 'county', 'town') ORDER BY code",
        (scope.like,),
    ).fetchall()
    return [(str(c), str(n)) for c, n in rows]


def top_region(conn: psycopg.Connection, scope: Scope, level: str) -> tuple[str, str] | None:
    """(code, name) of the first current region of ``level`` in ``scope`` (by code)."""
    row = conn.execute(
        "SELECT code, name FROM region WHERE valid_to IS NULL AND code LIKE %s AND level = %s"
        " ORDER BY code LIMIT 1",
        (scope.like, level),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row else None
