"""Tally: people's same/different judgments on tracks, and the computed tallies (history).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "judgments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("a_item", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("a_number", sa.Integer(), nullable=False),
        sa.Column("b_item", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("b_number", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("a_span", JSON, nullable=False),
        sa.Column("b_span", JSON, nullable=False),
        sa.Column("undone_by", sa.String(200)),
        sa.Column("undone_at", TIME),
    )
    op.create_index("ix_judgments_a_item", "judgments", ["a_item"])
    op.create_index("ix_judgments_b_item", "judgments", ["b_item"])
    op.create_table(
        "tallies",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", TIME, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at_least", sa.Integer()),
        sa.Column("estimate", sa.Integer(), nullable=False),
        sa.Column("at_most", sa.Integer(), nullable=False),
        sa.Column("optimal", sa.Boolean(), nullable=False),
        sa.Column("scope", JSON, nullable=False),
        sa.Column("result", JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tallies")
    op.drop_table("judgments")
