"""The desk's sign-in throttle: failed sign-ins counted per name and per client address.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("first_at", TIME, nullable=False),
        sa.Column("last_at", TIME, nullable=False),
        sa.Column("locked_until", TIME, nullable=True),
    )
    op.create_index("ix_sign_in_throttle_last_at", "sign_in_throttle", ["last_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_throttle_last_at", "sign_in_throttle")
    op.drop_table("sign_in_throttle")
