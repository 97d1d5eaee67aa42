"""people have a display name (张伟) beside the username they log in with

Revision ID: 0010_display_names
Revises: 0009_county_sequences
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_display_names'
down_revision = '0009_county_sequences'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite has DROP COLUMN since 3.35): a batch copy of `users` would have to
# drop the table every other one points at, which SQLite's foreign keys refuse.
def upgrade():
    op.add_column('users', sa.Column('display_name', sa.String(64), nullable=True))


def downgrade():
    op.drop_column('users', 'display_name')
