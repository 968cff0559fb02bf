"""Indexes for the wall's feeds (issue #10). The ticker: the newest open alerts come
from three short ordered scans (overdue by stage due time, urgent by creation, supervised by
last change) instead of a sort of every open alert in the jurisdiction. The counters: the
open-ticket index carries what their one pass over the open tickets reads.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from queries.migrations import apply_sql, forward_only

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
