"""credentials: API token expiry, password reset links

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hub.models

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('apitoken') as batch:
        batch.add_column(sa.Column('expires_at', hub.models.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'password_reset',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', hub.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', hub.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', hub.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_password_reset_user_id', 'password_reset', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_password_reset_user_id', table_name='password_reset')
    op.drop_table('password_reset')
    with op.batch_alter_table('apitoken') as batch:
        batch.drop_column('expires_at')
