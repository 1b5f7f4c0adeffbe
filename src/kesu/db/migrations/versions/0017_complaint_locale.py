"""complaint: the language its complainant reads

`complaint.locale` (zh_Hans, zh_Hant or en; empty for complaints received before it existed,
which keep the default, Simplified Chinese): a complaint filed on the portal in English gets
its acknowledgement and progress messages in English, and a receiver can note the language on
intake.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable, no default: a plain ALTER TABLE on both databases, instant at any size
    op.add_column("complaint", sa.Column("locale", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("complaint") as batch:  # SQLite rebuilds the table
        batch.drop_column("locale")
