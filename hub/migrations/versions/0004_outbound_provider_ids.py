"""provider ids: unique for inbound messages only; outbox 'sending' state

Inbound provider ids are the idempotency key of a provider's retries and stay unique
per channel. Outbound ids are whatever the provider returned: two providers accounts, a
restarted double or a provider reusing ids must never make recording a successful send
fail (that caused re-sends), so outbound ids are only indexed for status callbacks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INBOUND = sa.text("direction = 'inbound'")
_OUTBOUND = sa.text("direction = 'outbound'")


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.drop_constraint('uq_message_provider_id', type_='unique')
    op.create_index(
        'uq_message_inbound_provider_id', 'message', ['channel', 'provider_message_id'],
        unique=True, sqlite_where=_INBOUND, postgresql_where=_INBOUND,
    )
    op.create_index(
        'ix_message_outbound_provider_id', 'message', ['channel', 'provider_message_id'],
        sqlite_where=_OUTBOUND, postgresql_where=_OUTBOUND,
    )


def downgrade() -> None:
    op.drop_index('ix_message_outbound_provider_id', table_name='message')
    op.drop_index('uq_message_inbound_provider_id', table_name='message')
    with op.batch_alter_table('message') as batch:
        batch.create_unique_constraint(
            'uq_message_provider_id', ['channel', 'direction', 'provider_message_id']
        )
