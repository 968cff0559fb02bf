"""Onboarding a real town (issue #13): departments as a tree with the categories each may lead
or assist, staff with start and end dates and assignment history that cannot overlap, micro-grid
household groups, boundary versions that carry their decision, the item list's decisions
(admit, amend, withdraw with decision number and effective date) and confirmed calendar years.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from queries.migrations import apply_sql, forward_only

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
