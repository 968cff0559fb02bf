"""`gridscope user|wall|audit` and the retention purges of `sweep`, against a private copy of the
small demo: every change lands with its audit row, refusals change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from gridscope.auth.passwords import DEMO_PASSWORDS, verify
from gridscope.auth.walls import secret_hash
from gridscope.cli import main as cli
from queries import accounts, audit
from queries.audit import AuditEvent
from queries.db import connect
from queries.scope import WHOLE
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

GOOD = "Kx7-harbour-lamp"
TOWN = "330402007"  # 建设街道, the small demo's town


def run(settings, *args: str, input: str | None = None, **env: str):
    environ = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
        "USER": "ops-tester",
        **env,
    }
    return CliRunner().invoke(cli, list(args), input=input, env=environ)


def audit_rows(settings, action: str) -> list[dict]:
    with connect(settings) as conn:
        return audit.search(conn, WHOLE, action=action, limit=500)


def user(settings, name: str) -> accounts.UserRow | None:
    with connect(settings) as conn:
        return accounts.user_by_name(conn, name)


def test_user_add_list_passwd_disable_enable_role(demo_db):
    res = run(
        demo_db,
        "user", "add", "zhang.san", "--role", "analyst", "--jurisdiction", TOWN,
        "--name", "张三", "--password-stdin",
        input=GOOD + "\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    row = user(demo_db, "zhang.san")
    assert row and row.role == "analyst" and row.jurisdiction == TOWN and row.active
    assert row.display_name == "张三" and verify(row.password_hash, GOOD)
    (added,) = audit_rows(demo_db, "user_add")
    assert added["actor_kind"] == "cli" and added["actor_name"] == "ops-tester"
    assert added["jurisdiction"] == TOWN and added["object_ids"] == [str(row.id)]
    assert added["at"] == DEMO_NOW  # the command's clock, not the database's

    listing = run(demo_db, "user", "list")
    assert listing.exit_code == 0 and "zhang.san" in listing.output and TOWN in listing.output

    res = run(demo_db, "user", "passwd", "zhang.san", "--password-stdin", input="Other-lamp-92\n")
    assert res.exit_code == 0, res.output
    after = user(demo_db, "zhang.san")
    assert after and verify(after.password_hash, "Other-lamp-92")
    assert after.session_epoch == row.session_epoch + 1  # open sessions end
    assert len(audit_rows(demo_db, "user_passwd")) == 1

    assert run(demo_db, "user", "disable", "zhang.san").exit_code == 0
    assert not user(demo_db, "zhang.san").active
    assert "already disabled" in run(demo_db, "user", "disable", "zhang.san").output
    assert len(audit_rows(demo_db, "user_disable")) == 1
    assert run(demo_db, "user", "enable", "zhang.san").exit_code == 0
    assert user(demo_db, "zhang.san").active

    res = run(demo_db, "user", "role", "zhang.san", "leader", "--jurisdiction", "330402")
    assert res.exit_code == 0, res.output
    moved = user(demo_db, "zhang.san")
    assert moved.role == "leader" and moved.jurisdiction == "330402"
    (change,) = audit_rows(demo_db, "user_role")
    assert change["detail"]["from"] == {"role": "analyst", "jurisdiction": TOWN}
    assert change["detail"]["to"] == {"role": "leader", "jurisdiction": "330402"}


@pytest.mark.parametrize(
    ("password", "why"),
    [("short1A!", "至少"), ("password123", "常见"), (DEMO_PASSWORDS["admin"], "演示")],
)
def test_weak_password_is_refused_and_nothing_is_written(demo_db, password, why):
    res = run(
        demo_db,
        "user", "add", "weakling", "--role", "leader", "--jurisdiction", TOWN, "--password-stdin",
        input=password + "\n",
    )  # fmt: skip
    assert res.exit_code == 2 and why in res.output, res.output
    assert user(demo_db, "weakling") is None
    assert audit_rows(demo_db, "user_add") == []


def test_demo_password_is_accepted_in_demo_mode_only(demo_db):
    args = ("user", "add", "demo.x", "--role", "leader", "--jurisdiction", TOWN, "--password-stdin")
    pw = DEMO_PASSWORDS["leader"] + "\n"
    assert run(demo_db, *args, input=pw).exit_code == 2
    res = run(demo_db, *args, input=pw, GRIDSCOPE_DEMO_MODE="true")
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--jurisdiction", ""), "--all"),
        (("--jurisdiction", "  "), "--all"),
        ((), "--all"),
        (("--jurisdiction", "999999"), "999999"),
        (("--jurisdiction", "33'04"), "格式"),
        (("--jurisdiction", "3304", "--all"), "not both"),
    ],
)
def test_missing_or_unknown_jurisdiction_is_refused(demo_db, args, message):
    res = run(
        demo_db, "user", "add", "nowhere", "--role", "analyst", *args, "--password-stdin",
        input=GOOD + "\n",
    )  # fmt: skip
    assert res.exit_code == 2 and message in res.output, res.output
    assert user(demo_db, "nowhere") is None


def test_all_gives_the_whole_deployment_and_the_bound_holds(demo_db):
    res = run(
        demo_db, "user", "add", "city.admin", "--role", "admin", "--all", "--password-stdin",
        input=GOOD + "\n",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert user(demo_db, "city.admin").jurisdiction == ""
    # A deployment bounded to the town: a code outside it is refused, --all stays allowed.
    bounded = {"GRIDSCOPE_JURISDICTION": TOWN}
    res = run(
        demo_db, "user", "add", "outside", "--role", "analyst", "--jurisdiction", "330402",
        "--password-stdin", input=GOOD + "\n", **bounded,
    )  # fmt: skip
    assert res.exit_code == 2 and "不在" in res.output
    assert user(demo_db, "outside") is None


def test_bad_usernames_and_duplicates(demo_db):
    base = ("--role", "analyst", "--jurisdiction", TOWN, "--password-stdin")
    res = run(demo_db, "user", "add", "Bad Name!", *base, input=GOOD + "\n")
    assert res.exit_code == 2 and "用户名" in res.output
    assert run(demo_db, "user", "add", "twin", *base, input=GOOD + "\n").exit_code == 0
    res = run(demo_db, "user", "add", "twin", *base, input=GOOD + "\n")
    assert res.exit_code == 1 and "exists" in res.output
    assert run(demo_db, "user", "disable", "ghost").exit_code == 1
    assert len(audit_rows(demo_db, "user_add")) == 1


def test_wall_create_list_revoke(demo_db):
    res = run(demo_db, "wall", "create", "--jurisdiction", TOWN, "--name", "建设街道指挥中心")
    assert res.exit_code == 0, res.output
    path = next(line for line in res.stdout.splitlines() if line.startswith("/wall/gw_"))
    token = path.removeprefix("/wall/")
    assert f"http://127.0.0.1:8050{path}" in res.stdout
    with connect(demo_db) as conn:
        wall = accounts.wall_by_hash(conn, secret_hash(token))
    assert wall and wall.jurisdiction == TOWN and wall.name == "建设街道指挥中心"
    (created,) = audit_rows(demo_db, "wall_create")
    assert created["object_ids"] == [str(wall.id)] and token not in str(created)

    listing = run(demo_db, "wall", "list")
    assert listing.exit_code == 0 and wall.prefix in listing.output and token not in listing.output

    assert run(demo_db, "wall", "revoke", str(wall.id)).exit_code == 0
    with connect(demo_db) as conn:
        assert accounts.wall_by_hash(conn, secret_hash(token)) is None
    assert "already revoked" in run(demo_db, "wall", "revoke", str(wall.id)).output
    assert len(audit_rows(demo_db, "wall_revoke")) == 1
    assert run(demo_db, "wall", "revoke", "9999").exit_code == 1


def test_wall_without_jurisdiction_is_refused(demo_db):
    for code in ("", "999999"):
        res = run(demo_db, "wall", "create", "--jurisdiction", code, "--name", "x")
        assert res.exit_code == 2, res.output
    assert audit_rows(demo_db, "wall_create") == []


def _audit_at(settings, days_ago: int, action: str) -> None:
    with connect(settings) as conn:
        audit.write(conn, AuditEvent("cli", "seed", action), DEMO_NOW - timedelta(days=days_ago))


def test_audit_search_and_purge(demo_db):
    retention = demo_db.audit_retention_days
    _audit_at(demo_db, retention + 10, "old_thing")
    _audit_at(demo_db, 3, "recent_thing")
    res = run(demo_db, "audit", "search", "--action", "recent_thing")
    assert res.exit_code == 0 and "recent_thing" in res.output and "old_thing" not in res.output
    since = (DEMO_NOW - timedelta(days=5)).isoformat()
    res = run(demo_db, "audit", "search", "--since", since, "--actor", "seed")
    assert "recent_thing" in res.output and "old_thing" not in res.output

    res = run(demo_db, "audit", "purge")
    assert res.exit_code == 0 and "1 row(s)" in res.output, res.output
    assert audit_rows(demo_db, "old_thing") == []
    assert len(audit_rows(demo_db, "recent_thing")) == 1
    (purge,) = audit_rows(demo_db, "audit_purge")
    assert purge["count"] == 1 and purge["at"] == DEMO_NOW


def test_sweep_purges_audit_rows_and_tracks_past_retention(demo_db):
    days = demo_db.track_retention_days
    _audit_at(demo_db, demo_db.audit_retention_days + 1, "old_thing")
    with connect(demo_db) as conn:
        staff_id = conn.execute("SELECT min(id) FROM staff").fetchone()[0]
        for age in (days + 2, days + 1, 1):
            conn.execute(
                "INSERT INTO worker_position (staff_id, at, geom)"
                " VALUES (%s, %s, ST_SetSRID(ST_MakePoint(120.75, 30.75), 4326))",
                (staff_id, DEMO_NOW - timedelta(days=age)),
            )
        conn.commit()
        cutoff = DEMO_NOW - timedelta(days=days)
        old_before = conn.execute(
            "SELECT count(*) FROM worker_position WHERE at < %s", (cutoff,)
        ).fetchone()[0]
        kept_before = conn.execute(
            "SELECT count(*) FROM worker_position WHERE at >= %s", (cutoff,)
        ).fetchone()[0]
    res = run(demo_db, "sweep")
    assert res.exit_code == 0, res.output
    assert f"{old_before} worker position(s)" in res.output
    with connect(demo_db) as conn:
        left_old, left_kept = conn.execute(
            "SELECT count(*) FILTER (WHERE at < %(c)s), count(*) FILTER (WHERE at >= %(c)s)"
            " FROM worker_position",
            {"c": cutoff},
        ).fetchone()
    assert left_old == 0 and left_kept == kept_before
    assert audit_rows(demo_db, "old_thing") == []


def test_demo_accounts_are_created_then_reset_with_a_new_wall_link(demo_db):
    first = run(demo_db, "demo", "accounts")
    assert first.exit_code == 0, first.output
    for role, password in DEMO_PASSWORDS.items():
        row = user(demo_db, role)
        assert row and row.role == role and verify(row.password_hash, password), role
        assert row.jurisdiction == (TOWN if role == "leader" else "3304")
        assert password in first.output
    old_link = next(w for w in first.output.split() if "/wall/gw_" in w)
    # Someone changed the demo admin; a second run resets it and replaces the wall link.
    run(demo_db, "user", "disable", "admin")
    again = run(demo_db, "demo", "accounts")
    assert again.exit_code == 0, again.output
    assert user(demo_db, "admin").active
    new_link = next(w for w in again.output.split() if "/wall/gw_" in w)
    assert new_link != old_link
    with connect(demo_db) as conn:
        assert accounts.wall_by_hash(conn, secret_hash(old_link.rsplit("/", 1)[1])) is None
        live = accounts.wall_by_hash(conn, secret_hash(new_link.rsplit("/", 1)[1]))
    assert live and live.jurisdiction == TOWN
    assert len(audit_rows(demo_db, "demo_account")) == 2 * len(DEMO_PASSWORDS)
