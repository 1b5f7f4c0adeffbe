"""reports: who did the counted events, and first contacts too

`report_event` (0013) gains `actor_id` and copies `record_contact` events besides `implement`,
`close` and `reopen`, so the staff sections (first contacts per person, resolutions per
person) read a group's narrow rows instead of every group's events of all history through the
event log's index. The trigger is replaced; existing rows get their actor, and the recorded
contacts are copied.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

EVENT = "org_id, command, at, complaint_id, seq, actor_id"
EVENT_VALUES = (
    "(SELECT c.org_id FROM complaint AS c WHERE c.id = {t}.complaint_id),"
    " {t}.command, {t}.at, {t}.complaint_id, {t}.seq, {t}.actor_id"
)
EVENT_COMMANDS = "{t}.command IN ('implement', 'close', 'reopen', 'record_contact')"
ACTOR = (
    "UPDATE report_event SET actor_id = (SELECT e.actor_id FROM complaint_event AS e"
    " WHERE e.complaint_id = report_event.complaint_id AND e.seq = report_event.seq)"
)

OLD_EVENT = "org_id, command, at, complaint_id, seq"
OLD_VALUES = (
    "(SELECT c.org_id FROM complaint AS c WHERE c.id = {t}.complaint_id),"
    " {t}.command, {t}.at, {t}.complaint_id, {t}.seq"
)
OLD_COMMANDS = "{t}.command IN ('implement', 'close', 'reopen')"


def _trigger(columns: str, values: str, commands: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION report_event_copy() RETURNS trigger LANGUAGE plpgsql"
            f" AS $$ BEGIN IF {commands.format(t='NEW')} THEN"
            f" INSERT INTO report_event ({columns}) VALUES ({values.format(t='NEW')});"
            " END IF; RETURN NULL; END $$"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS report_event_copy")
        op.execute(
            "CREATE TRIGGER report_event_copy AFTER INSERT ON complaint_event"
            f" WHEN {commands.format(t='new')}"
            f" BEGIN INSERT INTO report_event ({columns}) VALUES ({values.format(t='new')}); END"
        )


def upgrade() -> None:
    op.add_column("report_event", sa.Column("actor_id", sa.Integer(), nullable=True))
    _trigger(EVENT, EVENT_VALUES, EVENT_COMMANDS)
    op.execute(ACTOR)
    op.execute(
        f"INSERT INTO report_event ({EVENT}) SELECT {EVENT_VALUES.format(t='e')}"
        " FROM complaint_event AS e WHERE e.command = 'record_contact'"
    )


def downgrade() -> None:
    _trigger(OLD_EVENT, OLD_VALUES, OLD_COMMANDS)
    op.execute("DELETE FROM report_event WHERE command = 'record_contact'")
    with op.batch_alter_table("report_event", schema=None) as batch_op:
        batch_op.drop_column("actor_id")
