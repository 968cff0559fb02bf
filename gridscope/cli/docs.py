"""`gridscope docs access`: write docs/access.md from the policy (``domain.access.POLICY``) and
what surrounds it: field tiers and their masking (``domain.masking``), sensitive categories,
jurisdictions and the deployment bound, the routes the access gate leaves open, wall links,
exports, the audit trail's actions and the access settings.

``access_markdown()`` is the text; tests/unit/test_access_doc.py fails when docs/access.md
differs from it, so a policy change lands with its documentation (run the command, commit).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import main

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "access.md"

TIER_TEXT = {
    1: "公开汇总数据（public aggregates）：大屏唯一不脱敏展示的内容",
    2: "内部业务数据（internal operations）：事件、网格、统计",
    3: "个人信息（personal data）：姓名、电话、地址、居民上报的精确位置",
    4: "敏感个人信息（sensitive personal data）：身份证号、特殊人群、网格员精确位置与轨迹",
}

ACTION_TEXT = {
    "export": "导出数据（CSV、Excel） / download data from a page",
    "read_tracks": "查看网格员实时位置、所属网格与当日轨迹（L4，留痕） / a worker's track",
    "exact_points": "事件以精确点位显示（否则按网格计数） / report locations as points",
    "write_tickets": "API 令牌写入事件、流转、位置 / API tokens: write tickets and positions",
    "administer": "用户、大屏链接、审计日志管理 / users, wall links, the audit trail",
}

# Every action the audit trail records. tests/unit/test_access_doc.py scans the code for the
# action names it passes and fails when one is missing here.
AUDIT_ACTIONS = {
    "login": "登录成功 / signed in",
    "login_failure": "登录失败（用户名或密码错误，或账号不在本部署辖区内） / sign-in refused",
    "login_locked": "账号锁定期间尝试登录 / sign-in while locked out",
    "logout": "退出登录 / signed out",
    "wall_open": "大屏链接开启大屏会话 / a wall link opened a wall session",
    "wall_link_invalid": "无效或已撤销的大屏链接 / an unknown or revoked wall link",
    "export": "导出数据，含被拒绝的导出（outcome=refused） / an export, also when refused",
    "card_read": "网格信息卡显示未脱敏的网格人员姓名电话（L3） / a grid card, staff unmasked",
    "track_read": "读取网格员位置与当日轨迹（L4） / a worker's position and track",
    "api_ticket_read": "API 读取单件事件的个人信息字段（L3） / API: one ticket's personal fields",
    "api_ticket_list": "API 列表中返回精确位置（L3） / API: exact points in a list",
    "explore_ticket_read": "事件分析页打开单件事件，显示地址或精确位置（L3） / the workbench"
    " drawer showed a ticket's personal fields",
    "analytics_export": "态势分析页导出表格（CSV/xlsx） / a table of /analytics exported",
    "analytics_report": "生成月度运行分析报告（页面下载或命令行） / a situation report made",
    "user_add": "新建用户 / account created",
    "user_passwd": "修改密码 / password changed",
    "user_enable": "启用用户 / account enabled",
    "user_disable": "停用用户 / account disabled",
    "user_role": "修改角色或辖区 / role or jurisdiction changed",
    "wall_create": "新建大屏链接 / wall link created",
    "wall_revoke": "撤销大屏链接 / wall link revoked",
    "wall_playlist": "修改大屏链接的轮播设置（含原值与新值） / a wall link's rotation changed",
    "demo_account": "演示账号创建或重置 / demo account created or reset",
    "audit_search": "查询审计日志 / the audit trail searched",
    "audit_purge": "按保留期清理审计记录 / audit rows past retention purged",
    "ticket_import": "导入事件文件 / tickets imported from a file",
    "grid_import": "导入网格边界（含调整决定文号与生效日期） / grids imported (boundary decision)",
    "micro_grid_import": "导入微网格 / micro-grids imported",
    "staff_import": "导入网格人员及其网格分配 / staff and assignments imported",
    "department_import": "导入部门及其牵头/协办事项 / departments imported",
    "item_admit": "事项纳入清单（决定文号、生效日期） / an item admitted to the list",
    "item_amend": "调整清单事项 / an item of the list amended",
    "item_withdraw": "事项退出清单 / an item withdrawn from the list",
    "item_refused": "拒绝纳入行政许可、处罚、强制事项 / an item refused by the guard",
    "calendar_change": "修改工作日历（节假日、调休），重算在办事件期限 / calendar days changed",
    "calendar_confirm": "确认年度工作日历 / a calendar year confirmed",
}

# (field, sample value) for the masking examples.
SAMPLES = {
    "staff.name": "张三丰",
    "staff.phone": "13812341234",
    "ticket.address": "嘉兴市南湖区建设街道勤俭路12号3幢201室",
    "ticket.reporter_name": "李四",
    "ticket.reporter_phone": "0573-82345678",
    "person.id_number": "330402199001011234",
}

ACCESS_SETTINGS = (
    "jurisdiction",
    "secret_key",
    "session_cookie_secure",
    "session_hours",
    "wall_session_days",
    "login_rate",
    "lockout_after",
    "lockout_minutes",
    "demo_mode",
    "audit_retention_days",
    "track_retention_days",
    "heat_min_k",
    "point_tolerance_m",
    "max_body_bytes",
    "frame_ancestors",
)

# (deployment bound, account jurisdiction) pairs shown with their effective scope.
SCOPE_EXAMPLES = (
    ("", "330402007"),
    ("3304", "330402007"),
    ("330402007024", "330402007"),
    ("330402", "330411"),
)


def _code(value: object) -> str:
    return f"`{value}`"


def _list(values) -> str:
    return ", ".join(_code(v) for v in values) or "—"


def _roles_table() -> list[str]:
    from domain.access import LAYER_IDS, PAGES, POLICY, Action

    lines = [
        "| role | 名称 | tier | pages | layers | actions |",
        "|---|---|---|---|---|---|",
    ]
    for p in POLICY.values():
        pages = [x.path for x in PAGES if x.path in p.pages]
        layers = [x for x in LAYER_IDS if x in p.layers]
        actions = [a.value for a in Action if a in p.actions]
        lines.append(
            f"| `{p.role.value}` | {p.name_zh} | L{int(p.tier)} | {_list(pages)} "
            f"| {_list(layers)} | {_list(actions)} |"
        )
    lines.append("")
    lines += [f"- `{p.role.value}`：{p.description_zh}" for p in POLICY.values()]
    return lines


def _pages_and_actions() -> list[str]:
    from domain.access import PAGES, POLICY, Action

    lines = ["| page | 名称 | roles |", "|---|---|---|"]
    for page in PAGES:
        roles = [r.value for r, p in POLICY.items() if page.path in p.pages]
        lines.append(f"| `{page.path}` | {page.name_zh} | {_list(roles)} |")
    lines += ["", "| action | meaning | roles |", "|---|---|---|"]
    for action in Action:
        roles = [r.value for r, p in POLICY.items() if action in p.actions]
        lines.append(f"| `{action.value}` | {ACTION_TEXT[action.value]} | {_list(roles)} |")
    return lines


def _fields() -> list[str]:
    from domain.access import FIELD_TIERS, POLICY, SENSITIVE_CATEGORY_PREFIXES, Tier
    from domain.masking import mask

    lines = ["| tier | meaning | roles at this tier |", "|---|---|---|"]
    for tier in Tier:
        roles = [r.value for r, p in POLICY.items() if p.tier == tier]
        lines.append(f"| L{int(tier)} | {TIER_TEXT[int(tier)]} | {_list(roles)} |")
    lines += [
        "",
        "A field of tier T is shown as it is to a role of tier ≥ T and masked (or left out) for",
        "every other role; anything not listed is L2 at most.",
        "",
        "| field | tier | unmasked for | below its tier (example) |",
        "|---|---|---|---|",
    ]
    for name, tier in FIELD_TIERS.items():
        roles = [r.value for r, p in POLICY.items() if p.tier >= tier]
        if name in SAMPLES:
            shown = mask(name, SAMPLES[name], Tier.L1)
            example = f"`{SAMPLES[name]}` → `{shown}`"
        else:
            example = "left out (maps show counts per grid) / 不显示（按网格计数）"
        lines.append(f"| `{name}` | L{int(tier)} | {_list(roles)} | {example} |")
    lines += [
        "",
        f"Sensitive categories (codes starting with {_list(SENSITIVE_CATEGORY_PREFIXES)}: 0702",
        "special populations, 05xx disputes) appear on maps only as counts per grid, for every",
        "role, whatever its tier.",
    ]
    return lines


def _jurisdictions() -> list[str]:
    from queries.scope import Scope, bounded_scope

    lines = [
        "Every user account, wall link and API token carries a jurisdiction: a region or grid",
        "code prefix. The setting `jurisdiction` (`GRIDSCOPE_JURISDICTION`) is the upper bound of",
        "the whole deployment. A request's scope is the narrower of the two, taken from the",
        "server-side session on every request (never from the browser); when the two do not",
        "overlap the account cannot sign in. Cache keys carry the scope.",
        "",
        "| deployment bound | account jurisdiction | effective scope |",
        "|---|---|---|",
    ]
    for bound, own in SCOPE_EXAMPLES:
        scope = bounded_scope(Scope(bound), own)
        eff = "refused (no overlap)" if scope is None else _code(scope.prefix or "(all)")
        lines.append(f"| {_code(bound or '(all)')} | `{own}` | {eff} |")
    return lines


def _gate_and_walls() -> list[str]:
    from gridscope.auth.callbacks import COMPONENT_PAGES
    from gridscope.auth.gate import OPEN_PATHS, OPEN_PREFIXES
    from gridscope.auth.principals import WALL_TOUCH_S
    from gridscope.auth.walls import LAYOUTS

    lines = [
        "A session is Flask's signed cookie `gridscope_session` (HttpOnly, SameSite=Lax, Secure",
        "when `session_cookie_secure`) holding only the session id and its expiry: role and",
        "jurisdiction are read again on every request, so a role change, a disabled account, a",
        "new password or a revoked wall link takes effect on the next request. The one",
        "exception is a screen's feed polls (`GET /feed/*`, hundreds a second from a city's",
        "walls): a process may reuse the principal it verified for that session in the last 30",
        "s while the **auth generation** has not moved. That counter (table `auth_generation`,",
        "migration 0011) is moved by triggers, in the same transaction, by every change that",
        "can end or narrow a session (an account's role, jurisdiction, active flag, password or",
        "epoch; a wall link's revocation, jurisdiction or layout; deleting either), and each",
        "process re-reads it on the primary about once a second (`version_poll_ms`). A",
        "revocation therefore stops a wall's feeds within about a second, and its pages and",
        "callbacks at once. Sign-in needs the",
        "form's CSRF token, is rate limited per client address (`login_rate`), and",
        "`lockout_after` failures in a row lock the account name for `lockout_minutes` (Redis).",
        "",
        f"Open to anyone: {_list(sorted(OPEN_PATHS))}",
        f"and everything under {_list(OPEN_PREFIXES)} (the API checks its own bearer tokens).",
        "Everything else needs a session: a page asked for by a browser redirects to `/login`;",
        "callbacks, `/geo/*` and exports answer 401. A page the role may not open answers 403,",
        "and so does a callback whose outputs belong to such a page. A callback's page is read",
        "from its output ids:",
        "",
        "| component id prefix | page |",
        "|---|---|",
    ]
    for prefix, page in COMPONENT_PAGES.items():
        lines.append(f"| `{prefix}` | {_code(page) if page else 'the page it renders'} |")
    lines += [
        "",
        "## Wall links",
        "",
        "A wall cannot type a password. An administrator creates a link bound to a jurisdiction",
        'and a layout (`gridscope wall create --jurisdiction 330402007 --name "XX镇指挥中心"`, or',
        "`/admin/walls`). `/wall/gw_<prefix>_<secret>` opens a wall session (role `wall`, tier L2)",
        "and redirects to `/screen`, so the address bar no longer carries the secret; only the",
        "secret's SHA-256 is stored. A revoked link ends its sessions on the next request. The",
        f"list shows each wall's last refresh (written at most every {WALL_TOUCH_S} s).",
        "",
        "| layout | 说明 |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in LAYOUTS.items()]
    return lines


def _exports() -> list[str]:
    from dashboard.export import HEADER
    from domain.access import POLICY, Action
    from queries.export import WINDOWS

    roles = [r.value for r, p in POLICY.items() if Action.EXPORT in p.actions]
    return [
        f"`GET /export/grids.csv?window={'|'.join(WINDOWS)}`: one row per grid in the caller's",
        "jurisdiction, UTF-8 with a byte-order mark (Excel); an unknown window answers 400.",
        "Columns: " + "、".join(HEADER) + ".",
        "The grid chief's name and phone are masked below L3.",
        f"Roles with `export`: {_list(roles)}; others get 403.",
        "Every export, and every refused one, is audited.",
        "",
        "The workbench (`/explore`) exports its filtered tickets as CSV or Excel (xlsx, with a",
        "sheet of the filters used and the time of export) through a background job: the page",
        "shows its progress and then links `GET /export/tickets/<job>`, which answers only the",
        "user who started it, for an hour. Addresses are cut to road level and exact points left",
        "out below L3; the audit row (object `tickets.csv` or `tickets.xlsx`) carries the count",
        "and the view's query string.",
    ]


def _audit_and_settings() -> list[str]:
    from domain.config import ENV_PREFIX, Settings

    lines = [
        "Table `audit_event`, append-only (a trigger refuses UPDATE and DELETE except the",
        "retention purge): who (kind, id, name), role, jurisdiction, action, object, object ids,",
        "count, tier, outcome, client address, time, detail. Rows are written in the request",
        "that did the act, never through log levels. Search: `/admin/audit` or",
        "`gridscope audit search`; rows older than `audit_retention_days` are purged daily.",
        "",
        "| action | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in AUDIT_ACTIONS.items()]
    lines += ["", "## Settings", "", "| setting | env | default | meaning |", "|---|---|---|---|"]
    for name in ACCESS_SETTINGS:
        field = Settings.model_fields[name]
        default = field.default
        if hasattr(default, "get_secret_value"):
            default = default.get_secret_value()
        shown = "(empty)" if default in ("", None) else default
        env = ENV_PREFIX + name.upper()
        lines.append(f"| `{name}` | `{env}` | `{shown}` | {field.description} |")
    return lines


def access_markdown() -> str:
    """The text of docs/access.md."""
    parts = [
        "# Access: roles, data tiers, jurisdictions, audit",
        "",
        "<!-- Generated by `gridscope docs access` from domain/access.py; do not edit by hand.",
        "     tests/unit/test_access_doc.py fails when this file differs from the policy. -->",
        "",
        "Who may see and do what (DOMAIN.md §7; ZJ 41–42, PY 20, JX 13). Every check in the code",
        "asks `domain.access`; every personal field goes through `domain.masking`.",
        "",
        "## Roles",
        "",
        *_roles_table(),
        "",
        "## Pages and actions",
        "",
        *_pages_and_actions(),
        "",
        "## Data tiers and personal fields",
        "",
        *_fields(),
        "",
        "## Jurisdictions",
        "",
        *_jurisdictions(),
        "",
        "## Sessions and the access gate",
        "",
        *_gate_and_walls(),
        "",
        "## Exports",
        "",
        *_exports(),
        "",
        "## Audit trail",
        "",
        *_audit_and_settings(),
    ]
    return "\n".join(parts) + "\n"


@main.group()
def docs() -> None:
    """Documentation generated from the code."""


@docs.command("access")
@click.option("--check", is_flag=True, help="Exit 1 when the file differs; write nothing.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=DOC_PATH)
def docs_access(check: bool, output: Path) -> None:
    """Write docs/access.md from the policy table (domain/access.py)."""
    text = access_markdown()
    current = output.read_text(encoding="utf-8") if output.exists() else ""
    if check:
        if current != text:
            click.echo(f"{output} is out of date: run `gridscope docs access`", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")
