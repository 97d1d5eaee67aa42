"""attachments: a photo's synced metadata and the state of its resumable upload

Revision ID: 0011_attachments
Revises: 0010_display_names
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_attachments'
down_revision = '0010_display_names'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachments',
    sa.Column('owner_type', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('mime', sa.String(length=32), nullable=False),
    sa.Column('bytes', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=True),
    sa.Column('received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stored_key', sa.String(length=200), nullable=True),
    sa.Column('stored_sha256', sa.String(length=64), nullable=True),
    sa.Column('stored_bytes', sa.Integer(), nullable=True),
    sa.Column('thumb_key', sa.String(length=200), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('field_versions', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('county_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('conflicts', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index('ix_attachments_county_seq', ['county_id', 'seq'], unique=True)
        batch_op.create_index(batch_op.f('ix_attachments_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_attachments_unit_seq', ['unit_id', 'seq'], unique=False)



def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index('ix_attachments_unit_seq')
        batch_op.drop_index(batch_op.f('ix_attachments_unit_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_owner_id'))
        batch_op.drop_index('ix_attachments_county_seq')

    op.drop_table('attachments')
