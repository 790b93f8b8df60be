"""consent per contact and channel (issue 17)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 22:50:00

The ``contact_consent`` table replaces two older stores, moved into it here:
``contact.consent`` (JSON ``{channel: {"granted": bool, "at", "by", "source"}}``, the
marketing consent surveys read) becomes *marketing* rows, and the Twilio adapter's
``attributes["<channel>_opt_out"]`` (a STOP reply) becomes opted-out rows for both
purposes on that channel. The JSON column is dropped; the attribute keys removed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import hub.models

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SOURCES = {"keyword", "link", "import", "agent", "api", "widget", "campaign"}
_OPT_OUT_SUFFIX = "_opt_out"


def upgrade() -> None:
    op.create_table(
        "contact_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("updated_at", hub.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "channel", "purpose", name="uq_contact_consent"),
    )
    with op.batch_alter_table("contact_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_consent_contact_id"), ["contact_id"], unique=False)
    _move_old_consent()
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("consent")


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def _when(value: Any, default: datetime) -> datetime:
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return default
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return default


def _move_old_consent() -> None:
    """Both old stores → rows, in batches (only contacts that hold any are read)."""
    conn = op.get_bind()
    contact = sa.table(
        "contact",
        sa.column("id", sa.Integer),
        sa.column("consent", sa.JSON),
        sa.column("attributes", sa.JSON),
    )
    consent = sa.table(
        "contact_consent",
        sa.column("contact_id", sa.Integer),
        sa.column("channel", sa.String),
        sa.column("purpose", sa.String),
        sa.column("state", sa.String),
        sa.column("source", sa.String),
        sa.column("actor_id", sa.Integer),
        sa.column("note", sa.String),
        sa.column("updated_at", hub.models.UTCDateTime(timezone=True)),
    )
    users = set(conn.execute(sa.text('SELECT id FROM "user"')).scalars())
    now = datetime.now(UTC)
    has_consent = sa.cast(contact.c.consent, sa.Text).not_in(["{}", "null"])
    has_opt_out = sa.cast(contact.c.attributes, sa.Text).like(f"%{_OPT_OUT_SUFFIX}%")
    after = 0
    while True:
        batch = conn.execute(
            sa.select(contact.c.id, contact.c.consent, contact.c.attributes)
            .where(contact.c.id > after, sa.or_(has_consent, has_opt_out))
            .order_by(contact.c.id)
            .limit(500)
        ).all()
        if not batch:
            return
        after = batch[-1][0]
        rows: list[dict[str, Any]] = []
        for contact_id, old_consent, old_attributes in batch:
            found: dict[tuple[str, str], dict[str, Any]] = {}
            for channel, entry in (_json(old_consent) or {}).items():
                if not isinstance(entry, dict) or not isinstance(entry.get("granted"), bool):
                    continue
                if not channel or len(channel) > 20:
                    continue
                source = entry.get("source")
                source = "agent" if source == "staff" else source
                by = entry.get("by")
                found[(channel, "marketing")] = {
                    "state": "opted_in" if entry["granted"] else "opted_out",
                    "source": source if source in _SOURCES else "import",
                    "actor_id": by if isinstance(by, int) and by in users else None,
                    "updated_at": _when(entry.get("at"), now),
                }
            attributes = _json(old_attributes) or {}
            kept = {}
            for key, value in attributes.items():
                channel = key[: -len(_OPT_OUT_SUFFIX)] if key.endswith(_OPT_OUT_SUFFIX) else ""
                if not channel or len(channel) > 20:
                    kept[key] = value
                    continue
                if value:
                    # A STOP reply: carrier-level on SMS, so both purposes (docs/crm.md).
                    for purpose in ("marketing", "service"):
                        found[(channel, purpose)] = {
                            "state": "opted_out",
                            "source": "keyword",
                            "actor_id": None,
                            "updated_at": now,
                        }
            if kept != attributes:
                conn.execute(sa.update(contact).where(contact.c.id == contact_id).values(attributes=kept))
            for (channel, purpose), row in found.items():
                rows.append(
                    {"contact_id": contact_id, "channel": channel, "purpose": purpose, "note": None, **row}
                )
        if rows:
            conn.execute(sa.insert(consent), rows)


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("contact_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_consent_contact_id"))
    op.drop_table("contact_consent")
