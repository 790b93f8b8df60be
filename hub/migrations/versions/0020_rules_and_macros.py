"""automation rules and macros (issue 18)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Automation rules, their firings and wait timers, and macros (docs/workflow.md).
    ts = hub.models.UTCDateTime(timezone=True)
    op.create_table(
        "automation_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("trigger_params", sa.JSON(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_automation_rule_position"), "automation_rule", ["position"], unique=False)
    op.create_table(
        "macro",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_macro_owner_id"), "macro", ["owner_id"], unique=False)
    op.create_table(
        "rule_firing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("caused", sa.JSON(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("lease_until", ts, nullable=True),
        sa.Column("at", ts, nullable=False),
        sa.Column("finished_at", ts, nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_id"], ["automation_rule.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id", "event_id", name="uq_rule_firing_event"),
    )
    op.create_index(op.f("ix_rule_firing_conversation_id"), "rule_firing", ["conversation_id"], unique=False)
    op.create_index("ix_rule_firing_outcome_event", "rule_firing", ["outcome", "event_id"], unique=False)
    op.create_index(op.f("ix_rule_firing_rule_id"), "rule_firing", ["rule_id"], unique=False)
    op.create_table(
        "rule_timer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("due_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_id"], ["automation_rule.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id", "conversation_id", name="uq_rule_timer"),
    )
    op.create_index(op.f("ix_rule_timer_conversation_id"), "rule_timer", ["conversation_id"], unique=False)
    op.create_index(op.f("ix_rule_timer_due_at"), "rule_timer", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rule_timer_due_at"), table_name="rule_timer")
    op.drop_index(op.f("ix_rule_timer_conversation_id"), table_name="rule_timer")
    op.drop_table("rule_timer")
    op.drop_index(op.f("ix_rule_firing_rule_id"), table_name="rule_firing")
    op.drop_index("ix_rule_firing_outcome_event", table_name="rule_firing")
    op.drop_index(op.f("ix_rule_firing_conversation_id"), table_name="rule_firing")
    op.drop_table("rule_firing")
    op.drop_index(op.f("ix_macro_owner_id"), table_name="macro")
    op.drop_table("macro")
    op.drop_index(op.f("ix_automation_rule_position"), table_name="automation_rule")
    op.drop_table("automation_rule")
