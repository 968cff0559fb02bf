"""Schema migrations and the CLI's behaviour on bad input, against the real server."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from queries.db import connect
from queries.migrate import SchemaMismatch, check_schema, head_revision, upgrade

GS = str(Path(sys.executable).with_name("gridscope"))


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([GS, *args], capture_output=True, text=True, env=full_env, timeout=120)


def test_migrate_is_idempotent_and_creates_postgis_schema(fresh_db):
    before, after = upgrade(fresh_db)
    assert before == after == head_revision()
    with connect(fresh_db) as conn:
        check_schema(conn)
        kinds = dict(
            conn.execute(
                "SELECT c.relname, c.relkind FROM pg_class c WHERE c.relname IN"
                " ('ticket', 'ticket_default', 'grid', 'stat_daily')"
            ).fetchall()
        )
        assert kinds["ticket"] == "p"  # partitioned
        assert conn.execute("SELECT postgis_version()").fetchone()[0].startswith("3")
        idx = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN"
                " ('grid', 'ticket', 'ticket_event', 'worker_position')"
            )
        }
        assert "USING gist" in idx["grid_geom"]
        assert "USING brin" in idx["ticket_created_brin"]
        assert "WHERE" in idx["ticket_open"]  # partial index for open tickets


def test_cli_migrate_twice(fresh_db):
    env = {"DATABASE_URL": fresh_db.database_url}
    first = run_cli("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "already at revision" in first.stdout


def test_database_from_a_newer_version_is_refused(fresh_db):
    with connect(fresh_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
        conn.commit()
        with pytest.raises(SchemaMismatch, match="newer gridscope"):
            check_schema(conn)
    res = run_cli("serve", "--port", "8999", env={"DATABASE_URL": fresh_db.database_url})
    assert res.returncode == 1
    assert "newer gridscope" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("db", "migrate", env={"DATABASE_URL": fresh_db.database_url})
    assert res.returncode == 1 and "newer gridscope" in res.stderr


def test_unreachable_database_is_one_line_with_password_hidden():
    res = run_cli(
        "db", "migrate", env={"DATABASE_URL": "postgresql://gs:hunter2@127.0.0.1:1/gridscope"}
    )
    assert res.returncode == 1
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "postgresql://gs:***@127.0.0.1:1/gridscope" in lines[0]
    assert "hunter2" not in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "load", "--size", "huge"),
        ("demo", "load", "--seed", "-1"),
        ("demo", "load", "--seed", "abc"),
        ("demo", "live", "--rate", "-5"),
        ("serve", "--port", "70000"),
        ("db", "nonsense"),
    ],
)
def test_wrong_cli_options_exit_2_with_a_message(args):
    res = run_cli(*args)
    assert res.returncode == 2
    assert "Error" in res.stderr and "Traceback" not in res.stderr


def test_unknown_setting_exits_2():
    res = run_cli("db", "check", env={"GRIDSCOPE_TIMEZON": "UTC"})
    assert res.returncode == 2 and "GRIDSCOPE_TIMEZON" in res.stderr


def test_unmigrated_database_is_refused_by_check(fresh_db):
    name = fresh_db.database_url.rsplit("/", 1)[1] + "_empty"
    admin = psycopg.connect(fresh_db.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        res = run_cli(
            "db",
            "check",
            env={"DATABASE_URL": fresh_db.database_url.rsplit("/", 1)[0] + "/" + name},
        )
        assert res.returncode == 1 and "gridscope db migrate" in res.stderr
    finally:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()
