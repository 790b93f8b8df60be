"""internal messages between staff (issue 18)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_room",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("user_a_id", sa.Integer(), nullable=True),
        sa.Column("user_b_id", sa.Integer(), nullable=True),
        sa.Column("created_at", hub.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_a_id"], ["user.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_b_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", name="uq_chat_room_team"),
        sa.UniqueConstraint("user_a_id", "user_b_id", name="uq_chat_room_dm"),
    )
    op.create_index(op.f("ix_chat_room_user_b_id"), "chat_room", ["user_b_id"], unique=False)
    op.create_table(
        "chat_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.String(length=4000), nullable=False),
        sa.Column("search", sa.String(length=8000), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("created_at", hub.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["chat_room.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_chat_message_author_created", "chat_message", ["author_id", "created_at"], unique=False
    )
    op.create_index("ix_chat_message_room_id_id", "chat_message", ["room_id", "id"], unique=False)
    op.create_table(
        "chat_read",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("last_read_message_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", hub.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["chat_room.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "room_id"),
    )
    op.create_index(op.f("ix_chat_read_room_id"), "chat_read", ["room_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_read_room_id"), table_name="chat_read")
    op.drop_table("chat_read")
    op.drop_index("ix_chat_message_room_id_id", table_name="chat_message")
    op.drop_index("ix_chat_message_author_created", table_name="chat_message")
    op.drop_table("chat_message")
    op.drop_index(op.f("ix_chat_room_user_b_id"), table_name="chat_room")
    op.drop_table("chat_room")
