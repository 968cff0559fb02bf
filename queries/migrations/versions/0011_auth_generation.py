"""The auth generation (issue #10): a sequence moved by triggers whenever an account or a
wall link changes in a way that can end or narrow a session, so that a process may keep a
verified principal for a wall's feed polls and drop it as soon as the generation moves.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from queries.migrations import apply_sql, forward_only

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
