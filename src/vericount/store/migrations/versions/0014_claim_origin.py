"""Claims read from more than reports: where a claim was read (a report, a caption, the text on screen, what
is said) and, in a video, when.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("claims", sa.Column("origin", sa.String(16), nullable=False, server_default="report"))
    op.add_column("claims", sa.Column("at", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("at")
        batch.drop_column("origin")
