"""outbound and canned variants

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A canned answer's bodies in its other languages ({"ar": "..."}); existing rows
    # have none. The server default fills them; the model writes the value itself.
    with op.batch_alter_table("canned_response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variants", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("canned_response", schema=None) as batch_op:
        batch_op.drop_column("variants")
