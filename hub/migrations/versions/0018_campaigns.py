"""campaigns (issue 17)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ts = hub.models.UTCDateTime


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _str(120), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("kind", _str(10), nullable=False),
        sa.Column("status", _str(12), nullable=False),
        sa.Column("audience_type", _str(10), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("channel", _str(20), nullable=False),
        sa.Column("fallback", sa.JSON(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sender_name", _str(80), nullable=False),
        sa.Column("survey_key", _str(40), nullable=True),
        sa.Column("start_at", _ts(timezone=True), nullable=True),
        sa.Column("local_time", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", _str(5), nullable=True),
        sa.Column("quiet_end", _str(5), nullable=True),
        sa.Column("due_at", _ts(timezone=True), nullable=True),
        sa.Column("freeze_cursor", sa.Integer(), nullable=False),
        sa.Column("frozen_at", _ts(timezone=True), nullable=True),
        sa.Column("started_by", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("tests", sa.Integer(), nullable=False),
        sa.Column("progress_at", _ts(timezone=True), nullable=True),
        sa.Column("created_at", _ts(timezone=True), nullable=False),
        sa.Column("updated_at", _ts(timezone=True), nullable=False),
        sa.Column("started_at", _ts(timezone=True), nullable=True),
        sa.Column("finished_at", _ts(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["segment_id"], ["segment.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["started_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_campaign_team_id"), "campaign", ["team_id"], unique=False)
    op.create_index(op.f("ix_campaign_status"), "campaign", ["status"], unique=False)
    op.create_index(op.f("ix_campaign_due_at"), "campaign", ["due_at"], unique=False)
    op.create_table(
        "campaign_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("channel", _str(20), nullable=False),
        sa.Column("address", _str(320), nullable=False),
        sa.Column("name", _str(200), nullable=False),
        sa.Column("language", _str(10), nullable=False),
        sa.Column("status", _str(10), nullable=False),
        sa.Column("reason", _str(300), nullable=True),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("due_at", _ts(timezone=True), nullable=True),
        sa.Column("locked_until", _ts(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider_id", _str(255), nullable=True),
        sa.Column("coupon", _str(64), nullable=True),
        sa.Column("survey_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _ts(timezone=True), nullable=False),
        sa.Column("updated_at", _ts(timezone=True), nullable=False),
        sa.Column("sent_at", _ts(timezone=True), nullable=True),
        sa.Column("delivered_at", _ts(timezone=True), nullable=True),
        sa.Column("replied_at", _ts(timezone=True), nullable=True),
        sa.Column("opted_out_at", _ts(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_recipient_contact"),
    )
    op.create_index("ix_campaign_recipient_due", "campaign_recipient", ["status", "due_at"], unique=False)
    op.create_index(
        "ix_campaign_recipient_campaign_status", "campaign_recipient", ["campaign_id", "status"], unique=False
    )
    op.create_index(
        "ix_campaign_recipient_contact_sent", "campaign_recipient", ["contact_id", "sent_at"], unique=False
    )
    op.create_index(
        op.f("ix_campaign_recipient_provider_id"), "campaign_recipient", ["provider_id"], unique=False
    )
    op.create_table(
        "campaign_coupon",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("code", _str(64), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("redeemed_at", _ts(timezone=True), nullable=True),
        sa.Column("created_at", _ts(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "code", name="uq_campaign_coupon_code"),
    )
    op.create_index(
        "ix_campaign_coupon_free", "campaign_coupon", ["campaign_id", "recipient_id"], unique=False
    )
    op.create_table(
        "campaign_rate",
        sa.Column("channel", _str(20), nullable=False),
        sa.Column("window", sa.JSON(), nullable=False),
        sa.Column("updated_at", _ts(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel"),
    )
    # A reply to a campaign opens a conversation linked to it (no foreign key: adding
    # one would make SQLite copy the whole conversation table).
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("campaign_id")
    op.drop_table("campaign_rate")
    op.drop_index("ix_campaign_coupon_free", table_name="campaign_coupon")
    op.drop_table("campaign_coupon")
    op.drop_index(op.f("ix_campaign_recipient_provider_id"), table_name="campaign_recipient")
    op.drop_index("ix_campaign_recipient_contact_sent", table_name="campaign_recipient")
    op.drop_index("ix_campaign_recipient_campaign_status", table_name="campaign_recipient")
    op.drop_index("ix_campaign_recipient_due", table_name="campaign_recipient")
    op.drop_table("campaign_recipient")
    op.drop_index(op.f("ix_campaign_due_at"), table_name="campaign")
    op.drop_index(op.f("ix_campaign_status"), table_name="campaign")
    op.drop_index(op.f("ix_campaign_team_id"), table_name="campaign")
    op.drop_table("campaign")
