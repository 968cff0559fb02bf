"""A wall link's own rotation (playlist, issue #10): empty = the setting ``wall_playlist``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from queries.migrations import apply_sql, forward_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
