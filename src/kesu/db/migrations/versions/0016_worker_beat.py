"""health: each background worker's last finished pass

`worker_beat` holds one row per worker process (host and process id): when its last pass
finished, how long it took and which jobs failed in it, so `GET /api/v1/health/worker` and
`kesu worker status` can tell a deployment whose clocks and messages have stopped.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import kesu.db.base

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTC = kesu.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker_beat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("last_pass_at", UTC, nullable=False),
        sa.Column("last_pass_ms", sa.Integer(), nullable=False),
        sa.Column("failing", kesu.db.base.JSONType, nullable=False),
        sa.Column("stopped_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_beat")),
        sa.UniqueConstraint("name", name=op.f("uq_worker_beat_name")),
    )


def downgrade() -> None:
    op.drop_table("worker_beat")
