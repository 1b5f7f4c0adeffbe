"""complaint: a submission's key, so the same submission sent again makes no second complaint

`intake_key` holds each key a submitter gave with a new complaint (the API's
`Idempotency-Key` header, the console intake and portal forms' hidden submission id), a digest
of what was submitted and the complaint it made.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kesu.db.base

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("created_at", kesu.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"], name=op.f("fk_intake_key_complaint_id_complaint")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_key")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_intake_key_scope_key")),
    )


def downgrade() -> None:
    op.drop_table("intake_key")
