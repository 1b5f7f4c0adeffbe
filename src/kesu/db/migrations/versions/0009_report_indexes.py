"""reports: indexes for the report queries at a million complaints

Covering indexes for the two ranges every report reads (complaints received in a period,
complaints closed in a period), so those scans never read the wide complaint rows; a narrow
(id, org_id) index so that events and timers of a period are checked against their group
without reading the complaint row; the complainant's own complaints for repeats; a
per-complaint event index for the lookups by command (escalated or transferred, first
contact, resolver, last proposal); the events-by-command index widened with the complaint and
sequence number; and a covering index of timers by due time for the timer compliance.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RECEIVED = [
    "org_id",
    "received_at",
    "level",
    "category",
    "channel",
    "site_id",
    "department_id",
    "closed_at",
    "complainant_id",
    "first_contact_at",
    "id",
]
CLOSED = [
    "org_id",
    "closed_at",
    "received_at",
    "level",
    "classification",
    "round",
    "satisfaction",
    "resolved_at",
    "id",
]


def upgrade() -> None:
    op.create_index("ix_complaint_report_received", "complaint", RECEIVED)
    op.create_index("ix_complaint_report_closed", "complaint", CLOSED)
    op.create_index("ix_complaint_id_org", "complaint", ["id", "org_id"])
    # repeat complaints: the same complainant's earlier complaints in the group, a few at most
    op.create_index(
        "ix_complaint_repeat", "complaint", ["complainant_id", "org_id", "received_at", "category"]
    )
    op.create_index(
        "ix_complaint_event_complaint_command",
        "complaint_event",
        ["complaint_id", "command", "seq", "at", "actor_id"],
    )
    # events of a period by command: with their complaint and place, so the event row is not read
    op.drop_index("ix_complaint_event_command_at", table_name="complaint_event")
    op.create_index(
        "ix_complaint_event_command_at", "complaint_event", ["command", "at", "complaint_id", "seq"]
    )
    op.create_index(
        "ix_sla_timer_due_report",
        "sla_timer",
        ["due_at", "complaint_id", "key", "met_at", "cancelled_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_sla_timer_due_report", table_name="sla_timer")
    op.drop_index("ix_complaint_event_command_at", table_name="complaint_event")
    op.create_index("ix_complaint_event_command_at", "complaint_event", ["command", "at"])
    op.drop_index("ix_complaint_event_complaint_command", table_name="complaint_event")
    op.drop_index("ix_complaint_repeat", table_name="complaint")
    op.drop_index("ix_complaint_id_org", table_name="complaint")
    op.drop_index("ix_complaint_report_closed", table_name="complaint")
    op.drop_index("ix_complaint_report_received", table_name="complaint")
