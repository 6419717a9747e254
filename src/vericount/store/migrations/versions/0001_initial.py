"""Initial schema: case info, items, names, sources, stage states, append-only audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "case_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_note", sa.Text()),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("geo_precision_m", sa.Float()),
        sa.Column("geo_method", sa.Text()),
        sa.Column("date_from", sa.String(40)),
        sa.Column("date_to", sa.String(40)),
        sa.Column("date_method", sa.Text()),
        sa.Column("metadata", JSON),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    op.create_index("ix_items_status", "items", ["status"])
    op.create_table(
        "item_names",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("seen_at", TIME, nullable=False),
        sa.Column("seen_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("item_id", "path", name="uq_item_names_item_path"),
    )
    op.create_index("ix_item_names_item_id", "item_names", ["item_id"])
    op.create_index("ix_item_names_name", "item_names", ["name"])
    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("url", sa.Text()),
        sa.Column("platform", sa.String(100)),
        sa.Column("account", sa.Text()),
        sa.Column("posted_at", sa.String(40)),
        sa.Column("notes", sa.Text()),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_sources_item_id", "sources", ["item_id"])
    op.create_table(
        "stage_states",
        sa.Column(
            "item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("stage", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("params_hash", sa.String(64), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("detail", sa.Text()),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("seconds", sa.Float()),
    )
    op.create_index("ix_stage_states_stage_status", "stage_states", ["stage", "status"])
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("item_id", sa.String(64)),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("tool_version", sa.String(40), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_item_id", "audit_events", ["item_id"])
    _make_audit_append_only()


def _make_audit_append_only() -> None:
    """The database itself refuses to change or delete an audit event."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION vericount_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION vericount_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION vericount_audit_append_only()"
        )
