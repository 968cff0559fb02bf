"""The demo's sign-in accounts and wall link: one account per role, with the published demo
passwords (gridscope.auth.passwords.DEMO_PASSWORDS, accepted by the server only in demo mode),
and one wall link for a town.

Jurisdictions: the town accounts (``leader``) and the wall link are bound to 建设街道
(330402007, the town every demo size holds); the others (``wall``, ``analyst``,
``dispatcher``, ``admin``) to the whole city (嘉兴市, 3304). Both are narrowed to the
deployment bound (setting ``jurisdiction``) when one is set.

Running it again resets the accounts (role, jurisdiction, password, enabled) and replaces the
wall link (the previous demo link is revoked: its secret was shown once and is not kept), so
`gridscope demo load`, with or without --reuse, always prints working credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from domain.access import Role, policy
from domain.config import Settings
from gridscope.auth import walls
from gridscope.auth.passwords import DEMO_PASSWORDS, hash_password
from queries import accounts, admin, audit
from queries.db import connect
from queries.scope import Scope

DEMO_TOWN = "330402007"  # 建设街道 (南湖区), in the small, city and large demos
CITY_LEVEL = ("wall", "analyst", "dispatcher", "admin")
TOWN_LEVEL = ("leader",)
DISPLAY_NAMES = {
    "wall": "演示大屏账号",
    "leader": "演示领导",
    "analyst": "演示分析员",
    "dispatcher": "演示调度员",
    "admin": "演示管理员",
}
WALL_CREATED_BY = "gridscope demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    role_zh: str
    jurisdiction: str
    jurisdiction_name: str


@dataclass(frozen=True)
class DemoAccess:
    accounts: list[DemoAccount]
    wall_name: str
    wall_path: str  # /wall/<token>, shown once
    wall_url: str  # with the settings' host and port
    login_url: str


Unit = tuple[str, str]  # (code, name)


def _jurisdictions(conn: psycopg.Connection, bound: Scope) -> tuple[Unit, Unit]:
    """(city, town) for the demo accounts, inside ``bound``; RuntimeError when the bound holds
    no loaded territory."""
    city = admin.top_region(conn, bound, "city")
    if city is None:  # the deployment bound lies below the city (or nothing is loaded)
        if not bound.prefix or not accounts.region_or_grid_exists(conn, bound.prefix):
            raise RuntimeError(
                f"no demo territory loaded in jurisdiction {bound.prefix or '(all)'!r}"
            )
        city = (bound.prefix, admin.unit_names(conn, [bound.prefix]).get(bound.prefix, ""))
    town = None
    if Scope(DEMO_TOWN).within(bound):
        name = admin.unit_names(conn, [DEMO_TOWN]).get(DEMO_TOWN)
        town = (DEMO_TOWN, name) if name else None
    return city, town or admin.top_region(conn, bound, "town") or city


def ensure_demo_access(settings: Settings, now: datetime) -> DemoAccess:
    """Create or reset the demo accounts and issue a new demo wall link (see module
    docstring); audited as actor 'cli:gridscope-demo'."""
    bound = Scope(settings.jurisdiction)
    actor = admin.Actor.command_line("gridscope-demo", bound)
    rows: list[DemoAccount] = []
    with connect(settings) as conn:
        city, town = _jurisdictions(conn, bound)
        for role in Role:
            username = role.value
            code, name = town if username in TOWN_LEVEL else city
            password = DEMO_PASSWORDS[username]
            pw_hash = hash_password(password)
            existing = accounts.user_by_name(conn, username)
            with conn.transaction():
                if existing is None:
                    uid = accounts.insert_user(
                        conn, username, DISPLAY_NAMES[username], role.value, code, pw_hash
                    )
                else:
                    uid = existing.id
                    accounts.update_user(
                        conn,
                        uid,
                        display_name=DISPLAY_NAMES[username],
                        role=role.value,
                        jurisdiction=code,
                        password_hash=pw_hash,
                        active=True,
                    )
                event = actor.event(
                    "demo_account",
                    code,
                    object=f"user:{username}",
                    object_ids=[str(uid)],
                    detail={"role": role.value, "reset": existing is not None},
                )
                audit.write(conn, event, now, commit=False)
            rows.append(
                DemoAccount(username, password, role.value, policy(role).name_zh, code, name)
            )
        wall_name = f"{town[1]}指挥中心（演示）"
        with conn.transaction():
            for old in accounts.list_walls(conn, Scope("")):
                if old["created_by"] == WALL_CREATED_BY and old["revoked_at"] is None:
                    admin.revoke_wall(conn, actor, now, old["id"])
            wid, token = walls.create(conn, wall_name, town[0], "standard", WALL_CREATED_BY)
            admin.record_wall_create(
                conn, actor, now, wid, token.split("_")[1], wall_name, town[0], "standard"
            )
        conn.commit()
    path = f"/wall/{token}"
    base = f"http://{settings.host}:{settings.port}"
    return DemoAccess(rows, wall_name, path, base + path, base + "/login")


def access_table(access: DemoAccess) -> list[str]:
    """The lines `demo load` prints: the accounts, then the wall link (CJK text last, so the
    columns stay aligned in a terminal)."""
    lines = [
        f"demo accounts (sign in at {access.login_url}):",
        f"  {'username':<11} {'password':<19} {'role':<11} jurisdiction",
    ]
    for a in access.accounts:
        lines.append(
            f"  {a.username:<11} {a.password:<19} {a.role:<11} {a.jurisdiction:<13} "
            f"{a.role_zh} · {a.jurisdiction_name}"
        )
    lines.append(f"demo wall link for {access.wall_name} (replaced by every demo load):")
    lines.append(f"  {access.wall_url}")
    return lines
