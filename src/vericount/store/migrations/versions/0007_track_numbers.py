"""Track numbers are never reused: the highest number issued per item (detector tracks and marks).

A judgment names a track by item and number; a number that once meant one track must never come to mean
another, or a reviewer's decision would silently move to a person they never saw.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "track_numbers",
        sa.Column("item_id", sa.String(64), sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("issued", sa.Integer(), nullable=False),
    )
    # Every number a track or a judgment has used so far counts as issued.
    op.execute(
        "INSERT INTO track_numbers (item_id, issued) "
        "SELECT item_id, MAX(n) FROM ("
        " SELECT item_id, number AS n FROM tracks"
        " UNION ALL SELECT a_item, a_number FROM judgments"
        " UNION ALL SELECT b_item, b_number FROM judgments) AS used "
        "GROUP BY item_id")


def downgrade() -> None:
    op.drop_table("track_numbers")
