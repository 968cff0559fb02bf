"""Schema migrations through Alembic, and the check that refuses a database from the future."""

from __future__ import annotations

from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from domain.config import Settings

from .db import DatabaseUnavailable, connect

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaMismatch(RuntimeError):
    """The database schema is not the one this version of gridscope runs on."""


def _sqlalchemy_url(database_url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(settings.database_url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")  # a packaging error, not a user error
    return head


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def current_revision(conn: psycopg.Connection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    row = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def check_schema(conn: psycopg.Connection) -> None:
    """Raise SchemaMismatch unless the database is at this code's head revision."""
    current = current_revision(conn)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaMismatch("the database has no gridscope schema: run `gridscope db migrate`")
    if current not in known_revisions():
        raise SchemaMismatch(
            f"the database was migrated by a newer gridscope (schema revision {current}; this "
            f"version knows up to {head}): upgrade gridscope, do not run it against this database"
        )
    raise SchemaMismatch(
        f"the database schema is at revision {current}, this version needs {head}: "
        "run `gridscope db migrate`"
    )


def upgrade(settings: Settings) -> tuple[str | None, str]:
    """Apply pending migrations (idempotent). Returns (revision before, revision after)."""
    with connect(settings) as conn:
        before = current_revision(conn)
        if before is not None and before not in known_revisions():
            check_schema(conn)  # raises: newer than this code
    command.upgrade(alembic_config(settings), "head")
    with connect(settings) as conn:
        after = current_revision(conn)
    return before, after or ""


def ensure_database(settings: Settings) -> bool:
    """Create the configured database when the server has none by that name. True if created."""
    from urllib.parse import urlsplit

    from psycopg import sql

    name = urlsplit(settings.database_url).path.lstrip("/") or "postgres"
    try:
        with connect(settings, autocommit=True, dbname="postgres") as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f"cannot create database {name!r}: {exc}".splitlines()[0]
        ) from None
