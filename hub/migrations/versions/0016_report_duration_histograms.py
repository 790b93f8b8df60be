"""report duration histograms

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRICS = ("fat", "frt", "res", "handle", "aban")
COUNTS = (
    *("conversations", "inbound", "outbound", "agent_replies", "resolved", "reopened", "transfers"),
    *("surveys_sent", "abandoned", "abandoned_late", "offers", "offers_missed", "handled"),
)
SECONDS = ("handle_s", "busy_s", "signed_in_s", "available_s", "busy_state_s", "away_s", "wrap_up_s")


def upgrade() -> None:
    # Each duration's count and sums per slot row (averages without reading samples),
    # and its samples counted per day and log-spaced bucket (percentiles of long ranges).
    op.create_table(
        "report_histogram",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("metric", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_bh", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("metric", "team_id", "channel", "day", "bucket", name="uq_report_histogram_key"),
    )
    with op.batch_alter_table("report_slot", schema=None) as batch_op:
        for m in METRICS:
            batch_op.add_column(sa.Column(f"{m}_count", sa.Integer(), nullable=False, server_default="0"))
            batch_op.add_column(sa.Column(f"{m}_sum", sa.Float(), nullable=False, server_default="0"))
            batch_op.add_column(sa.Column(f"{m}_bh_sum", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("answered_in_sl", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("first_contact", sa.Integer(), nullable=False, server_default="0"))
    # report_slot's figures per UTC day × team × channel (long ranges read whole days).
    op.create_table(
        "report_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
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
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day", "team_id", "channel", name="uq_report_day_key"),
    )
    with op.batch_alter_table("report_sample", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bucket", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("bh_bucket", sa.Integer(), nullable=False, server_default="0"))
    # The new columns come from the whole event log: fold it again on the next start
    # (the same path as `switchboard reports rebuild`; docs/reports.md).
    op.execute("UPDATE projection_checkpoint SET rebuild_cursor = 0 WHERE name = 'reports'")


def downgrade() -> None:
    with op.batch_alter_table("report_sample", schema=None) as batch_op:
        batch_op.drop_column("bh_bucket")
        batch_op.drop_column("bucket")
    with op.batch_alter_table("report_slot", schema=None) as batch_op:
        batch_op.drop_column("first_contact")
        batch_op.drop_column("answered_in_sl")
        for m in reversed(METRICS):
            batch_op.drop_column(f"{m}_bh_sum")
            batch_op.drop_column(f"{m}_sum")
            batch_op.drop_column(f"{m}_count")
    op.drop_table("report_day")
    op.drop_table("report_histogram")
