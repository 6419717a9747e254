"""Text in the footage: lines read on screen (ocr) and said (speech), the sources they suggest (handles,
links, watermarks; proposals until a reviewer decides), and the search entries over every text of the case.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _item() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "text_lines",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _item(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start", sa.Float()),
        sa.Column("end", sa.Float()),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(16)),
        sa.Column("confidence", sa.Float()),
        sa.Column("box", JSON),
        sa.Column("marked_by", sa.String(200)),
        sa.Column("marked_at", TIME),
    )
    op.create_index("ix_text_lines_item_id", "text_lines", ["item_id"])
    op.create_index("ix_text_lines_item_kind", "text_lines", ["item_id", "kind"])
    op.create_table(
        "source_hints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _item(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("start", sa.Float()),
        sa.Column("end", sa.Float()),
        sa.Column("confidence", sa.Float()),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at", TIME),
        sa.UniqueConstraint("item_id", "kind", "value", name="uq_source_hints_item_kind_value"),
    )
    op.create_index("ix_source_hints_item_id", "source_hints", ["item_id"])
    op.create_table(
        "search_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        _item(),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float()),
        sa.Column("end", sa.Float()),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("norm", sa.Text(), nullable=False),
    )
    op.create_index("ix_search_entries_item_id", "search_entries", ["item_id"])
    op.create_index("ix_search_entries_kind_ref", "search_entries", ["kind", "ref"])


def downgrade() -> None:
    op.drop_table("search_entries")
    op.drop_table("source_hints")
    op.drop_table("text_lines")
