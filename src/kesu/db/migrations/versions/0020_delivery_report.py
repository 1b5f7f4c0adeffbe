"""scheduled reports keep what they hold, so each reader gets it without their own cases

`report_delivery.report`: the report a scheduled delivery was rendered from (its sections as
JSON). The file is one for all recipients; a recipient who is the subject of a complaint it
lists (回避) gets it re-rendered from this without those rows. Deliveries made before this
revision have none and are served as sent.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable, no default: a plain ALTER TABLE on both databases
    op.add_column("report_delivery", sa.Column("report", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_delivery") as batch:  # SQLite rebuilds the table
        batch.drop_column("report")
