"""security: accounts, sessions, audit anchors and personal-data protection

Revision ID: 0005
Revises: 0004

Reserved for its issue's tables; empty until that work lands.
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
