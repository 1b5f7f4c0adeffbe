"""improvement loop: corrective actions, training records, inspections, management review

Revision ID: 0006
Revises: 0005

Reserved for its issue's tables; empty until that work lands.
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
