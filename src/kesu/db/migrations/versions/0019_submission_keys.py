"""submission keys for more than complaints: corrective actions and accountability records

`intake_key` becomes `submission_key`, with `made` (the ids of what a submission made other
than a complaint): a corrective action opened, or accountability recorded, twice by a second
click or an API client's retry is made once. The keys already held are copied over.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import kesu.db.base

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=60), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("made", JSON, nullable=True),
        sa.Column("created_at", kesu.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_submission_key_complaint_id_complaint"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_key")),
        sa.UniqueConstraint("scope", "key", name=op.f("uq_submission_key_scope_key")),
    )
    op.execute(
        "INSERT INTO submission_key (id, scope, key, digest, complaint_id, created_at) "
        "SELECT id, scope, key, digest, complaint_id, created_at FROM intake_key"
    )
    if op.get_bind().dialect.name == "postgresql":  # ids go on after the copied ones
        op.execute(
            "SELECT setval(pg_get_serial_sequence('submission_key', 'id'), "
            "coalesce((SELECT max(id) FROM submission_key), 0) + 1, false)"
        )
    op.drop_table("intake_key")


def downgrade() -> None:
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
    op.execute(
        "INSERT INTO intake_key (id, scope, key, digest, complaint_id, created_at) "
        "SELECT id, scope, key, digest, complaint_id, created_at FROM submission_key "
        "WHERE complaint_id IS NOT NULL"
    )
    op.drop_table("submission_key")
