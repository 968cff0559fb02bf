"""Alembic migrations: each version is a .sql file beside a small .py that applies it."""

from pathlib import Path


def apply_sql(version_file: str) -> None:
    """Execute the .sql file that shares ``version_file``'s name (inside Alembic's transaction)."""
    from alembic import op

    op.execute(Path(version_file).with_suffix(".sql").read_text(encoding="utf-8"))


def forward_only() -> None:
    raise NotImplementedError("gridscope migrations are forward-only")
