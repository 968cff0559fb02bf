"""A stored anchor point per grid (heat layer) and an open-ticket index keyed on the warning
instant (overdue layer).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from queries.migrations import apply_sql, forward_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
