"""Coarse rollups for the rankings and satisfaction panels of /analytics (issue #12): the
department tasks per day, town or county and department (from stat_task_daily), and the surveys
per local day, town or county, channel, category and result (from survey), kept by statement
triggers and filled from the rows already there; covering indexes for the rankings' other
reads (the community sums, the departments' stock at a period's end).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from queries.migrations import apply_sql, forward_only

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _session_zone() -> None:
    """Survey days are local days: the backfill counts them in settings.timezone, which a
    gridscope session sets (queries/db.py) but Alembic's connection does not."""
    from alembic import op
    from sqlalchemy import text

    from domain.config import load_settings

    try:
        zone = load_settings().timezone
    except ValueError:  # settings that do not load: the server's TimeZone (a rebuild corrects)
        return
    op.execute(
        text(
            "SELECT set_config('gridscope.timezone', :zone, true)"
            " WHERE coalesce(current_setting('gridscope.timezone', true), '') = ''"
        ).bindparams(zone=zone)
    )


def upgrade() -> None:
    _session_zone()
    apply_sql(__file__)


def downgrade() -> None:
    forward_only()
