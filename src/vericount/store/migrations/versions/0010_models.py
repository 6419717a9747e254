"""Models: the person detectors added to a case, and which model made each track (with a column for a
track's calibrated score).

Tracks made before this revision get the detector their item's last people run recorded
(``people_items.detector``, without a sha256: that is all the case knew); marks stay null.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIME = sa.String(32)  # UTCDateTime: ISO 8601 text in UTC


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("layout", sa.String(40), nullable=False),
        sa.Column("input_size", sa.Integer(), nullable=False),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.Column("person_class", sa.Integer(), nullable=False),
        sa.Column("licence", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.UniqueConstraint("name", name="uq_models_name"),
        sa.UniqueConstraint("sha256", name="uq_models_sha256"),
    )
    op.add_column("tracks", sa.Column("detector", sa.String(200), nullable=True))
    op.add_column("tracks", sa.Column("score", sa.Float(), nullable=True))
    op.execute(
        "UPDATE tracks SET detector = "
        "(SELECT p.detector FROM people_items p WHERE p.item_id = tracks.item_id) "
        "WHERE source = 'detector'")


def downgrade() -> None:
    op.drop_column("tracks", "score")
    op.drop_column("tracks", "detector")
    op.drop_table("models")
