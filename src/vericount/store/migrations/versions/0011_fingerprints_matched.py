"""Fingerprints: an index on (matched, item_id), so that a reposts run finds the items not yet matched
without reading every fingerprint's blob (SQLite keeps ``matched`` after ``data`` in the row: reading it
walked each blob's overflow pages, 9 s for 10,000 fingerprints).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_fingerprints_matched", "fingerprints", ["matched", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_fingerprints_matched", table_name="fingerprints")
