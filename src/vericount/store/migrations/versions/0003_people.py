"""People: per-item summaries of the people stage and the tracks (people) it found or a reviewer marked.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "people_items",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("shots", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(200), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
    )
    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("frame_width", sa.Integer(), nullable=False),
        sa.Column("frame_height", sa.Integer(), nullable=False),
        sa.Column("boxes", JSON, nullable=False),
        sa.Column("best_t", sa.Float(), nullable=False),
        sa.Column("best_box", JSON, nullable=False),
        sa.Column("crop", sa.Text()),
        sa.Column("face_t", sa.Float()),
        sa.Column("face_box", JSON),
        sa.Column("face_size", sa.Integer()),
        sa.Column("face_sharpness", sa.Float()),
        sa.Column("face", sa.Text()),
        sa.Column("face_embedding", sa.LargeBinary()),
        sa.Column("body_embedding", sa.LargeBinary()),
        sa.Column("marked_by", sa.String(200)),
        sa.Column("created_at", TIME, nullable=False),
        sa.UniqueConstraint("item_id", "number", name="uq_tracks_item_number"),
    )
    op.create_index("ix_tracks_item_id", "tracks", ["item_id"])


def downgrade() -> None:
    op.drop_table("tracks")
    op.drop_table("people_items")
