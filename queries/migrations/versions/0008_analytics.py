"""Situation analytics for leadership (issue #12): survey records, per-department, per-worker and
patrol rollups, and the index that counts the tickets open past their due time at any instant.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from pathlib import Path

from queries.migrations import apply_sql, forward_only

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)
    # Parts written alongside (0008_analytics_<topic>.sql), in name order.
    for part in sorted(Path(__file__).parent.glob("0008_analytics_*.sql")):
        apply_sql(str(part.with_suffix(".py")))


def downgrade() -> None:
    forward_only()
