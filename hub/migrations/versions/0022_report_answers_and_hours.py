"""report survey answers folded, report_hour

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRICS = ("fat", "frt", "res", "handle", "aban")
COUNTS = (
    *("conversations", "inbound", "outbound", "agent_replies", "resolved", "reopened", "transfers"),
    *("surveys_sent", "abandoned", "abandoned_late", "offers", "offers_missed", "handled"),
)
SECONDS = ("handle_s", "busy_s", "signed_in_s", "available_s", "busy_state_s", "away_s", "wrap_up_s")
ANSWERS = (
    *("csat_count", "csat_sum", "csat_satisfied", "nps_count", "nps_promoters", "nps_detractors"),
    *("ces_count", "ces_sum"),
)


def upgrade() -> None:
    # Survey answers folded into the rollups (reports no longer read survey_request for
    # their figures), in report_slot and report_day alike.
    for table in ("report_slot", "report_day"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for c in ANSWERS:
                batch_op.add_column(sa.Column(c, sa.Integer(), nullable=False, server_default="0"))
    # The same figures per UTC hour × team × channel: time series in whole-hour zones.
    op.create_table(
        "report_hour",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in COUNTS),
        *(sa.Column(c, sa.Float(), nullable=False) for c in SECONDS),
        *(
            sa.Column(f"{m}_{x}", sa.Integer() if x == "count" else sa.Float(), nullable=False)
            for m in METRICS
            for x in ("count", "sum", "bh_sum")
        ),
        sa.Column("answered_in_sl", sa.Integer(), nullable=False),
        sa.Column("first_contact", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.Integer(), nullable=False) for c in ANSWERS),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hour", "team_id", "channel", name="uq_report_hour_key"),
    )
    # The answers and the hours come from the whole event log: fold it again on the next
    # start (the same path as `switchboard reports rebuild`; docs/reports.md), as 0016 did.
    op.execute("UPDATE projection_checkpoint SET rebuild_cursor = 0 WHERE name = 'reports'")


def downgrade() -> None:
    op.drop_table("report_hour")
    for table in ("report_day", "report_slot"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for c in reversed(ANSWERS):
                batch_op.drop_column(c)
