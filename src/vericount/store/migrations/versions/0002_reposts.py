"""Reposts: per-item fingerprints and the matches between items.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "fingerprints",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("decoded", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=False),
        sa.Column("min_quality", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("matched", sa.String(64)),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("a", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("b", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", TIME),
        sa.Column("reason", sa.Text()),
        sa.Column("a_start", sa.Float()),
        sa.Column("a_end", sa.Float()),
        sa.Column("b_start", sa.Float()),
        sa.Column("b_end", sa.Float()),
        sa.Column("a_cover", sa.Float()),
        sa.Column("b_cover", sa.Float()),
        sa.Column("speed", sa.Float()),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.UniqueConstraint("a", "b", name="uq_matches_a_b"),
    )
    op.create_index("ix_matches_a", "matches", ["a"])
    op.create_index("ix_matches_b", "matches", ["b"])
    op.create_index("ix_matches_state", "matches", ["state"])


def downgrade() -> None:
    op.drop_table("matches")
    op.drop_table("fingerprints")
