"""removed photos: a photo taken by mistake is taken back (its file deleted, shown nowhere)

Revision ID: 0012_removed_photos
Revises: 0011_attachments
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_removed_photos'
down_revision = '0011_attachments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('removed')
