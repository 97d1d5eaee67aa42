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


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('display_name', sa.String(64), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('display_name')
