"""Reviewers certify: a reviewer's decision that a track shows one real person (or not), judgments on
groups of tracks, and the proposed count kept beside the certified one in the tally's history.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "track_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("action", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("undone_by", sa.String(200), nullable=True),
        sa.Column("undone_at", TIME, nullable=True),
    )
    op.create_index("ix_track_reviews_track", "track_reviews", ["item_id", "number"])
    op.create_table(
        "group_judgments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("a", JSON, nullable=False),
        sa.Column("b", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("undone_by", sa.String(200), nullable=True),
        sa.Column("undone_at", TIME, nullable=True),
    )
    op.add_column("tallies", sa.Column("proposed", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("tallies", "proposed")
    op.drop_table("group_judgments")
    op.drop_index("ix_track_reviews_track", "track_reviews")
    op.drop_table("track_reviews")
