"""Who is asking: user accounts, wall links, the append-only audit trail, and a role on API
tokens (issue #9).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from queries.migrations import apply_sql, forward_only

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
