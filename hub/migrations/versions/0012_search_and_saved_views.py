"""search and saved views

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 19:20:00

``message_search`` starts empty: the ``message_search`` projection (hub.services.
search_index) is new, so the hub rebuilds it from the existing messages in batches
after the upgrade, while it serves (docs/console.md, "Search and views").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('saved_view',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', hub.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_view_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_saved_view_team_id'), ['team_id'], unique=False)

    op.create_table('message_search',
    sa.Column('message_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=8000), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id')
    )
    with op.batch_alter_table('message_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_search_conversation_id'), ['conversation_id'], unique=False)
    _search_index_up()


def _search_index_up() -> None:
    """Substring search over message_search.text, as 0006 made for contact_search."""
    if op.get_bind().dialect.name == "sqlite":
        # detail=none: LIKE needs no token positions, and the index is about half the size.
        op.execute(
            "CREATE VIRTUAL TABLE message_search_fts USING fts5("
            "text, content='message_search', content_rowid='message_id', tokenize='trigram', detail=none)"
        )
        op.execute(
            "CREATE TRIGGER message_search_ai AFTER INSERT ON message_search BEGIN "
            "INSERT INTO message_search_fts(rowid, text) VALUES (new.message_id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER message_search_ad AFTER DELETE ON message_search BEGIN "
            "INSERT INTO message_search_fts(message_search_fts, rowid, text) "
            "VALUES ('delete', old.message_id, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER message_search_au AFTER UPDATE ON message_search BEGIN "
            "INSERT INTO message_search_fts(message_search_fts, rowid, text) "
            "VALUES ('delete', old.message_id, old.text); "
            "INSERT INTO message_search_fts(rowid, text) VALUES (new.message_id, new.text); END"
        )
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_message_search_trgm ON message_search USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("message_search_ai", "message_search_ad", "message_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS message_search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_message_search_trgm")
    with op.batch_alter_table('message_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_search_conversation_id'))

    op.drop_table('message_search')
    with op.batch_alter_table('saved_view', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_view_team_id'))
        batch_op.drop_index(batch_op.f('ix_saved_view_owner_id'))

    op.drop_table('saved_view')
    # The projection's checkpoint goes with its table: a later upgrade rebuilds it.
    op.execute("DELETE FROM projection_checkpoint WHERE name = 'message_search'")
