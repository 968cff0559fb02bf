"""/admin/users: the accounts in the administrator's jurisdiction; create one, change its role
and jurisdiction, disable or enable it, reset its password. Every change goes through
queries.admin (the rules, the audit row in the same transaction); the forms' values are checked
on the server whatever the browser sent."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from domain.access import Role, policy
from gridscope.auth.passwords import WeakPassword, check_strength, hash_password
from queries import accounts, admin
from queries.scope import Scope
from queries.services import Services
from queries.viewer import Viewer

from .common import (
    DENIED,
    UNAVAILABLE,
    acting,
    admin_page,
    field,
    jurisdiction_list,
    notice,
    scope_text,
    table,
    when,
)

log = logging.getLogger(__name__)

PATH = "/admin/users"
ROLE_OPTIONS = [{"label": f"{policy(r).name_zh}（{r.value}）", "value": r.value} for r in Role]
COLUMNS = (
    ("username", "用户名"),
    ("display_name", "显示名"),
    ("role", "角色"),
    ("jurisdiction", "辖区"),
    ("state", "状态"),
    ("last_login", "最近登录"),
    ("created", "创建时间"),
)
MAX_PASSWORD = 256


def listing(conn: psycopg.Connection, scope: Scope, tz) -> tuple[Any, list[dict[str, str]]]:
    """(the accounts table, the target dropdown's options) for ``scope``."""
    rows = accounts.list_users(conn, scope)
    names = admin.unit_names(conn, [r["jurisdiction"] for r in rows])
    cells = [
        {
            "username": r["username"],
            "display_name": r["display_name"],
            "role": policy(r["role"]).name_zh,
            "jurisdiction": scope_text(r["jurisdiction"], names),
            "state": "启用" if r["active"] else "停用",
            "last_login": when(r["last_login_at"], tz),
            "created": when(r["created_at"], tz),
        }
        for r in rows
    ]
    options = [
        {
            "label": f"{r['username']}" + (f"（{r['display_name']}）" if r["display_name"] else ""),
            "value": r["username"],
        }
        for r in rows
    ]
    return table(COLUMNS, cells, "本辖区还没有账号"), options


def _password(form: dict[str, Any], key: str, username: str, demo_mode: bool) -> str:
    password, again = form.get(key), form.get(key + "2")
    if not isinstance(password, str) or not password:
        raise admin.AdminError("password", "请输入密码")
    if len(password) > MAX_PASSWORD:
        raise admin.AdminError("password", f"密码最长 {MAX_PASSWORD} 个字符")
    if password != again:
        raise admin.AdminError("password", "两次输入的密码不一致")
    try:
        check_strength(password, username, demo_mode=demo_mode)
    except WeakPassword as exc:
        raise admin.AdminError("password", f"密码不符合要求：{exc}") from None
    return password


def create_user(svc: Services, actor: admin.Actor, form: dict[str, Any]) -> tuple[bool, str]:
    """Create the account the form describes; (ok, message in zh-CN)."""
    try:
        username = admin.check_username(form.get("username"))
        display = admin.check_display_name(form.get("display_name"))
        role = admin.check_role(form.get("role"))
        with svc.pool.connection() as conn:
            code = admin.check_jurisdiction(conn, form.get("jurisdiction"), actor.bound)
            password = _password(form, "password", username, svc.settings.demo_mode)
            admin.add_user(
                conn,
                actor,
                svc.clock.now(),
                username=username,
                display_name=display,
                role=role,
                jurisdiction=code,
                password_hash=hash_password(password),
            )
            conn.commit()
    except admin.AdminError as exc:
        return False, exc.message
    except psycopg.Error:
        log.exception("admin: creating an account failed")
        return False, UNAVAILABLE
    return True, f"已创建账号 {username}（{policy(role).name_zh}，辖区 {code}）"


EDIT_ACTIONS = ("save", "disable", "enable", "reset")


def edit_user(
    svc: Services, actor: admin.Actor, action: str, form: dict[str, Any]
) -> tuple[bool, str]:
    """Apply ``action`` (save role and jurisdiction, disable, enable, reset password) to the
    form's target account; (ok, message in zh-CN)."""
    now = svc.clock.now()
    try:
        with svc.pool.connection() as conn:
            row = admin.find_user(conn, actor, form.get("target"))
            if action == "save":
                role = admin.check_role(form.get("edit_role"))
                code = admin.check_jurisdiction(conn, form.get("edit_jurisdiction"), actor.bound)
                changed = admin.set_role(conn, actor, now, row, role, code)
                message = (
                    f"{row.username}：角色 {policy(role).name_zh}，辖区 {code}（已有会话已失效）"
                    if changed
                    else f"{row.username} 的角色和辖区没有变化"
                )
            elif action in ("disable", "enable"):
                active = action == "enable"
                changed = admin.set_active(conn, actor, now, row, active)
                state = "启用" if active else "停用"
                message = (
                    f"已{state}账号 {row.username}"
                    if changed
                    else f"{row.username} 已是{state}状态"
                )
            elif action == "reset":
                password = _password(form, "edit_password", row.username, svc.settings.demo_mode)
                admin.set_password(conn, actor, now, row, hash_password(password))
                message = f"已重置 {row.username} 的密码（已有会话已失效）"
            else:
                return False, DENIED
            conn.commit()
    except admin.AdminError as exc:
        return False, exc.message
    except psycopg.Error:
        log.exception("admin: changing an account failed")
        return False, UNAVAILABLE
    return True, message


def _text_input(id_: str, placeholder: str = "", kind: str = "text", **extra: Any) -> dcc.Input:
    return dcc.Input(
        id=id_,
        type=kind,
        placeholder=placeholder,
        debounce=False,
        className="gs-admin-input",
        autoComplete="new-password" if kind == "password" else "off",
        **extra,
    )


def _create_form() -> html.Section:
    return html.Section(
        [
            html.H2("新建账号"),
            field("用户名", _text_input("adm-users-username", "如 zhang.san", maxLength=32)),
            field("显示名", _text_input("adm-users-name", "如 张三", maxLength=50)),
            field(
                "角色",
                dcc.Dropdown(
                    ROLE_OPTIONS,
                    "analyst",
                    id="adm-users-role",
                    clearable=False,
                    searchable=False,
                    className="gs-admin-dropdown",
                ),
            ),
            field(
                "辖区",
                _text_input("adm-users-jurisdiction", "区划或网格编码", list="adm-users-codes"),
                "须在您的辖区内，如 330402007（建设街道）",
            ),
            field("初始密码", _text_input("adm-users-password", kind="password")),
            field("确认密码", _text_input("adm-users-password2", kind="password")),
            html.Button("创建账号", id="adm-users-create", className="gs-admin-button"),
            html.Div(id="adm-users-create-msg", className="gs-admin-msg"),
        ],
        className="gs-admin-card",
    )


def _edit_form(options: list[dict[str, str]]) -> html.Section:
    return html.Section(
        [
            html.H2("修改账号"),
            field(
                "账号",
                dcc.Dropdown(
                    options,
                    None,
                    id="adm-users-target",
                    placeholder="选择账号",
                    className="gs-admin-dropdown",
                ),
            ),
            html.Div(id="adm-users-target-state", className="gs-admin-hint"),
            field(
                "角色",
                dcc.Dropdown(
                    ROLE_OPTIONS,
                    None,
                    id="adm-users-edit-role",
                    clearable=False,
                    searchable=False,
                    className="gs-admin-dropdown",
                ),
            ),
            field(
                "辖区",
                _text_input(
                    "adm-users-edit-jurisdiction", "区划或网格编码", list="adm-users-codes"
                ),
            ),
            html.Div(
                [
                    html.Button("保存角色与辖区", id="adm-users-save", className="gs-admin-button"),
                    html.Button(
                        "停用",
                        id="adm-users-disable",
                        className="gs-admin-button gs-admin-button--danger",
                    ),
                    html.Button(
                        "启用",
                        id="adm-users-enable",
                        className="gs-admin-button gs-admin-button--plain",
                    ),
                ],
                className="gs-admin-actions",
            ),
            field("新密码", _text_input("adm-users-edit-password", kind="password")),
            field("确认新密码", _text_input("adm-users-edit-password2", kind="password")),
            html.Button("重置密码", id="adm-users-reset", className="gs-admin-button"),
            html.Div(id="adm-users-edit-msg", className="gs-admin-msg"),
        ],
        className="gs-admin-card",
    )


def _body(svc: Services, viewer: Viewer) -> list:
    with svc.pool.connection() as conn:
        users_table, options = listing(conn, viewer.scope, svc.settings.tz)
        choices = admin.region_choices(conn, viewer.scope)
    return [
        html.Section(
            [html.H2("账号列表"), html.Div(users_table, id="adm-users-table")],
            className="gs-admin-card gs-admin-wide",
        ),
        html.Div([_create_form(), _edit_form(options)], className="gs-admin-columns"),
        jurisdiction_list("adm-users-codes", choices),
    ]


def layout() -> html.Div:
    return admin_page(PATH, _body)


_CLEAR = ("", "", "", "")  # the four password fields are emptied after every action


def register() -> None:
    """The page's callbacks (called by dashboard/pages/admin_users.py once per app)."""

    @callback(
        Output("adm-users-create-msg", "children"),
        Output("adm-users-edit-msg", "children"),
        Output("adm-users-table", "children"),
        Output("adm-users-target", "options"),
        Output("adm-users-password", "value"),
        Output("adm-users-password2", "value"),
        Output("adm-users-edit-password", "value"),
        Output("adm-users-edit-password2", "value"),
        Input("adm-users-create", "n_clicks"),
        *[Input(f"adm-users-{a}", "n_clicks") for a in EDIT_ACTIONS],
        State("adm-users-username", "value"),
        State("adm-users-name", "value"),
        State("adm-users-role", "value"),
        State("adm-users-jurisdiction", "value"),
        State("adm-users-password", "value"),
        State("adm-users-password2", "value"),
        State("adm-users-target", "value"),
        State("adm-users-edit-role", "value"),
        State("adm-users-edit-jurisdiction", "value"),
        State("adm-users-edit-password", "value"),
        State("adm-users-edit-password2", "value"),
        prevent_initial_call=True,
    )
    def apply(*args: Any) -> tuple:
        keys = (
            "username",
            "display_name",
            "role",
            "jurisdiction",
            "password",
            "password2",
            "target",
            "edit_role",
            "edit_jurisdiction",
            "edit_password",
            "edit_password2",
        )
        form = dict(zip(keys, args[1 + len(EDIT_ACTIONS) :], strict=True))
        return users_action(ctx.triggered_id, form)

    @callback(
        Output("adm-users-edit-role", "value"),
        Output("adm-users-edit-jurisdiction", "value"),
        Output("adm-users-target-state", "children"),
        Input("adm-users-target", "value"),
        prevent_initial_call=True,
    )
    def pick(target: Any) -> tuple:
        return target_fields(target)


def users_action(trigger: Any, form: dict[str, Any]) -> tuple:
    """The outputs of the page's one change callback for the button ``trigger`` (a component
    id) and the form values, whatever their types."""
    acting_now = acting()
    if acting_now is None:
        return (notice(False, DENIED), no_update, no_update, no_update, *_CLEAR)
    svc, actor = acting_now
    if trigger == "adm-users-create":
        ok, message = create_user(svc, actor, form)
        create_msg, edit_msg = notice(ok, message), no_update
    elif isinstance(trigger, str) and trigger.removeprefix("adm-users-") in EDIT_ACTIONS:
        ok, message = edit_user(svc, actor, trigger.removeprefix("adm-users-"), form)
        create_msg, edit_msg = no_update, notice(ok, message)
    else:
        return (no_update,) * 8
    try:
        with svc.pool.connection() as conn:
            users_table, options = listing(conn, actor.scope, svc.settings.tz)
    except psycopg.Error:
        log.exception("admin: listing accounts failed")
        users_table, options = no_update, no_update
    return (create_msg, edit_msg, users_table, options, *_CLEAR)


def target_fields(target: Any) -> tuple:
    """(role, jurisdiction, state text) of the picked account, for the edit form."""
    acting_now = acting()
    if acting_now is None or not isinstance(target, str) or not target:
        return no_update, no_update, ""
    svc, actor = acting_now
    try:
        with svc.pool.connection() as conn:
            row = admin.find_user(conn, actor, target)
    except (admin.AdminError, psycopg.Error):
        return no_update, no_update, ""
    state = "启用" if row.active else "停用"
    login = when(row.last_login_at, svc.settings.tz)
    return (
        row.role,
        row.jurisdiction,
        f"当前：{policy(row.role).name_zh} · {state} · 最近登录 {login}",
    )
