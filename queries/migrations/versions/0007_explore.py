"""The analyst workbench (issue #11): the source system's own classification on tickets, the
lead department on the ticket, per-user saved views, and the index the workbench reads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from queries.migrations import apply_sql, forward_only

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
