"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from queries.migrations import apply_sql, forward_only

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_sql(__file__)  # the .sql file of the same name


def downgrade() -> None:
    forward_only()
