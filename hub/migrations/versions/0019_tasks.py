"""tasks and shift hand-over (issue 18)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXED = (
    "due_at",
    "remind_at",
    "next_occurrence_at",
    "series_id",
    "contact_id",
    "conversation_id",
    "complaint_id",
    "created_by",
)


def upgrade() -> None:
    # Tasks and follow-ups (docs/workflow.md, "Tasks"); shift hand-over needs no table.
    ts = hub.models.UTCDateTime(timezone=True)
    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sa.String(length=4000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("priority", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("assignee_user_id", sa.Integer(), nullable=True),
        sa.Column("assignee_team_id", sa.Integer(), nullable=True),
        sa.Column("due_at", ts, nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("remind_at", ts, nullable=True),
        sa.Column("reminded_at", ts, nullable=True),
        sa.Column("recurrence", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("next_occurrence_at", ts, nullable=True),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("source_key", sa.String(length=80), nullable=True),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("completed_by", sa.Integer(), nullable=True),
        sa.Column("completed_at", ts, nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["assignee_team_id"], ["team.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["assignee_user_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaint.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["completed_by"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key"),
    )
    op.create_index("ix_task_assignee_user_status", "task", ["assignee_user_id", "status"], unique=False)
    op.create_index("ix_task_assignee_team_status", "task", ["assignee_team_id", "status"], unique=False)
    for column in _INDEXED:
        op.create_index(op.f(f"ix_task_{column}"), "task", [column], unique=False)


def downgrade() -> None:
    for column in reversed(_INDEXED):
        op.drop_index(op.f(f"ix_task_{column}"), table_name="task")
    op.drop_index("ix_task_assignee_team_status", table_name="task")
    op.drop_index("ix_task_assignee_user_status", table_name="task")
    op.drop_table("task")
