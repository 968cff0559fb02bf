"""Covering indexes for the heat and overdue layers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from queries.migrations import apply_sql, forward_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
