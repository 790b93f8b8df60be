"""supervision and admin

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The audit log page filters the event log by who did it and by time.
    op.create_index("ix_event_log_actor_id_id", "event_log", ["actor_id", "id"])
    op.create_index("ix_event_log_ts", "event_log", ["ts"])


def downgrade() -> None:
    op.drop_index("ix_event_log_ts", table_name="event_log")
    op.drop_index("ix_event_log_actor_id_id", table_name="event_log")
