"""intake: indexes for the open work of a handler (auto-assignment) — none needed

Auto-assignment counts each candidate's open complaints with `assignee_id IN (…) AND
state IN (<open states>)`, which seeks `ix_complaint_assignee_state` (assignee_id, state) on
both databases without reading closed history, so this slot adds no index.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
