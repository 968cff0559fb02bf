"""Initial schema: territory, staff, item list, partitioned tickets, events, positions, rollups.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from queries.migrations import apply_sql, forward_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
