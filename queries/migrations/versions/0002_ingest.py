"""Ingest: API tokens, external ids and idempotency keys, import runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from pathlib import Path

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute((Path(__file__).with_suffix(".sql")).read_text(encoding="utf-8"))


def downgrade() -> None:
    raise NotImplementedError("gridscope migrations are forward-only")
