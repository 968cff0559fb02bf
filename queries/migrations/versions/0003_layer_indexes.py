"""Covering indexes for the heat and overdue layers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from pathlib import Path

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute((Path(__file__).with_suffix(".sql")).read_text(encoding="utf-8"))


def downgrade() -> None:
    raise NotImplementedError("gridscope migrations are forward-only")
