"""security: token scopes, login throttles, sealed personal data, access log, data-subject
requests, retention rules, config audit trail, signed anchors, append-only triggers

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import kesu.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
UTC = kesu.db.base.UTCDateTime(timezone=True)

APPEND_ONLY = (
    "complaint_event",
    "config_audit",
    "audit_anchor",
    "personal_data_view",
    "privacy_request",
)
SEALED = ("phone", "other_contact", "address", "member_id")


def _append_only_triggers() -> None:
    """UPDATE and DELETE on the record tables are refused by the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION kesu_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'kesu: % is append-only (% refused)', TG_TABLE_NAME, TG_OP; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION kesu_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'kesu: {table} is append-only ({verb} refused)'); END"
            )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS kesu_append_only()")
        return
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")


def _seal_existing_complainants() -> None:
    """Personal data stored before this revision is sealed with KESU_DATA_KEY."""
    from kesu.privacy.crypto import keys

    k = keys()
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, phone, other_contact, address, member_id FROM complainant")
    ).all()
    for row in rows:
        values = {
            name: k.seal(value, f"complainant.{name}") if value is not None else None
            for name, value in zip(SEALED, row[1:], strict=True)
        }
        phone = row[1]
        digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+") if phone else None
        values["phone_hash"] = k.lookup_digest(digits) if digits else None
        conn.execute(
            sa.text(
                "UPDATE complainant SET phone = :phone, other_contact = :other_contact, "
                "address = :address, member_id = :member_id, phone_hash = :phone_hash "
                "WHERE id = :id"
            ),
            {**values, "id": row[0]},
        )


def upgrade() -> None:
    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=10), nullable=False, server_default="full")
        )

    op.create_table(
        "access_throttle",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", UTC, nullable=False),
        sa.Column("last_at", UTC, nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_access_throttle")),
    )

    with op.batch_alter_table("complainant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complainant_phone"))
        batch_op.alter_column("phone", existing_type=sa.String(length=30), type_=sa.Text())
        batch_op.alter_column("other_contact", existing_type=sa.String(length=200), type_=sa.Text())
        batch_op.alter_column("address", existing_type=sa.String(length=300), type_=sa.Text())
        batch_op.alter_column("member_id", existing_type=sa.String(length=60), type_=sa.Text())
        batch_op.add_column(sa.Column("phone_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("anonymised_at", UTC, nullable=True))
        batch_op.create_index(batch_op.f("ix_complainant_phone_hash"), ["phone_hash"], unique=False)
    _seal_existing_complainants()

    op.create_table(
        "config_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["app_user.id"], name=op.f("fk_config_audit_actor_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_audit")),
        sa.UniqueConstraint("seq", name=op.f("uq_config_audit_seq")),
    )
    with op.batch_alter_table("config_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_config_audit_action"), ["action"], unique=False)

    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("made_at", UTC, nullable=False),
        sa.Column("from_event_id", sa.Integer(), nullable=False),
        sa.Column("up_to_event_id", sa.Integer(), nullable=False),
        sa.Column("heads", JSON, nullable=False),
        sa.Column("config_seq", sa.Integer(), nullable=False),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_signature", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchor")),
    )

    op.create_table(
        "personal_data_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("complainant_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["complainant_id"],
            ["complainant.id"],
            name=op.f("fk_personal_data_view_complainant_id_complainant"),
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_personal_data_view_complaint_id_complaint"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_personal_data_view_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_view")),
    )
    with op.batch_alter_table("personal_data_view", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_data_view_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_personal_data_view_complainant_id"), ["complainant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_personal_data_view_complaint_id"), ["complaint_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_personal_data_view_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "privacy_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("complainant_id", sa.Integer(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["complainant_id"],
            ["complainant.id"],
            name=op.f("fk_privacy_request_complainant_id_complainant"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_privacy_request_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["app_user.id"],
            name=op.f("fk_privacy_request_requested_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_request")),
    )
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_request_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_privacy_request_complainant_id"), ["complainant_id"], unique=False
        )

    op.create_table(
        "retention_rule",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("years", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organisation.id"], name=op.f("fk_retention_rule_org_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["app_user.id"],
            name=op.f("fk_retention_rule_updated_by_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_retention_rule")),
    )
    _append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("retention_rule")
    with op.batch_alter_table("privacy_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_request_complainant_id"))
        batch_op.drop_index(batch_op.f("ix_privacy_request_at"))
    op.drop_table("privacy_request")
    with op.batch_alter_table("personal_data_view", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_view_user_id"))
        batch_op.drop_index(batch_op.f("ix_personal_data_view_complaint_id"))
        batch_op.drop_index(batch_op.f("ix_personal_data_view_complainant_id"))
        batch_op.drop_index(batch_op.f("ix_personal_data_view_at"))
    op.drop_table("personal_data_view")
    op.drop_table("audit_anchor")
    with op.batch_alter_table("config_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_config_audit_action"))
    op.drop_table("config_audit")
    # sealed values cannot go back into the old short columns: downgrading drops them
    op.execute(
        "UPDATE complainant SET phone = NULL, other_contact = NULL, address = NULL, member_id = NULL"
    )
    with op.batch_alter_table("complainant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complainant_phone_hash"))
        batch_op.drop_column("anonymised_at")
        batch_op.drop_column("phone_hash")
        batch_op.alter_column("member_id", existing_type=sa.Text(), type_=sa.String(length=60))
        batch_op.alter_column("address", existing_type=sa.Text(), type_=sa.String(length=300))
        batch_op.alter_column("other_contact", existing_type=sa.Text(), type_=sa.String(length=200))
        batch_op.alter_column("phone", existing_type=sa.Text(), type_=sa.String(length=30))
        batch_op.create_index(batch_op.f("ix_complainant_phone"), ["phone"], unique=False)
    op.drop_table("access_throttle")
    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.drop_column("scope")
