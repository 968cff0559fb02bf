"""Ingest: API tokens, external ids and idempotency keys, import runs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from queries.migrations import apply_sql, forward_only

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
